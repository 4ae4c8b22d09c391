"""The AT channel: one reader thread feeding the codec, one command at a time (ORDER).

Commands wait for their final answer within their documented limit (AT-TIMEOUT); URCs, pushed
data and transparent-mode bytes are queued with their arrival stamps for whoever asks.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from harness import limits, summary
from harness.clauses import clause as _clause
from harness.clock import Clock, Deadline, stamp
from harness.errors import DeviationFault, LimitFault, ModemcertError, UsageFault
from harness.limits import Limit, Timing, for_command
from harness.protocol import (
    ESCAPE_SPEC,
    Absorbed,
    Codec,
    CommandSpec,
    DataBytes,
    Echo,
    Event,
    Final,
    Kind,
    Line,
    Noise,
    PossibleClosed,
    Prompt,
    ProtocolError,
    QirdBlock,
    Received,
    Urc,
    UrcKind,
    spec_for,
)
from harness.protocol import Stage as StageEvent
from harness.transport import PortClosed, Transcript, Transport, TransportError

__all__ = [
    "ATChannel",
    "ATError",
    "ATTimeout",
    "ChannelError",
    "EscapeResult",
    "PortClosed",
    "PossibleClosed",
    "ProtocolError",
    "QirdBlock",
    "Received",
    "Reply",
    "SendRefused",
    "Stage",
    "Urc",
    "UrcKind",
]

#: After `ALREADY CONNECT` an M95 prints a separate `ERROR` (PROTOCOL.md §14); wait this many
#: module seconds for it so it is not taken as the next command's answer. A protocol settle.
ALREADY_CONNECT_SETTLE = 0.3
#: Silence (module seconds) inside a length-framed block after which it is declared truncated.
FRAME_GAP = 2.0
#: After the trailing escape guard, how long (module seconds) `OK` may take to arrive.
ESCAPE_REPLY = 1.0
#: Wall-seconds floor for the protocol settles above: at tiny time scales they would otherwise
#: be shorter than thread scheduling noise.
WALL_FLOOR = 0.25
#: A module line ended in CR: module seconds to wait for its LF before writing the next command
#: (at 115200 baud the LF is the very next byte; a USB-serial bridge may hold it one latency
#: tick). Writing earlier could put the next echo before that LF.
LF_DUE = 0.02
#: Wall-seconds floor of LF_DUE: a USB-serial bridge's latency timer (16 ms at most).
LF_DUE_WALL = 0.02
#: Wall seconds `close()` waits for the reader thread to notice.
READER_JOIN = 2.0
READ_SIZE = 4096
URC_KEEP = 10_000  # queued URCs / received blocks kept if nobody collects them
DATA_KEEP = 1 << 20  # transparent-mode bytes kept if nobody reads them
SPECIAL_BYTES = {limits.BACKSPACE: "0x08", limits.CTRL_Z: "0x1A", limits.ESC: "0x1B"}
_SPECIAL = re.compile(b"[" + re.escape(bytes(SPECIAL_BYTES)) + b"]")


# -- errors ---------------------------------------------------------------------------------
class ChannelError(ModemcertError):
    """Base of the AT channel's own errors; each kind also says whose fault it is."""


class ATTimeout(ChannelError, LimitFault):
    """No final answer within the limit; `.reply` is what came so far (AT-TIMEOUT)."""

    def __init__(
        self,
        message: str,
        reply: Reply | None = None,
        transcript_tail: str = "",
        limit: Limit | None = None,
    ) -> None:
        super().__init__(message)
        self.reply = reply
        self.transcript_tail = transcript_tail
        self.limit = limit


