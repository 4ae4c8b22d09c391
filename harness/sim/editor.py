"""The module's side of the UART on the way in: autobaud, then the command-line editor (echo,
backspace, CR ends the line, A/ repeats the last one); in payload and data mode the bytes go to
QISEND's payload or the transparent link instead (PROTOCOL §2, §6, §12; V.25ter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.clock import stamp
from harness.sim.baud import Autobaud
from harness.sim.profile import IPR_RATES

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware

CR, LF, BACKSPACE = 0x0D, 0x0A, 0x08


class LineEditor:
    """Turns the host's bytes into command lines for the runner (runs on the module's loop)."""

    def __init__(self, fw: Firmware) -> None:
        self.fw = fw
        self.reset()

    def reset(self) -> None:
        """Power-on or off: an empty line, autobaud to lock again."""
        fw = self.fw
        self.last_rx_ns = 0  # when the latest input came out of the PTY
        self._line = bytearray()
        self._queued = bytearray()  # typed while a command ran (profile input_while_busy)
        self._read_ns: int | None = None  # set while the bytes just read are being edited
        # The INIT-SYNC mutant is slow only in an autobaud a host chose with AT+IPR=0&W: a
        # factory-fresh module (also autobaud) still locks at once, so a rig can come up.
        slow = fw.mutated.autobaud_needs_20_at and "ipr" in fw.settings.chosen
        self._autobaud = Autobaud(20 if slow else fw.p.autobaud_ats)

    @property
    def typing(self) -> bool:
        """The host has started a command line (received data waits until it ends it)."""
        return bool(self._line)

    def on_uart(self, data: bytes, rate: int, t_ns: int) -> None:
        """Bytes from the host at `rate` (termios speed of its side), read at `t_ns`."""
        fw = self.fw
        v = fw.v
        if not fw.powered or v.silent or not v.uart_ready or v.shutting_down:
            return
        if v.rate is None:
            rest = self._autobaud.feed(data, rate)
            if rest is None or rate not in IPR_RATES or rate == 0:
                return
            v.rate = rate
            fw.out.replay_early()
            data = rest
        elif rate != v.rate:
            return  # framing at the wrong speed: the module understands nothing
        self.last_rx_ns = t_ns
        self._read_ns = t_ns
        try:
            self.feed(data)
        finally:
            self._read_ns = None

    def feed(self, data: bytes) -> None:
        """Input bytes in the current mode (also used to replay queued input)."""
        fw = self.fw
        while data and fw.powered:
            if fw.mode == "data" and fw.transparent is not None:
                fw.transparent.feed(data, self.last_rx_ns)
                return
            if fw.mode == "payload" and fw.payload is not None:
                data = fw.payload.feed(data)
                continue
            if fw.runner.busy:
                if fw.p.input_while_busy == "queue":
                    self._queued += data
                return
            data = self._edit(data)
        fw.out.flush_pushes()

    def replay_queued(self) -> None:
        """The command line has ended: what the host typed meanwhile is read now."""
        queued, self._queued = bytes(self._queued), bytearray()
        self.feed(queued)

    def _edit(self, data: bytes) -> bytes:
        """The command-line editor: echo, backspace, CR ends the line; returns unused bytes."""
        fw = self.fw
        if fw.spots is not None and not self._line and data[:1] not in (b"\r", b"\n"):
            fw.spots.visit(fw, "before an echo")
        echo = bytearray()
        for i, byte in enumerate(data):
            echo.append(byte)
            if byte == CR:
                self._echo(echo)
                line, self._line = bytes(self._line), bytearray()
                fw.runner.start_line(line, self._read_stamp())
                return data[i + 1 :]
            if byte == LF:
                continue
            if byte == BACKSPACE:
                if self._line:
                    self._line.pop()
                continue
            self._line.append(byte)
            if bytes(self._line).upper() == b"A/":  # V.25ter: repeat the last command line
                self._echo(echo)
                self._line.clear()
                fw.runner.repeat(self._read_stamp())
                return data[i + 1 :]
        self._echo(echo)
        return b""

    def _read_stamp(self) -> int:
        """When the line now ending was read: these bytes' stamp, or now for queued input."""
        return self._read_ns if self._read_ns is not None else stamp()

    def _echo(self, data: bytes | bytearray) -> None:
        if self.fw.v.echo and data:
            self.fw.out.emit(bytes(data))
