"""URC subscriptions: one append-only, bounded log of URCs and a cursor per reader.

Like `Transcript.mark()/since()`: reading is never taking from someone else. Each
`Subscription` sees every URC of its kinds from where it started; `wait()` / `take()` mark
what *it* has read, so a Process watching for `+PDP DEACT` and a test waiting for the same
URC both get it. The log keeps the last `keep` URCs; a reader that falls further behind is
told how many it missed.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from harness.at.errors import ATTimeout
from harness.clock import Clock, Deadline
from harness.protocol import Urc, UrcKind

URC_KEEP = 10_000  # URCs the log keeps for readers that have not read them yet

Match = str | re.Pattern[str] | UrcKind


class Waiter(Protocol):
    """Waits (condition held) for news until `deadline`; raises when it passed or the port died."""

    def __call__(self, deadline: Deadline, what: str) -> None: ...


def matcher(pattern: Match | None) -> Callable[[Urc], bool]:
    """A URC test: a UrcKind, a regex searched in the text, or None for any."""
    if pattern is None:
        return lambda u: True
    if isinstance(pattern, UrcKind):
        return lambda u: u.kind is pattern
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    return lambda u: rx.search(u.text) is not None


class UrcLog:
    """Every URC the reader thread saw, in arrival order (appended with `cond` held)."""

    def __init__(
        self,
        cond: threading.Condition,
        clock: Clock,
        waiter: Waiter | None = None,
        keep: int = URC_KEEP,
    ) -> None:
        self.cond = cond
        self.clock = clock
        self.waiter: Waiter = waiter or self._wait
        self._entries: deque[Urc] = deque(maxlen=keep)
        self.first = 0  # the sequence number of the oldest URC kept

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def end(self) -> int:
        """The sequence number the next URC will get."""
        return self.first + len(self._entries)

    def append(self, urc: Urc) -> None:
        """Log one URC (condition held; the caller notifies)."""
        if len(self._entries) == self._entries.maxlen:
            self.first += 1
        self._entries.append(urc)

    def since(self, seq: int) -> Iterator[Urc]:
        """The URCs from sequence number `seq` on (at least `first`)."""
        return itertools.islice(self._entries, max(0, seq - self.first), None)

    def start_of(self, since_ns: int) -> int:
        """The sequence number of the first URC that arrived at or after `since_ns` (arrival
        order is stamp order; a `since_ns` is usually recent, so the search starts at the end)."""
        seq = self.end
        for urc in reversed(self._entries):
            if urc.t_ns < since_ns:
                break
            seq -= 1
        return seq

    def subscribe(
        self, kinds: Iterable[UrcKind] | None = None, *, since_ns: int | None = None
    ) -> Subscription:
        """A reader of `kinds` (None: all) from now on, or from `since_ns` back if given."""
        with self.cond:
            start = self.end if since_ns is None else self.start_of(since_ns)
            return Subscription(self, None if kinds is None else frozenset(kinds), start)

    def _wait(self, deadline: Deadline, what: str) -> None:
        wall = deadline.wall_remaining()
        if wall is not None and wall <= 0:
            raise ATTimeout(f"no {what} within {deadline.seconds:g} s (module time, {self.clock})")
        self.cond.wait(wall)


class Subscription:
    """One reader's cursor into the `UrcLog`: the URCs of its kinds it has not read yet.

    `wait()` returns the oldest unread one that matches and marks it read (others stay
    unread, for this reader); `take()` reads them all; `skip()` forgets them.
    """

    def __init__(self, log: UrcLog, kinds: frozenset[UrcKind] | None, start: int) -> None:
        self.log = log
        self.kinds = kinds
        self._next = start  # every URC before it is read (or not of our kinds)
        self._read: set[int] = set()  # URCs at or after _next read out of order
        self.missed = 0  # URCs (of any kind) the log dropped before this reader got to them

    def __repr__(self) -> str:
        kinds = sorted(self.kinds) if self.kinds is not None else "all"
        return f"Subscription({kinds}, next={self._next})"

    def wait(self, timeout: float, match: Match | None = None) -> Urc:
        """The oldest unread URC (that matches `match`), waiting up to `timeout` module seconds;
        ATTimeout if none comes (PortClosed if the port died)."""
        test = matcher(match)
        deadline = self.log.clock.deadline(timeout)
        what = "a URC" if match is None else f"a URC matching {match!r}"
        with self.log.cond:
            while True:
                for seq, urc in self._unread():
                    if test(urc):
                        self._read.add(seq)
                        return urc
                self.log.waiter(deadline, what)

    def take(self, match: Match | None = None) -> list[Urc]:
        """Every unread URC (that matches `match`), oldest first, now read."""
        test = matcher(match)
        with self.log.cond:
            out = []
            for seq, urc in self._unread():
                if test(urc):
                    self._read.add(seq)
                    out.append(urc)
            return out

    def pending(self) -> list[Urc]:
        """The unread URCs, left unread."""
        with self.log.cond:
            return [urc for _, urc in self._unread()]

    def skip(self) -> int:
        """Mark everything logged so far as read (a new test starts clean); how many were
        unread."""
        with self.log.cond:
            n = len(self._unread())
            self._next = self.log.end
            self._read.clear()
            return n

    def _unread(self) -> list[tuple[int, Urc]]:
        """The unread URCs of our kinds with their sequence numbers (condition held); the
        cursor moves past what is read or not ours before the first of them."""
        log = self.log
        if self._next < log.first:  # the log dropped URCs this reader had not got to
            self.missed += sum(1 for s in range(self._next, log.first) if s not in self._read)
            self._read = {s for s in self._read if s >= log.first}
            self._next = log.first
        unread: list[tuple[int, Urc]] = []
        seq = self._next
        for urc in log.since(seq):
            if seq in self._read or not (self.kinds is None or urc.kind in self.kinds):
                if not unread:  # nothing unread before it: the cursor moves on
                    self._read.discard(seq)
                    self._next = seq + 1
            else:
                unread.append((seq, urc))
            seq += 1
        return unread
