"""AT+QISEND: the `> ` prompt, payload entry (fixed length, or Ctrl+Z-terminated with 0x08 and
0x1B editing), the 7300-byte send buffer and SEND OK (PROTOCOL §6; the seeds, chapter 4)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from harness.sim import framing, receive
from harness.sim.cmdline import Command
from harness.sim.ipstack import IpState

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware
    from harness.sim.session import Session

CTRL_Z, ESC, BACKSPACE = 0x1A, 0x1B, 0x08


def qisend(fw: Firmware, cmd: Command) -> str | None:
    if cmd.kind == "test":
        fw.out.info(f"+QISEND: {fw.p.send_max}")
        return "OK"
    mux = fw.v.mux
    numbers = cmd.ints() if cmd.kind == "set" else []
    if cmd.kind == "exec" and not mux:
        link, length = 0, None
    elif cmd.kind == "set" and not mux and len(numbers) == 1:
        link, length = 0, numbers[0]
    elif cmd.kind == "set" and mux and len(numbers) in (1, 2):
        link, length = numbers[0], (numbers[1] if len(numbers) == 2 else None)
    else:
        return "ERROR"  # e.g. the bare form under QIMUX=1
    session = fw.sessions.get(link)
    if session is None or session.state != "CONNECTED" or fw.v.srvc == 2:
        return "ERROR"  # only with a session up (M35MAN)
    if not mux and fw.v.ip_state != IpState.CONNECT_OK:
        return "ERROR"
    limit = send_limit(fw)
    if length is not None and not 1 <= length <= limit:
        return "ERROR"  # SEND-MAX
    fw.out.emit(framing.PROMPT)
    fw.payload = Payload(fw, session, length, limit)
    fw.mode = "payload"
    return None


def qisde(fw: Firmware, cmd: Command) -> str:
    """AT+QISDE=<0|1>: echo the QISEND payload or not (while ATE1); AT+QISDE? reads it."""
    if cmd.kind == "read":
        fw.out.info(f"+QISDE: {int(fw.v.qisde)}")
        return "OK"
    if cmd.kind == "test":
        fw.out.info("+QISDE: (0,1)")
        return "OK"
    if cmd.kind != "set" or cmd.texts() not in (["0"], ["1"]):
        return "ERROR"
    fw.v.qisde = cmd.texts() == ["1"]
    return "OK"


def send_limit(fw: Firmware) -> int:
    """The largest accepted input: 1460, or 1459 if "less than 1460" is the profile's reading."""
    limit = 1000 if fw.mutated.qisend_limit_1000 else fw.p.send_max
    return limit if fw.p.send_max_inclusive else limit - 1


class Payload:
    """Collects the bytes typed after the prompt; `feed()` returns what it did not use."""

    def __init__(self, fw: Firmware, session: Session, length: int | None, limit: int) -> None:
        self.fw = fw
        self.session = session
        self.length = length
        self.limit = limit
        self.buf = bytearray()

    def feed(self, data: bytes) -> bytes:
        fw = self.fw
        echo = bytearray()
        rest = b""
        outcome = None
        if self.length is not None:
            part = data[: self.length - len(self.buf)]
            if fw.mutated.fixed_stops_at_ctrlz and CTRL_Z in part:
                cut = part.index(CTRL_Z)
                part, outcome = part[:cut], "send"
                rest = data[cut + 1 :]
            else:
                rest = data[len(part) :]
            self.buf += part
            echo += part
            if len(self.buf) == self.length:
                outcome = "send"
        else:
            edits = fw.p.qisend_backspace and not fw.mutated.backspace_sent_as_data
            for i, byte in enumerate(data):
                if byte == CTRL_Z:
                    if fw.mutated.ctrlz_sent_as_data:
                        self.buf.append(byte)
                    outcome, rest = "send", data[i + 1 :]
                    break
                if byte == ESC:
                    cancel = not fw.mutated.esc_does_not_cancel
                    outcome, rest = ("cancel" if cancel else "send"), data[i + 1 :]
                    break
                echo.append(byte)
                if byte == BACKSPACE and edits:
                    if self.buf:
                        self.buf.pop()
                    continue
                self.buf.append(byte)
                if len(self.buf) > self.limit:
                    outcome, rest = "too long", data[i + 1 :]
                    break
        if fw.v.echo and fw.v.qisde and echo:
            fw.out.emit(bytes(echo))
        if outcome is not None:
            self._finish(outcome)
        return rest

    def _finish(self, outcome: str) -> None:
        fw = self.fw
        fw.payload = None
        fw.mode = "command"
        if outcome == "cancel":
            if fw.p.qisend_esc_reply:
                fw.out.final(fw.p.qisend_esc_reply)
            return
        if outcome == "too long" or not self.buf:
            fw.out.final("ERROR")
            return
        fw.runner.busy_with(_send(fw, self.session, bytes(self.buf)), "qisend")


def _send(fw: Firmware, session: Session, data: bytes) -> Generator[Any, None, None]:
    yield fw.lat("lat_send_ok")
    if session.state != "CONNECTED":
        fw.out.final("ERROR")
        return
    buffer = 1000 if fw.mutated.send_buffer_1000 else fw.p.send_buffer
    if session.proto == "TCP" and session.unacked() + len(data) > buffer:
        fw.out.final(fw.p.send_full_reply)  # SEND-WINDOW: the socket send buffer is full
        return
    hand_over(fw, session, data)
    fw.out.final("SEND OK")


def hand_over(fw: Firmware, session: Session, data: bytes) -> None:
    """Give bytes to the network: now, or after a slow network's delay; restarts the NAT timer."""
    session.last_activity = fw.clock.now()
    if fw.faults.active("nat_drop") is not None or fw.mutated.nat_drop_after_60s:
        receive.arm_nat(fw, session)
    slow = fw.faults.take("slow_network")
    if slow is None:
        session.send(data)
        return
    session.hold(data)
    fw.loop.call_later(slow.num("delay"), lambda: session.release(len(data)), "power")
