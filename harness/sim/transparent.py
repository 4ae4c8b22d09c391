"""Transparent (data) mode: input batched per AT+QITCFG and sent unechoed, peer bytes passed raw,
`+++` with guard times back to command mode, `CLOSED` on remote close, ATO to return
(PROTOCOL §12; the seeds, chapter 8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.clock import stamp
from harness.sim import framing
from harness.sim.cmdline import Command
from harness.sim.loop import Timer
from harness.sim.payload import hand_over

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware
    from harness.sim.session import Session

PLUS = 0x2B


class Transparent:
    """Data mode on one session; lives while the session does (also across +++ and ATO)."""

    def __init__(self, fw: Firmware, session: Session) -> None:
        self.fw = fw
        self.session = session
        self.buf = bytearray()
        self.last_ns = stamp()  # the last input byte (the guard before +++ counts from here)
        self.pluses = 0
        self.plus_ns = 0
        self._flush_timer: Timer | None = None
        self._escape_timer: Timer | None = None

    # -- host → peer --------------------------------------------------------------------------
    def feed(self, data: bytes, t_ns: int) -> None:
        fw = self.fw
        if fw.mutated.trans_echoes_data:
            fw.out.emit(data)
        escapes = fw.v.tcfg[3] == 1 and not fw.mutated.escape_ignored
        clock = fw.clock
        for byte in data:
            if byte == PLUS and escapes:
                quiet = clock.module_between(self.last_ns, t_ns)
                if self.pluses == 0 and quiet >= fw.p.escape_guard:
                    self._hold_plus(t_ns)
                    continue
                gap = clock.module_between(self.plus_ns, t_ns)
                if 0 < self.pluses < 3 and gap <= fw.p.escape_gap_max:
                    self._hold_plus(t_ns)
                    continue
            self._release_pluses()
            self.buf.append(byte)
            self.last_ns = t_ns
        self._batch()

    def _hold_plus(self, t_ns: int) -> None:
        self.pluses += 1
        self.plus_ns = t_ns
        self._cancel(self._escape_timer)
        if self.pluses == 3:
            # §12: +++ counts only if the line then stays quiet for the guard time
            guard = self.fw.p.escape_guard
            self._escape_timer = self.fw.loop.call_later(guard, self._escape, "power")

    def _release_pluses(self) -> None:
        if self.pluses:
            self.buf += b"+" * self.pluses
            self.pluses = 0
            self._cancel(self._escape_timer)

    def _batch(self) -> None:
        """OPT-TCFG: full SendSz blocks at once, the rest after WaitTm of UART idle."""
        fw = self.fw
        _, wait, size, _ = fw.v.tcfg
        while len(self.buf) >= size:
            hand_over(fw, self.session, bytes(self.buf[:size]))
            del self.buf[:size]
        self._cancel(self._flush_timer)
        if self.buf:
            delay = wait * fw.p.tcfg_wait_unit * (10 if fw.mutated.tcfg_wait_ignored else 1)
            self._flush_timer = fw.loop.call_later(delay, self._flush, "power")

    def _flush(self) -> None:
        if self.buf and self.session.state == "CONNECTED":
            hand_over(self.fw, self.session, bytes(self.buf))
        self.buf.clear()

    def _escape(self) -> None:
        if self.pluses != 3 or self.fw.mode != "data":
            return
        self.pluses = 0
        self._flush()
        self.fw.mode = "command"
        self.fw.out.final("OK")  # TRANS-ESC

    # -- peer → host --------------------------------------------------------------------------
    def received(self, data: bytes) -> None:
        self.fw.out.emit(data)

    def closed(self, text: str) -> None:
        """Remote close in data mode: CLOSED in the stream, back to command mode (TRANS-CLOSED)."""
        fw = self.fw
        if fw.mutated.closed_stays_in_data_mode:
            fw.out.emit(framing.line(text))
            return
        self.stop()
        fw.transparent = None
        fw.mode = "command"
        fw.out.urc(text)

    def resume(self) -> None:
        """ATO: back to data mode; the guard before a later +++ counts from now."""
        self.last_ns = stamp()
        self.fw.mode = "data"

    def stop(self) -> None:
        self._cancel(self._flush_timer)
        self._cancel(self._escape_timer)
        self.pluses = 0

    @staticmethod
    def _cancel(timer: Timer | None) -> None:
        if timer is not None:
            timer.cancel()


def ato(fw: Firmware, cmd: Command) -> str | None:
    """ATO: return to data mode on the live transparent session (§12 [U]: answers CONNECT)."""
    if cmd.kind == "set" and cmd.texts() != ["0"]:
        return "ERROR"
    link = fw.transparent
    if link is None or link.session.state != "CONNECTED" or not fw.v.qimode:
        return "ERROR"
    fw.out.final(fw.p.ato_reply)
    link.resume()
    return None
