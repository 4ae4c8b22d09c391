"""`ATChannel`: one command at a time (ORDER), each waiting for its final answer within its
documented limit (AT-TIMEOUT, from the command registry)."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable

from harness import limits, summary
from harness.at.errors import ATError, ATTimeout, SendRefused
from harness.at.reply import Pending, Reply
from harness.at.transparent import TransparentMode
from harness.at.unsolicited import Unsolicited
from harness.at.wire import Wire
from harness.clock import Clock, Deadline, stamp
from harness.commands import ResultCode, limit_for
from harness.limits import Limit
from harness.protocol import CommandSpec, spec_for
from harness.transport import Transcript, Transport

#: After `ALREADY CONNECT` an M95 prints a separate `ERROR` (PROTOCOL.md §14); wait this many
#: module seconds for it so it is not taken as the next command's answer. A protocol settle.
ALREADY_CONNECT_SETTLE = 0.3
SPECIAL_BYTES = {limits.BACKSPACE: "0x08", limits.CTRL_Z: "0x1A", limits.ESC: "0x1B"}
_SPECIAL = re.compile(b"[" + re.escape(bytes(SPECIAL_BYTES)) + b"]")

Observer = Callable[[Reply | ATTimeout], None]


@functools.lru_cache(maxsize=1024)
def _spec_for(line: str, mux: bool, mode: int) -> CommandSpec:
    return spec_for(line, mux=mux, mode=mode)


@functools.lru_cache(maxsize=1024)
def _limit_for(line: str) -> Limit:
    return limit_for(line)


class ATChannel(TransparentMode, Unsolicited):
    """The AT command channel over one `Transport`; start() it, or use it as a context manager."""

    def __init__(self, transport: Transport, clock: Clock | None = None) -> None:
        self.clock = clock or Clock(1.0)
        self.echo: bool | None = None  # ATE1/ATE0 as last set; None: unknown
        self.mux = False  # AT+QIMUX=1 succeeded
        self.mode = 0  # AT+QIMODE: 1 = transparent
        self._wire = Wire(transport, self.clock, self._forget)
        self._order = threading.RLock()  # ORDER: one command at a time
        self._observers: list[Observer] = []

    def __repr__(self) -> str:
        return f"ATChannel({self.transport.url!r}, {self.clock})"

    @property
    def transport(self) -> Transport:
        return self._wire.transport

    @property
    def transcript(self) -> Transcript:
        return self._wire.transcript

    @property
    def survives_port_loss(self) -> bool:
        """The station can wait for a lost port to come back ([serial] reconnect): a command
        that meets the loss fails its test without stopping the run."""
        return self._wire.survives_port_loss

    @survives_port_loss.setter
    def survives_port_loss(self, value: bool) -> None:
        self._wire.survives_port_loss = value

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> ATChannel:
        """Open the transport if needed and start the reader thread (again, once the reader
        died with its port: an unplugged adapter that came back)."""
        self._wire.start()
        return self

    def close(self) -> None:
        """Stop the reader and close the transport (idempotent)."""
        self._wire.close()

    def __enter__(self) -> ATChannel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def settle(self, module_seconds: float) -> float:
        """`module_seconds`, but never under WALL_FLOOR of wall time: a wait a loaded host
        could spend elsewhere at a compressed scale (the sim rig's 0.02)."""
        return self._wire.settle(module_seconds)

    @property
    def in_flight(self) -> tuple[str, int] | None:
        """The command awaiting its final answer and when it was sent (stamp ns), or None."""
        pending = self._wire.pending
        if pending is None or not pending.sent_ns:
            return None
        return pending.spec.command, pending.sent_ns

    def add_observer(self, fn: Observer) -> Callable[[], None]:
        """Call `fn` with every finished Reply or ATTimeout; returns a function removing it."""
        self._observers.append(fn)
        return lambda: self._observers.remove(fn) if fn in self._observers else None

    def reset_state(self) -> None:
        """Forget echo, QIMUX, QIMODE and data mode (after a reboot; also done on `RDY`)."""
        self._wire.reset()

    def _forget(self) -> None:
        self.echo = None
        self.mux = False
        self.mode = 0

    # -- commands -------------------------------------------------------------------------------
    def command(self, cmd: str, timeout: float | None = None, *, check: bool = False) -> Reply:
        """Send `cmd` and wait for its final answer (AT-TIMEOUT: its documented limit)."""
        line = self._command_line(cmd)
        limit = _limit_for(line)
        seconds = limit.seconds if timeout is None else float(timeout)
        wire = self._wire
        with self._order:
            pending = wire.begin(_spec_for(line, self.mux, self.mode))
            pending.sent_ns = wire.write(line.encode("ascii") + b"\r")
            self._await(pending, self.clock.deadline(seconds), limit)
            reply = pending.reply(self.clock.scale, stamp())
            self._track(pending.spec, reply)
            if reply.final is not None and reply.final.endswith(ResultCode.ALREADY_CONNECT):
                deadline = self.clock.deadline(wire.settle(ALREADY_CONNECT_SETTLE))
                with wire.cond:  # its trailing ERROR is not the next command's (§14)
                    wire.wait_while(lambda: wire.codec.absorbing, deadline)
            self._notify(reply)
        if check and not reply.ok:
            raise ATError(reply)
        return reply

    def send_data(
        self,
        data: bytes,
        fixed: bool = True,
        timeout: float | None = None,
        *,
        raw_input: bool = False,
        link: int = 0,
    ) -> Reply:
        """AT+QISEND: wait for `> `, type `data` (exact length, or + Ctrl+Z), wait SEND OK.

        `raw_input=True` types the bytes verbatim with no Ctrl+Z added and no checks
        (SEND-SPECIAL, SEND-MAX probes). `link` is the QIMUX=1 connection index.
        """
        data = bytes(data)
        if not raw_input:
            _check_payload(data, fixed)
        if self.mux:
            if not fixed:
                raise SendRefused(
                    "AT+QISEND without a length is not valid with AT+QIMUX=1 (PROTOCOL.md §6); "
                    "use fixed=True"
                )
            line = f"AT+QISEND={link},{len(data)}"
        else:
            line = f"AT+QISEND={len(data)}" if fixed else "AT+QISEND"
        typed = data if fixed or raw_input else data + bytes([limits.CTRL_Z])
        limit = _limit_for(line)
        seconds = limit.seconds if timeout is None else float(timeout)
        wire = self._wire
        with self._order:
            pending = wire.begin(_spec_for(line, self.mux, self.mode))
            pending.sent_ns = wire.write(line.encode("ascii") + b"\r")
            deadline = self.clock.deadline(seconds)  # prompt, payload and SEND OK together
            self._await(pending, deadline, limit, until_prompt=True)
            if pending.final is None:
                with wire.cond:
                    wire.codec.payload_sent(data, echo=True if self.echo else None)
                pending.payload_ns = wire.write(typed)
                self._await(pending, deadline, limit)
            reply = pending.reply(self.clock.scale, stamp())
            self._notify(reply)
        return reply

    def _command_line(self, cmd: str) -> str:
        if not isinstance(cmd, str):
            raise SendRefused(f"an AT command is a str, not {type(cmd).__name__}: {cmd!r}")
        line = cmd.strip(" \t")
        if not line[:2].upper() == "AT" or "\r" in line or "\n" in line or not line.isascii():
            raise SendRefused(
                f"{cmd!r} is not one AT command line: it must start with AT, be ASCII "
                "and hold no CR/LF (the channel adds the CR)"
            )
        return line

    def _await(
        self, pending: Pending, deadline: Deadline, limit: Limit, until_prompt: bool = False
    ) -> None:
        """Wait for the final (or the prompt); ATTimeout / PortClosed end the command."""
        if self._wire.await_final(pending, deadline, until_prompt):
            return
        reply = pending.reply(self.clock.scale, stamp())
        tail = summary.tail(self.transcript)
        error = ATTimeout(
            f"{pending.spec.command}: no final answer within {deadline.seconds:g} s "
            f"(module time, {self.clock}; documented limit {limit.seconds:g} s, "
            f"{limit.clause}); got so far: {[s.text for s in reply.stages] or 'nothing'}\n"
            f"last bytes:\n{tail}",
            reply=reply,
            transcript_tail=tail,
            limit=limit,
        )
        self._notify(error)
        raise error

    def _track(self, spec: CommandSpec, reply: Reply) -> None:
        """Remember settings from commands that succeeded (echo, QIMUX, QIMODE)."""
        if not reply.ok:
            return
        e = spec.setting("E")
        if e is not None:
            self.echo = e == 1
        elif spec.resets:
            self.echo = None
        if spec.name in ("+QIMUX", "+QIMODE") and spec.form == "set":
            value = spec.command.rsplit("=", 1)[1].strip()
            if value.isdigit():
                if spec.name == "+QIMUX":
                    self.mux = value == "1"
                else:
                    self.mode = int(value)

    def _notify(self, result: Reply | ATTimeout) -> None:
        for fn in list(self._observers):
            fn(result)


def _check_payload(data: bytes, fixed: bool) -> None:
    if not data:
        raise SendRefused("nothing to send: the payload is empty")
    if len(data) > limits.SEND_MAX:
        raise SendRefused(
            f"{len(data)} bytes is more than one AT+QISEND may carry "
            f"(SEND-MAX: {limits.SEND_MAX}); split the data"
        )
    special = _SPECIAL.search(data) if not fixed else None
    if special is not None:
        raise SendRefused(
            f"byte {special.start()} is {SPECIAL_BYTES[data[special.start()]]}, which "
            "AT+QISEND without a length treats as a control key (SEND-SPECIAL); use "
            "fixed=True, or raw_input=True to type it on purpose"
        )