class ATError(ChannelError, DeviationFault):
    """The command was answered with a failure (`ERROR`, `+CME ERROR: <n>`, `CONNECT FAIL`)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.command} answered {reply.final}")
        self.reply = reply
        self.code = reply.error_code


class SendRefused(ChannelError, UsageFault):
    """The channel will not send this: too long, special bytes, or not in a state to send."""


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """A result on the way to the final one, `elapsed` module seconds after the command."""

    text: str
    elapsed: float
    t_ns: int


@dataclass(frozen=True)
class Reply:
    """Everything a command got back; `elapsed` = last byte sent → final byte received."""

    command: str
    lines: list[str]
    final: str | None
    ok: bool
    stages: list[Stage]
    elapsed: float
    error_code: int | None = None
    data: bytes = b""
    blocks: list[QirdBlock] = field(default_factory=list)
    raw: bytes = b""
    sent_ns: int = 0
    final_ns: int | None = None
    echo: str | None = None

    def timing(self, clause: str | None = None) -> Timing:
        """This reply's time judged against the command's documented limit."""
        result = for_command(self.command).check(self.elapsed, self.command)
        if clause is not None:
            result = replace(result, clause=_clause(clause).id)
        return result


@dataclass(frozen=True)
class EscapeResult:
    """`+++`: `ok` = the module answered OK; `echoed` = it echoed `+++` (was in command mode)."""

    ok: bool
    echoed: bool
    elapsed: float


class _Pending:
    """The command in flight, filled by the reader thread."""

    __slots__ = (
        "blocks",
        "echo",
        "escape_echoed",
        "final",
        "lines",
        "payload_ns",
        "prompted",
        "raw",
        "sent_ns",
        "spec",
        "stages",
    )

    def __init__(self, spec: CommandSpec) -> None:
        self.spec = spec
        self.sent_ns = 0
        self.payload_ns: int | None = None
        self.echo: str | None = None
        self.escape_echoed = False
        self.prompted = False
        self.lines: list[str] = []
        self.stages: list[tuple[str, int]] = []
        self.blocks: list[QirdBlock] = []
        self.raw = bytearray()
        self.final: Final | None = None


@functools.lru_cache(maxsize=1024)
def _spec_for(line: str, mux: bool, mode: int) -> CommandSpec:
    return spec_for(line, mux=mux, mode=mode)


@functools.lru_cache(maxsize=1024)
def _limit_for(line: str) -> Limit:
    return for_command(line)


def _compile(pattern: str | re.Pattern[str] | UrcKind) -> Callable[[Urc], bool]:
    if isinstance(pattern, UrcKind):
        return lambda u: u.kind is pattern
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    return lambda u: rx.search(u.text) is not None


class ATChannel:
    """The AT command channel over one `Transport`; start() it, or use it as a context manager."""

    def __init__(self, transport: Transport, clock: Clock | None = None) -> None:
        self.transport = transport
        self.clock = clock or Clock(1.0)
        if transport.transcript is None:
            transport.transcript = Transcript()
        self.transcript: Transcript = transport.transcript
        self.echo: bool | None = None  # ATE1/ATE0 as last set; None: unknown
        self.mux = False  # AT+QIMUX=1 succeeded
        self.mode = 0  # AT+QIMODE: 1 = transparent
        self._codec = Codec()
        self._cond = threading.Condition(threading.Lock())
        self._order = threading.RLock()  # ORDER: one command at a time
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._dead: TransportError | None = None
        self._pending: _Pending | None = None
        self._urcs: deque[Urc] = deque(maxlen=URC_KEEP)
        self._received: deque[Received] = deque(maxlen=URC_KEEP)
        self._possible: deque[PossibleClosed] = deque(maxlen=URC_KEEP)
        self._data = bytearray()
        self._last_tx_ns = stamp()
        self._last_rx_ns = self._last_tx_ns
        self._watch_rx = False  # a write is in progress: note the first byte received
        self._first_rx_ns: int | None = None
        self._observers: list[Callable[[Reply | ATTimeout], None]] = []
        #: The station can wait for a lost port to come back ([serial] reconnect): a command
        #: that meets the loss fails its test without stopping the run (`_port_closed`).
        self.survives_port_loss = False

    def __repr__(self) -> str:
        return f"ATChannel({self.transport.url!r}, {self.clock})"

    # -- life -------------------------------------------------------------------------------
    def start(self) -> ATChannel:
        """Open the transport if needed and start the reader thread (again, once the reader
        died with its port: an unplugged adapter that came back)."""
        if self._reader is not None and self._reader.is_alive():
            return self
        if self._reader is not None:
            self._reader.join(READER_JOIN)
            self._reader = None
            self.reset_state()  # a half-read frame of the lost port means nothing now
        if not self.transport.is_open:
            self.transport.open()
        self._stop.clear()
        self._dead = None
        self._reader = threading.Thread(
            target=self._read_loop, name=f"at-reader {self.transport.url}", daemon=True
        )
        self._reader.start()
        return self

    def close(self) -> None:
        """Stop the reader and close the transport (idempotent)."""
        self._stop.set()
        self.transport.cancel_read()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(READER_JOIN)
        self.transport.close()
        with self._cond:
            if self._dead is None:
                self._dead = PortClosed(f"the AT channel on {self.transport.url} was closed")
            self._cond.notify_all()

    def __enter__(self) -> ATChannel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def in_data_mode(self) -> bool:
        """True after a `CONNECT` (transparent mode) until an escape or `leave_data_mode()`."""
        return self._codec.data_mode

    @property
    def in_flight(self) -> tuple[str, int] | None:
        """The command awaiting its final answer and when it was sent (stamp ns), or None."""
        pending = self._pending
        if pending is None or not pending.sent_ns:
            return None
        return pending.spec.command, pending.sent_ns

    def drain(self) -> int:
        """Forget queued URCs, pushed data and possible CLOSED (a new test starts clean);
        how many items were dropped."""
        with self._cond:
            n = len(self._urcs) + len(self._received) + len(self._possible) + len(self._data)
            self._urcs.clear()
            self._received.clear()
            self._possible.clear()
            self._data.clear()
        return n

    def add_observer(self, fn: Callable[[Reply | ATTimeout], None]) -> Callable[[], None]:
        """Call `fn` with every finished Reply or ATTimeout; returns a function removing it."""
        self._observers.append(fn)
        return lambda: self._observers.remove(fn) if fn in self._observers else None

    def reset_state(self) -> None:
        """Forget echo, QIMUX, QIMODE and data mode (after a reboot; also done on `RDY`)."""
        with self._cond:
            self._forget()
            self._codec.reset()

    def _forget(self) -> None:
        self.echo = None
        self.mux = False
        self.mode = 0

    # -- the reader thread --------------------------------------------------------------------
    def _read_loop(self) -> None:
        transport, codec, cond = self.transport, self._codec, self._cond
        while not self._stop.is_set():
            framing = codec.awaiting_frame  # a hint for the read timeout; rechecked below
            wall = self._wall(FRAME_GAP) if framing else None
            try:
                data, t = transport.read_stamped(READ_SIZE, wall)
            except TransportError as e:
                self._die(e)
                return
            except Exception as e:  # a bug must not leave callers waiting forever
                self._die(PortClosed(f"the AT reader thread failed: {e!r}"))
                raise
            with cond:
                if data:
                    if self._watch_rx and self._first_rx_ns is None:
                        self._first_rx_ns = t
                    if self._pending is not None:
                        self._pending.raw += data
                    self._last_rx_ns = t
                    events = codec.feed(data, t)
                elif framing and codec.awaiting_frame:
                    events = codec.expire(t)
                else:
                    continue
                self._dispatch(events)
                cond.notify_all()

    def _die(self, error: TransportError) -> None:
        with self._cond:
            if self._dead is None:
                self._dead = (
                    error
                    if not self._stop.is_set()
                    else PortClosed(f"the AT channel on {self.transport.url} was closed")
                )
            self._cond.notify_all()

    def _dispatch(self, events: list[Event]) -> None:
        """Route codec events (called with the condition held)."""
        pending = self._pending
        for ev in events:
            if isinstance(ev, Urc):
                self._urcs.append(ev)
                if ev.kind is UrcKind.RDY:
                    self._forget()  # the module rebooted: ATE/QIMUX/QIMODE are defaults again
            elif isinstance(ev, Received):
                self._received.append(ev)
            elif isinstance(ev, DataBytes):
                self._data += ev.data
                if len(self._data) > DATA_KEEP:
                    dropped = len(self._data) - DATA_KEEP
                    del self._data[:dropped]
                    self.transcript.note(f"data mode: {dropped} unread bytes dropped")
            elif isinstance(ev, PossibleClosed):
                self._possible.append(ev)
            elif isinstance(ev, Noise):
                self.transcript.note(f"noise ({ev.reason}): {ev.data[:64].hex(' ')}")
            elif isinstance(ev, Absorbed):
                self.transcript.note("absorbed the ERROR that follows ALREADY CONNECT")
            elif pending is None:
                if isinstance(ev, QirdBlock):
                    self.transcript.note(f"+QIRD block of {ev.length} bytes with no AT+QIRD")
            elif isinstance(ev, Echo):
                if ev.data == b"+++" and pending.spec.kind is Kind.ESCAPE:
                    pending.escape_echoed = True
                elif not ev.payload:
                    pending.echo = ev.data.decode("ascii", "replace")
            elif isinstance(ev, Line):
                pending.lines.append(ev.text)
            elif isinstance(ev, StageEvent):
                pending.stages.append((ev.text, ev.t_ns))
            elif isinstance(ev, Prompt):
                pending.prompted = True
                pending.stages.append((">", ev.t_ns))
            elif isinstance(ev, QirdBlock):
                pending.blocks.append(ev)
            elif isinstance(ev, Final):
                pending.final = ev
                pending.stages.append((ev.text, ev.t_ns))

    # -- commands -----------------------------------------------------------------------------
    def command(self, cmd: str, timeout: float | None = None, *, check: bool = False) -> Reply:
        """Send `cmd` and wait for its final answer (AT-TIMEOUT: its documented limit)."""
        line = self._command_line(cmd)
        limit = _limit_for(line)
        seconds = limit.seconds if timeout is None else float(timeout)
        with self._order:
            pending = self._begin(_spec_for(line, self.mux, self.mode))
            pending.sent_ns = self._write(line.encode("ascii") + b"\r")
            self._await(pending, self.clock.deadline(seconds), limit)
            reply = self._reply(pending)
            self._track(pending.spec, reply)
            if reply.final is not None and reply.final.endswith("ALREADY CONNECT"):
                self._settle_already_connect()
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
            self._check_payload(data, fixed)
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
        with self._order:
            pending = self._begin(_spec_for(line, self.mux, self.mode))
            pending.sent_ns = self._write(line.encode("ascii") + b"\r")
            deadline = self.clock.deadline(seconds)  # prompt, payload and SEND OK together
            self._await(pending, deadline, limit, until_prompt=True)
            if pending.final is None:
                with self._cond:
                    self._codec.payload_sent(data, echo=True if self.echo else None)
                pending.payload_ns = self._write(typed)
                self._await(pending, deadline, limit)
            reply = self._reply(pending)
            self._notify(reply)
        return reply

    def _check_payload(self, data: bytes, fixed: bool) -> None:
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

    def _begin(self, spec: CommandSpec) -> _Pending:
        with self._cond:
            self._usable()
            if self._codec.data_mode:
                raise SendRefused(
                    f"{spec.command}: the port is in transparent data mode (after CONNECT), "
                    "where every byte goes to the peer; call escape() first"
                )
            self._let_line_end()
            self._codec.begin(spec)
            pending = _Pending(spec)
            self._pending = pending
            return pending

    def _let_line_end(self) -> None:
        """Wait (condition held) up to LF_DUE for the LF of a line that ended in CR, so the
        next command's echo cannot come before it."""
        if not self._codec.lf_due:
            return
        deadline = self.clock.deadline(max(LF_DUE, self.clock.to_module(LF_DUE_WALL)))
        while self._codec.lf_due and self._dead is None:
            wall = deadline.wall_remaining()
            if wall is not None and wall <= 0:
                return
            self._cond.wait(wall)

    def _port_closed(self, text: str) -> PortClosed:
        """The PortClosed a command raises on a lost port; it does not stop the run when the
        port went away by itself and the station can wait for it (survives_port_loss)."""
        error = PortClosed(text)
        if self.survives_port_loss and not self._stop.is_set():
            error.stops_run = False  # one test lost; the next one's fixture reconnects
        return error

    def _usable(self) -> None:
        if self._dead is not None:
            raise self._port_closed(str(self._dead))
        if self._reader is None:
            raise PortClosed(f"the AT channel on {self.transport.url} is not started")

    def _write(self, data: bytes) -> int:
        """Write and return when the last byte was handed over, as best known.

        The writer can be descheduled right after the write while the reader already stamps
        the answer, so the "after" stamp is capped by the first byte received since the
        write began (and never put before the write began).
        """
        # Plain attribute writes: the reader only reads them, and a lock here costs latency.
        self._first_rx_ns = None
        self._watch_rx = True
        try:
            before, after = self.transport.write_stamped(data)
        except TransportError as e:
            self._watch_rx = False
            with self._cond:
                if self._pending is not None:
                    self._dispatch(self._codec.abort(stamp()))
                    self._pending = None
            raise self._port_closed(str(e)) from None
        self._watch_rx = False
        first = self._first_rx_ns
        if first is not None and first < after:
            after = max(before, first)
        self._last_tx_ns = after
        return after

    def _await(
        self, pending: _Pending, deadline: Deadline, limit: Limit, until_prompt: bool = False
    ) -> None:
        """Wait for the final (or the prompt); ATTimeout / PortClosed end the command."""
        with self._cond:
            while True:
                if pending.final is not None:
                    self._pending = None
                    return
                if until_prompt and pending.prompted:
                    return
                if self._dead is not None:
                    self._give_up()
                    raise self._port_closed(f"{pending.spec.command}: {self._dead}")
                wall = deadline.wall_remaining()
                if wall is not None and wall <= 0:
                    self._give_up()
                    break
                self._cond.wait(wall)
        reply = self._reply(pending)
        error = ATTimeout(
            f"{pending.spec.command}: no final answer within {deadline.seconds:g} s "
            f"(module time, {self.clock}; documented limit {limit.seconds:g} s, "
            f"{limit.clause}); got so far: {[s.text for s in reply.stages] or 'nothing'}\n"
            f"last bytes:\n{summary.tail(self.transcript)}",
            reply=reply,
            transcript_tail=summary.tail(self.transcript),
            limit=limit,
        )
        self._notify(error)
        raise error

    def _give_up(self) -> None:
        """Abandon the command in flight (called with the condition held)."""
        self._dispatch(self._codec.abort(stamp()))
        self._pending = None

    def _reply(self, p: _Pending) -> Reply:
        scale = self.clock.scale  # Clock.module_between, inlined: this is the hot path
        start = p.payload_ns if p.payload_ns is not None else p.sent_ns
        final = p.final
        end = final.t_ns if final is not None else stamp()
        sent = p.sent_ns
        return Reply(
            p.spec.command,
            p.lines,
            final.text if final is not None else None,
            final is not None and final.ok,
            [Stage(text, (t - sent) / 1e9 / scale, t) for text, t in p.stages],
            (end - start) / 1e9 / scale,
            final.code if final is not None else None,
            b"".join([b.payload for b in p.blocks]) if p.blocks else b"",
            p.blocks,
            bytes(p.raw),
            start,
            final.t_ns if final is not None else None,
            p.echo,
        )

    def _track(self, spec: CommandSpec, reply: Reply) -> None:
        """Remember settings from commands that succeeded (echo, QIMUX, QIMODE)."""
        if not reply.ok:
            return
        e = spec.setting("E")
        if e is not None:
            self.echo = e == 1
        elif spec.setting("Z") is not None or spec.setting("&F") is not None:
            self.echo = None
        if spec.name in ("+QIMUX", "+QIMODE") and spec.form == "set":
            value = spec.command.rsplit("=", 1)[1].strip()
            if value.isdigit():
                if spec.name == "+QIMUX":
                    self.mux = value == "1"
                else:
                    self.mode = int(value)

    def _settle_already_connect(self) -> None:
        deadline = self.clock.deadline(self._settle(ALREADY_CONNECT_SETTLE))
        with self._cond:
            while self._codec.absorbing and not deadline.expired and self._dead is None:
                self._cond.wait(deadline.wall_remaining())

    def _settle(self, module_seconds: float) -> float:
        return max(module_seconds, self.clock.to_module(WALL_FLOOR))

    def _wall(self, module_seconds: float) -> float:
        return self.clock.to_wall(self._settle(module_seconds))

    def _notify(self, result: Reply | ATTimeout) -> None:
        for fn in list(self._observers):
            fn(result)

    # -- URCs and pushed data -------------------------------------------------------------------
    def wait_urc(self, pattern: str | re.Pattern[str] | UrcKind, timeout: float) -> Urc:
        """The oldest queued URC matching `pattern` (regex search, or a UrcKind), waiting up to
        `timeout` module seconds; other URCs stay queued. ATTimeout if none comes."""
        match = _compile(pattern)
        deadline = self.clock.deadline(timeout)
        with self._cond:
            while True:
                for urc in self._urcs:
                    if match(urc):
                        self._urcs.remove(urc)
                        return urc
                self._wait_or_raise(deadline, f"a URC matching {pattern!r}")

    def urcs(self) -> list[Urc]:
        """Take every queued URC."""
        with self._cond:
            out = list(self._urcs)
            self._urcs.clear()
            return out

    def rx_since(self, mark: int, until: bytes = b"", timeout: float = 0.0) -> bytes:
        """Every byte the module printed since transcript `mark`, once `until` is among them,
        waiting up to `timeout` module seconds (a line's last bytes may still be on the way
        when its URC is seen); what came by then if it never is."""
        deadline = self.clock.deadline(timeout)
        with self._cond:
            while True:
                got = b"".join(e.data for e in self.transcript.since(mark) if e.dir == "rx")
                wall = deadline.wall_remaining()
                if until in got or self._dead is not None or (wall is not None and wall <= 0):
                    return got
                self._cond.wait(wall)

    def wait_received(self, timeout: float) -> Received:
        """The oldest pushed data block (`IPD…:` / `+RECEIVE:`), waiting up to `timeout`."""
        deadline = self.clock.deadline(timeout)
        with self._cond:
            while not self._received:
                self._wait_or_raise(deadline, "received data (IPD/+RECEIVE)")
            return self._received.popleft()

    def _wait_or_raise(self, deadline: Deadline, what: str) -> None:
        if self._dead is not None:
            raise self._port_closed(f"waiting for {what}: {self._dead}")
        wall = deadline.wall_remaining()
        if wall is not None and wall <= 0:
            raise ATTimeout(
                f"no {what} within {deadline.seconds:g} s (module time, {self.clock})\n"
                f"last bytes:\n{summary.tail(self.transcript)}",
                transcript_tail=summary.tail(self.transcript),
            )
        self._cond.wait(wall)

    # -- transparent mode (TRANS-*) -------------------------------------------------------------
    def write_data(self, data: bytes) -> None:
        """Send bytes to the peer in data mode (TRANS-DATA)."""
        with self._cond:
            self._usable()
            if not self._codec.data_mode:
                raise SendRefused("write_data() needs data mode (AT+QIMODE=1, then CONNECT)")
        self._write(bytes(data))

    def read_data(self, timeout: float, max_bytes: int | None = None) -> bytes:
        """Peer bytes received in data mode, waiting up to `timeout` module seconds for any;
        b"" if none came."""
        deadline = self.clock.deadline(timeout)
        with self._cond:
            while not self._data:
                if self._dead is not None:
                    raise self._port_closed(f"reading data: {self._dead}")
                wall = deadline.wall_remaining()
                if wall is not None and wall <= 0:
                    return b""
                self._cond.wait(wall)
            n = len(self._data) if max_bytes is None else max_bytes
            out = bytes(self._data[:n])
            del self._data[:n]
            return out

    def possible_closed(self) -> list[PossibleClosed]:
        """Take the `CLOSED` / `+PDP DEACT` strings seen in the data stream (TRANS-CLOSED)."""
        with self._cond:
            out = list(self._possible)
            self._possible.clear()
            return out

    def escape(self, guard: float = limits.ESCAPE_GUARD) -> EscapeResult:
        """`+++` with `guard` module seconds of silence before and after (TRANS-ESC).

        OK: back in command mode. An echo and no OK: the module had already left data mode
        (TRANS-CLOSED). Neither: still in data mode (or echo off); see `leave_data_mode()`.
        """
        with self._order:
            with self._cond:
                self._usable()
                if not self._codec.data_mode:
                    raise SendRefused("escape() outside data mode: there is nothing to leave")
            # The guard counts from the last byte either way: a module counts it from CONNECT.
            quiet = guard - self.clock.since(max(self._last_tx_ns, self._last_rx_ns))
            if quiet > 0:
                self.clock.sleep(quiet, cancel=self._stop)  # the escape guard (§12)
            with self._cond:
                self._usable()
                self._codec.escape_sent()
                pending = _Pending(ESCAPE_SPEC)
                self._pending = pending
            sent = self._write(b"+++")
            deadline = self.clock.deadline(guard + self._settle(ESCAPE_REPLY))
            with self._cond:
                while pending.final is None and self._dead is None:
                    wall = deadline.wall_remaining()
                    if wall is not None and wall <= 0:
                        break
                    self._cond.wait(wall)
                final = pending.final
                if final is None:
                    self._give_up()
                    if self._dead is not None:
                        raise self._port_closed(f"+++: {self._dead}")
                self._pending = None
            end = final.t_ns if final is not None else stamp()
            return EscapeResult(
                ok=final is not None and final.ok,
                echoed=pending.escape_echoed,
                elapsed=self.clock.module_between(sent, end),
            )

    def leave_data_mode(self) -> None:
        """Treat the port as in command mode from now on (e.g. after a silent escape)."""
        with self._cond:
            self._codec.leave_data_mode()
