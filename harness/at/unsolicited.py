"""The channel's API for what comes unasked: URC subscriptions, pushed data, raw bytes."""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.at.urcs import Match, Subscription
from harness.at.wire import Wire
from harness.protocol import Received, Urc, UrcKind


class Unsolicited:
    """URCs (each reader with its own `subscribe()` cursor), pushed data and raw bytes."""

    _wire: Wire

    def subscribe(
        self, kinds: Iterable[UrcKind] | None = None, *, since_ns: int | None = None
    ) -> Subscription:
        """A reader of its own: every URC of `kinds` (None: all) from now on, or from those
        that arrived at or after `since_ns`. What it reads nobody else loses."""
        return self._wire.inbox.urcs.subscribe(kinds, since_ns=since_ns)

    def wait_urc(self, pattern: str | re.Pattern[str] | UrcKind, timeout: float) -> Urc:
        """The oldest URC matching `pattern` (regex search, or a UrcKind) that the channel's
        own reader has not taken, waiting up to `timeout` module seconds; the others stay
        unread. ATTimeout if none comes. Other subscriptions are not affected."""
        return self._wire.inbox.default.wait(timeout, pattern)

    def urcs(self) -> list[Urc]:
        """Take every URC the channel's own reader has not taken."""
        return self._wire.inbox.default.take()

    def drain(self) -> int:
        """Forget the channel's unread URCs, pushed data and possible CLOSED (a new test
        starts clean); how many items were dropped. Other subscriptions keep theirs."""
        return self._wire.inbox.drain()

    def held(self) -> dict[str, int]:
        """How much the channel holds (all bounded): URCs logged and unread by its own reader,
        pushed blocks, transparent-mode bytes, bytes the codec has not parsed yet."""
        wire = self._wire
        unread = len(wire.inbox.default.pending())
        with wire.cond:
            return {
                "urcs logged": len(wire.inbox.urcs),
                "urcs unread": unread,
                "received blocks": len(wire.inbox.received),
                "data bytes": len(wire.inbox.data),
                "unparsed bytes": wire.codec.buffered,
            }

    def wait_received(self, timeout: float) -> Received:
        """The oldest pushed data block (`IPD…:` / `+RECEIVE:`), waiting up to `timeout`."""
        wire = self._wire
        deadline = wire.clock.deadline(timeout)
        with wire.cond:
            while not wire.inbox.received:
                wire.wait_or_raise(deadline, "received data (IPD/+RECEIVE)")
            return wire.inbox.received.popleft()

    def rx_since(self, mark: int, until: bytes = b"", timeout: float = 0.0) -> bytes:
        """Every byte the module printed since transcript `mark`, once `until` is among them,
        waiting up to `timeout` module seconds (a line's last bytes may still be on the way
        when its URC is seen); what came by then if it never is."""
        wire = self._wire
        deadline = wire.clock.deadline(timeout)
        with wire.cond:
            while True:
                got = b"".join(e.data for e in wire.transcript.since(mark) if e.dir == "rx")
                wall = deadline.wall_remaining()
                if until in got or wire.dead is not None or (wall is not None and wall <= 0):
                    return got
                wire.cond.wait(wall)


__all__ = ["Match", "Subscription", "Unsolicited"]
