"""What the module prints: information lines, URCs and finals in the framing ATV asks for, kept
back or garbled the way the line dictates, and received data held while the host types.

Each final's last byte is stamped as it goes into the PTY (`FinalWritten`), with the moment its
command line was read: the simulator's own account of how long it held an answer, which
bench/timing_accuracy.py sets against what the harness measured.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.sim import framing
from harness.sim.baud import garble

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware
    from harness.sim.uart import Uart

#: Finals remembered for `SimulatedModule.finals()` (the latest ones).
FINALS_KEPT = 256


@dataclass(frozen=True)
class FinalWritten:
    """A final result as it left the module: `stamp()` values of the simulator's own clock."""

    line: str  # the command line it answers, from "AT" ("" for a final outside one, e.g. +++)
    final: str
    read_ns: int  # when the line's CR came out of the PTY (0 outside a command line)
    written_ns: int  # when the final's last byte went into the PTY (stamped just before)


class Output:
    """The module's side of the UART on the way out (runs on the module's loop)."""

    def __init__(self, fw: Firmware) -> None:
        self.fw = fw
        self.uart: Uart | None = None
        self.finals: deque[FinalWritten] = deque(maxlen=FINALS_KEPT)
        self.reset()

    def reset(self) -> None:
        """Power-on or off: nothing held, no line being answered."""
        self.final_sent = True  # the line being answered has had its final
        self.splice = b""  # RECV-INTERLEAVE mutation: data to land inside the next write
        self._line = ("", 0)  # the command line being answered, and when it was read
        self._early: list[bytes] = []  # URCs before autobaud locked (profile "replay")
        self._held_info: list[bytes] = []  # ORDER mutation: information after the final
        self._pushes: list[bytes] = []  # received data waiting for the host to stop typing

    # -- the command line being answered ----------------------------------------------------------
    def begin_line(self, line: str, read_ns: int) -> None:
        self.final_sent = False
        self._line = (line, read_ns)

    def end_line(self) -> None:
        self.final_sent = True
        self._line = ("", 0)

    # -- bytes --------------------------------------------------------------------------------
    def emit(self, data: bytes, written: Callable[[int], None] | None = None) -> None:
        """Bytes to the host, as the line delivers them (nothing if off, silent or unsynced);
        `written(stamp_ns)` once their last byte is in the PTY."""
        fw = self.fw
        v = fw.v
        if not fw.powered or v.silent or self.uart is None or not data:
            return
        if v.rate is None:
            if fw.p.autobaud_early_urcs == "replay":
                self._early.append(data)
            return  # PROTOCOL §3: nothing goes out before autobaud locks
        host = self.uart.host_rate()
        if host != v.rate:
            if fw.p.baud_mismatch == "garbage":
                self.uart.write(garble(data, v.rate, host))
            return
        if self.splice:  # RECV-INTERLEAVE mutation: data lands inside this line
            half = len(data) // 2
            data, self.splice = data[:half] + self.splice + data[half:], b""
        self.uart.write(data, written)

    def replay_early(self) -> None:
        """Autobaud has locked: what the profile keeps from before goes out now."""
        early, self._early = self._early, []
        for chunk in early:
            self.emit(chunk)

    def info(self, text: str | bytes) -> None:
        data = framing.line(text, self.fw.v.verbose)
        if not self.final_sent and self.fw.mutated.info_after_final:
            self._held_info.append(data)
            return
        self.emit(data)

    def block(self, lines: list[str]) -> None:
        self.emit(framing.block(lines, self.fw.v.verbose))

    def urc(self, text: str) -> None:
        if self.fw.v.qiurc == 0 and text in self.fw.p.qiurc_suppresses:
            return
        self.emit(framing.line(text, self.fw.v.verbose))

    def final(self, text: str) -> None:
        fw = self.fw
        noise = fw.faults.active("noise")
        if noise is not None and noise.persistent:
            self.emit(bytes.fromhex(str(noise.params["data"])))
        line, read_ns = self._line

        def written(t_ns: int) -> None:
            self.finals.append(FinalWritten(line, text, read_ns, t_ns))

        self.emit(framing.final(text, fw.v.verbose), written)
        self.final_sent = True
        for data in self._held_info:
            self.emit(data)
        self._held_info.clear()
        if fw.spots is not None:
            fw.loop.post(fw.spots.visit, fw, "after a final")

    # -- received data to the UART -------------------------------------------------------------
    def push(self, data: bytes) -> None:
        """Received data for the UART; held while the host is typing (seeds ch. 5.1 note)."""
        if self.fw.runner.busy and self.fw.mutated.recv_inside_reply:
            self.splice += data
            return
        self._pushes.append(data)
        self.flush_pushes()

    def flush_pushes(self) -> None:
        if self.fw.mode != "command" or self.fw.editor.typing:
            return
        while self._pushes:
            self.emit(self._pushes.pop(0))
