"""Transparent mode (TRANS-*): after a `CONNECT` every byte is the peer's until `+++`."""

from __future__ import annotations

import threading

from harness import limits
from harness.at.errors import SendRefused
from harness.at.reply import EscapeResult, Pending
from harness.at.wire import Wire
from harness.clock import stamp
from harness.protocol import ESCAPE_SPEC, PossibleClosed

#: After the trailing escape guard, how long (module seconds) `OK` may take to arrive.
ESCAPE_REPLY = 1.0


class TransparentMode:
    """`write_data`, `read_data`, `escape` and the possible CLOSED seen in the stream."""

    _wire: Wire
    _order: threading.RLock

    @property
    def in_data_mode(self) -> bool:
        """True after a `CONNECT` (transparent mode) until an escape or `leave_data_mode()`."""
        return self._wire.codec.data_mode

    def write_data(self, data: bytes) -> None:
        """Send bytes to the peer in data mode (TRANS-DATA)."""
        wire = self._wire
        with wire.cond:
            wire.usable()
            if not wire.codec.data_mode:
                raise SendRefused("write_data() needs data mode (AT+QIMODE=1, then CONNECT)")
        wire.write(bytes(data))

    def read_data(self, timeout: float, max_bytes: int | None = None) -> bytes:
        """Peer bytes received in data mode, waiting up to `timeout` module seconds for any;
        b"" if none came."""
        wire = self._wire
        deadline = wire.clock.deadline(timeout)
        with wire.cond:
            while not wire.inbox.data:
                if wire.dead is not None:
                    raise wire.port_closed(f"reading data: {wire.dead}")
                wall = deadline.wall_remaining()
                if wall is not None and wall <= 0:
                    return b""
                wire.cond.wait(wall)
            return wire.inbox.take_data(max_bytes)

    def possible_closed(self) -> list[PossibleClosed]:
        """Take the `CLOSED` / `+PDP DEACT` strings seen in the data stream (TRANS-CLOSED)."""
        with self._wire.cond:
            return self._wire.inbox.take_possible()

    def escape(self, guard: float = limits.ESCAPE_GUARD) -> EscapeResult:
        """`+++` with `guard` module seconds of silence before and after (TRANS-ESC).

        OK: back in command mode. An echo and no OK: the module had already left data mode
        (TRANS-CLOSED). Neither: still in data mode (or echo off); see `leave_data_mode()`.
        """
        wire = self._wire
        clock = wire.clock
        with self._order:
            with wire.cond:
                wire.usable()
                if not wire.codec.data_mode:
                    raise SendRefused("escape() outside data mode: there is nothing to leave")
            # The guard counts from the last byte either way: a module counts it from CONNECT.
            quiet = guard - clock.since(max(wire.last_tx_ns, wire.last_rx_ns))
            if quiet > 0:
                clock.sleep(quiet, cancel=wire.stop)  # the escape guard (§12)
            with wire.cond:
                wire.usable()
                wire.codec.escape_sent()
                pending = Pending(ESCAPE_SPEC)
                wire.pending = pending
            sent = wire.write(b"+++")
            deadline = clock.deadline(guard + wire.settle(ESCAPE_REPLY))
            with wire.cond:
                wire.wait_while(lambda: pending.final is None, deadline)
                final = pending.final
                if final is None:
                    wire.give_up()
                    if wire.dead is not None:
                        raise wire.port_closed(f"+++: {wire.dead}")
                wire.pending = None
            end = final.t_ns if final is not None else stamp()
            return EscapeResult(
                ok=final is not None and final.ok,
                echoed=pending.escape_echoed,
                elapsed=clock.module_between(sent, end),
            )

    def leave_data_mode(self) -> None:
        """Treat the port as in command mode from now on (e.g. after a silent escape)."""
        with self._wire.cond:
            self._wire.codec.leave_data_mode()
