"""The UART: a device path or any pyserial URL, an exclusive lock, and a transcript of every byte.

`Transport` reads and writes raw bytes and stamps them as they cross; `Transcript` keeps them
(both ways, with `stamp()` times) in memory and, line by line as they happen, in a JSON-lines file.
Modules: `port` (`Transport`), `transcript` (`Transcript`, `Entry`, `escape`), `errors`
(`TransportError` and its kinds), `holder` (`port_holder`: who has a busy port).
"""

from harness.transport.errors import (
    PortBusy,
    PortClosed,
    PortGone,
    PortNotFound,
    TransportError,
)
from harness.transport.holder import port_holder
from harness.transport.port import URL_READ_SLICE, WRITE_STALL, SerialPort, Transport
from harness.transport.transcript import TRANSCRIPT_KEEP, Entry, Transcript, escape

__all__ = [
    "TRANSCRIPT_KEEP",
    "URL_READ_SLICE",
    "WRITE_STALL",
    "Entry",
    "PortBusy",
    "PortClosed",
    "PortGone",
    "PortNotFound",
    "SerialPort",
    "Transcript",
    "Transport",
    "TransportError",
    "escape",
    "port_holder",
]
