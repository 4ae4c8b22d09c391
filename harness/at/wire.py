"""The channel's I/O: one transport, the reader thread feeding the codec, and the condition
every waiter waits on. Events go to the command in flight (`Pending`) or the `Inbox`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from harness import summary
from harness.at.errors import ATTimeout, SendRefused
from harness.at.inbox import Inbox
from harness.at.reply import Pending
from harness.clock import Clock, Deadline, stamp
from harness.protocol import (
    Absorbed,
    Codec,
    CommandSpec,
    DataBytes,
    Event,
    Noise,
    PossibleClosed,
    QirdBlock,
    Received,
    Urc,
    UrcKind,
)
from harness.transport import PortClosed, PortGone, Transcript, Transport, TransportError

#: Silence (module seconds) inside a length-framed block after which it is declared truncated.
FRAME_GAP = 2.0
#: Wall-seconds floor for the protocol settles: at tiny time scales they would otherwise be
#: shorter than thread scheduling noise.
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


class Wire:
    """The transport, its reader thread and the codec it feeds; `cond` guards them all."""

    def __init__(self, transport: Transport, clock: Clock, forget: Callable[[], None]) -> None:
        self.transport = transport
        self.clock = clock
        if transport.transcript is None:
            transport.transcript = Transcript()
        self.transcript: Transcript = transport.transcript
        self.codec = Codec()
        self.cond = threading.Condition(threading.Lock())
        self.stop = threading.Event()
        self.dead: TransportError | None = None
        self.pending: Pending | None = None
        self.inbox = Inbox(self.cond, clock, self.wait_or_raise)
        self.last_tx_ns = stamp()
        self.last_rx_ns = self.last_tx_ns
        #: The station can wait for a lost port to come back ([serial] reconnect): a command
        #: that meets the loss fails its test without stopping the run (`port_closed`).
        self.survives_port_loss = False
        self._forget = forget  # the module rebooted: what the channel knew of it is gone
        self._reader: threading.Thread | None = None
        self._watch_rx = False  # a write is in progress: note the first byte received
        self._first_rx_ns: int | None = None

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the transport if needed and start the reader thread (again, once the reader
        died with its port: an unplugged adapter that came back)."""
        if self._reader is not None and self._reader.is_alive():
            return
        if self._reader is not None:
            self._reader.join(READER_JOIN)
            self._reader = None
            self.reset()  # a half-read frame of the lost port means nothing now
        if not self.transport.is_open:
            self.transport.open()
        self.stop.clear()
        self.dead = None
        self._reader = threading.Thread(
            target=self._read_loop, name=f"at-reader {self.transport.url}", daemon=True
        )
        self._reader.start()

    def close(self) -> None:
        """Stop the reader and close the transport (idempotent)."""
        self.stop.set()
        self.transport.cancel_read()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(READER_JOIN)
        self.transport.close()
        with self.cond:
            if self.dead is None:
                self.dead = PortClosed(f"the AT channel on {self.transport.url} was closed")
            self.cond.notify_all()

    def reset(self) -> None:
        """Forget what the channel and the codec knew of the module (after a reboot)."""
        with self.cond:
            self._forget()
            self.codec.reset()

    # -- the reader thread ----------------------------------------------------------------------
    def _read_loop(self) -> None:
        transport, codec, cond = self.transport, self.codec, self.cond
        while not self.stop.is_set():
            framing = codec.awaiting_frame  # a hint for the read timeout; rechecked below
            wall = self.wall(FRAME_GAP) if framing else None
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
                    if self.pending is not None:
                        self.pending.raw += data
                    self.last_rx_ns = t
                    events = codec.feed(data, t)
                elif framing and codec.awaiting_frame:
                    events = codec.expire(t)
                else:
                    continue
                self.dispatch(events)
                cond.notify_all()

    def _die(self, error: TransportError) -> None:
        with self.cond:
            if self.dead is None:
                self.dead = (
                    error
                    if not self.stop.is_set()
                    else PortClosed(f"the AT channel on {self.transport.url} was closed")
                )
            self.cond.notify_all()

    def dispatch(self, events: list[Event]) -> None:
        """Route codec events (condition held): the command's own to `pending`, the rest to
        the inbox, noise to the transcript."""
        pending, inbox = self.pending, self.inbox
        for ev in events:
            if isinstance(ev, Urc):
                inbox.urc(ev)
                if ev.kind is UrcKind.RDY:
                    self._forget()  # the module rebooted: ATE/QIMUX/QIMODE are defaults again
            elif isinstance(ev, Received):
                inbox.received.append(ev)
            elif isinstance(ev, DataBytes):
                dropped = inbox.add_data(ev.data)
                if dropped:
                    self.transcript.note(f"data mode: {dropped} unread bytes dropped")
            elif isinstance(ev, PossibleClosed):
                inbox.possible.append(ev)
            elif isinstance(ev, Noise):
                self.transcript.note(f"noise ({ev.reason}): {ev.data[:64].hex(' ')}")
            elif isinstance(ev, Absorbed):
                self.transcript.note("absorbed the ERROR that follows ALREADY CONNECT")
            elif pending is not None:
                pending.take(ev)
            elif isinstance(ev, QirdBlock):
                self.transcript.note(f"+QIRD block of {ev.length} bytes with no AT+QIRD")

    # -- writing --------------------------------------------------------------------------------
    def begin(self, spec: CommandSpec) -> Pending:
        """The command `spec` is next (ORDER held): the codec told, its LF waited for."""
        with self.cond:
            self.usable()
            if self.codec.data_mode:
                raise SendRefused(
                    f"{spec.command}: the port is in transparent data mode (after CONNECT), "
                    "where every byte goes to the peer; call escape() first"
                )
            self._let_line_end()
            self.codec.begin(spec)
            pending = Pending(spec)
            self.pending = pending
            return pending

    def _let_line_end(self) -> None:
        """Wait (condition held) up to LF_DUE for the LF of a line that ended in CR, so the
        next command's echo cannot come before it."""
        if self.codec.lf_due:
            deadline = self.clock.deadline(max(LF_DUE, self.clock.to_module(LF_DUE_WALL)))
            self.wait_while(lambda: self.codec.lf_due, deadline)

    def write(self, data: bytes) -> int:
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
            with self.cond:
                if self.pending is not None:
                    self.give_up()
            raise self.port_closed(str(e)) from None
        self._watch_rx = False
        first = self._first_rx_ns
        if first is not None and first < after:
            after = max(before, first)
        self.last_tx_ns = after
        return after

    # -- waiting --------------------------------------------------------------------------------
    def await_final(self, pending: Pending, deadline: Deadline, until_prompt: bool) -> bool:
        """Wait for the final (or the prompt): True when it came, False when the deadline
        passed (the command is abandoned); PortClosed if the port died."""
        with self.cond:
            while True:
                if pending.final is not None:
                    self.pending = None
                    return True
                if until_prompt and pending.prompted:
                    return True
                if self.dead is not None:
                    self.give_up()
                    raise self.port_closed(f"{pending.spec.command}: {self.dead}")
                wall = deadline.wall_remaining()
                if wall is not None and wall <= 0:
                    self.give_up()
                    return False
                self.cond.wait(wall)

    def give_up(self) -> None:
        """Abandon the command in flight (condition held)."""
        self.dispatch(self.codec.abort(stamp()))
        self.pending = None

    def wait_or_raise(self, deadline: Deadline, what: str) -> None:
        """Wait (condition held) for news; ATTimeout past the deadline, PortClosed if dead."""
        if self.dead is not None:
            raise self.port_closed(f"waiting for {what}: {self.dead}")
        wall = deadline.wall_remaining()
        if wall is not None and wall <= 0:
            raise ATTimeout(
                f"no {what} within {deadline.seconds:g} s (module time, {self.clock})\n"
                f"last bytes:\n{summary.tail(self.transcript)}",
                transcript_tail=summary.tail(self.transcript),
            )
        self.cond.wait(wall)

    def wait_while(self, busy: Callable[[], bool], deadline: Deadline) -> None:
        """Wait (condition held) while `busy()` and the port lives, up to the deadline."""
        while busy() and self.dead is None:
            wall = deadline.wall_remaining()
            if wall is not None and wall <= 0:
                return
            self.cond.wait(wall)

    def usable(self) -> None:
        if self.dead is not None:
            raise self.port_closed(str(self.dead))
        if self._reader is None:
            raise PortClosed(f"the AT channel on {self.transport.url} is not started")

    def port_closed(self, text: str) -> PortClosed:
        """The PortClosed a command raises on a lost port; it does not stop the run when the
        port went away by itself and the station can wait for it (survives_port_loss)."""
        if self.survives_port_loss and not self.stop.is_set():
            return PortGone(text)
        return PortClosed(text)

    def settle(self, module_seconds: float) -> float:
        """A protocol settle in module seconds, never under WALL_FLOOR of wall time."""
        return max(module_seconds, self.clock.to_module(WALL_FLOOR))

    def wall(self, module_seconds: float) -> float:
        return self.clock.to_wall(self.settle(module_seconds))
