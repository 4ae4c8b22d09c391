"""What came unasked: the URC log, pushed data blocks, transparent-mode bytes and the
possible CLOSED seen in them. Filled by the reader thread, read by whoever asks.
"""

from __future__ import annotations

import threading
from collections import deque

from harness.at.urcs import URC_KEEP, Subscription, UrcLog, Waiter
from harness.clock import Clock
from harness.protocol import PossibleClosed, Received, Urc

DATA_KEEP = 1 << 20  # transparent-mode bytes kept if nobody reads them


class Inbox:
    """The unsolicited side of one channel; `drain()` takes the condition itself, the other
    methods want it held."""

    def __init__(self, cond: threading.Condition, clock: Clock, waiter: Waiter) -> None:
        self.urcs = UrcLog(cond, clock, waiter)
        self.default: Subscription = self.urcs.subscribe()  # the channel's own reader
        self.received: deque[Received] = deque(maxlen=URC_KEEP)
        self.possible: deque[PossibleClosed] = deque(maxlen=URC_KEEP)
        self.data = bytearray()

    def urc(self, urc: Urc) -> None:
        self.urcs.append(urc)

    def add_data(self, data: bytes) -> int:
        """Keep transparent-mode bytes; how many old unread ones were dropped (DATA_KEEP)."""
        self.data += data
        dropped = max(0, len(self.data) - DATA_KEEP)
        if dropped:
            del self.data[:dropped]
        return dropped

    def take_data(self, max_bytes: int | None) -> bytes:
        n = len(self.data) if max_bytes is None else max_bytes
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def take_possible(self) -> list[PossibleClosed]:
        out = list(self.possible)
        self.possible.clear()
        return out

    def drain(self) -> int:
        """Forget the default reader's unread URCs, pushed data and possible CLOSED; how many
        items were dropped (other subscriptions keep theirs)."""
        n = self.default.skip()
        with self.urcs.cond:
            n += len(self.received) + len(self.possible) + len(self.data)
            self.received.clear()
            self.possible.clear()
            self.data.clear()
        return n
