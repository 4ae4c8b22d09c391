"""What can go wrong with a serial port: each a rig fault whose message names the port and what
to do."""

from __future__ import annotations

from harness.errors import RigFault


class TransportError(RigFault):
    """The serial port cannot be used; the message says which port and what to do."""


class PortBusy(TransportError):
    """Another process (named if it can be found) holds the port's exclusive lock."""

    def __init__(self, message: str, port: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.port = port
        self.holder = holder


class PortNotFound(TransportError):
    """No such device, or not a pyserial URL."""


class PortClosed(TransportError):
    """The port is closed, or the device went away (PTY master closed, USB adapter pulled)."""


class PortGone(PortClosed):
    """The port went away by itself on a rig whose station waits for it to come back: this
    test is lost, the next one's fixture reconnects (rig `reconnect`)."""

    stops_run = False
