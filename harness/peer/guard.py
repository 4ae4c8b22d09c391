"""What keeps a reachable peer usable: its limits, per-source quotas, and a log that cannot flood.

`PeerLimits` holds every limit (each an option of `modemcert peer`); `Crowd` counts members per
source address and says whom to turn away; `LogLimiter` keeps a flood of refusals to a few lines.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from harness.clock import stamp

#: Wall seconds an unauthenticated client has to send its whole request head.
HEAD_WALL = 2.0
#: Wall seconds an authenticated client has to send its body, and to take our answer.
BODY_WALL = 15.0
#: Control connections from one address still sending their head (not yet authenticated).
CONTROL_PER_SOURCE = 8
#: The same over all addresses.
CONTROL_PENDING = 256
#: Authenticated control requests served at once (long polls hold one each); more get 503.
CONTROL_CLIENTS = 32
#: Open TCP connections, and tracked UDP addresses, per source address on the data port.
DATA_PER_SOURCE = 64
#: Open TCP connections in all (a VPS port attracts scanners).
DATA_OPEN = 1000
#: Remote UDP addresses tracked at once.
UDP_FLOWS = 1000
#: Refusals logged per LOG_WINDOW_WALL; the rest are counted in one line.
LOG_BURST = 20
LOG_WINDOW_WALL = 60.0


@dataclass(frozen=True)
class PeerLimits:
    """The peer's limits; `idle_timeout` (module seconds, None = off) ends silent data
    connections, the rest bound what any client (with or without the token) can hold."""

    head_wall: float = HEAD_WALL
    body_wall: float = BODY_WALL
    control_per_source: int = CONTROL_PER_SOURCE
    control_pending: int = CONTROL_PENDING
    control_clients: int = CONTROL_CLIENTS
    data_per_source: int = DATA_PER_SOURCE
    data_open: int = DATA_OPEN
    udp_flows: int = UDP_FLOWS
    idle_timeout: float | None = None

    def __post_init__(self) -> None:
        for name in ("head_wall", "body_wall"):
            _positive(name, getattr(self, name))
        if self.idle_timeout is not None:
            _positive("idle_timeout", self.idle_timeout)
        for name in (
            "control_per_source",
            "control_pending",
            "control_clients",
            "data_per_source",
            "data_open",
            "udp_flows",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number ≥ 1, not {value!r}")
        if self.control_per_source > self.control_pending:
            raise ValueError(
                f"control_per_source ({self.control_per_source}) is over control_pending "
                f"({self.control_pending})"
            )
        if self.data_per_source > self.data_open:
            raise ValueError(
                f"data_per_source ({self.data_per_source}) is over data_open ({self.data_open})"
            )

    def descriptors(self) -> int:
        """File descriptors the peer may hold at its limits (plus listeners and slack)."""
        return self.data_open + self.control_pending + self.control_clients + 32


def _positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be above 0 seconds and finite, not {value!r}")


T = TypeVar("T", bound=Hashable)


class Crowd(Generic[T]):
    """Members grouped by source address, oldest first, within a per-source and a total quota.

    `admit` says who must go to let a newcomer in: over its source's quota, its own oldest
    (`own="evict"`) or the newcomer itself (`own="refuse"`); over the total, the oldest of the
    address holding the most, so one address cannot crowd out another.
    """

    def __init__(self, per_source: int, total: int, own: str = "evict") -> None:
        if own not in ("evict", "refuse"):
            raise ValueError(f"own={own!r}: use evict or refuse")
        self.per_source = per_source
        self.total = total
        self.own = own
        self._by_source: dict[str, OrderedDict[T, None]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def count(self, source: str) -> int:
        members = self._by_source.get(source)
        return len(members) if members else 0

    def sources(self) -> int:
        return len(self._by_source)

    def admit(
        self, source: str, member: T, spare: Callable[[T], bool] | None = None
    ) -> tuple[bool, list[T]]:
        """Let `member` in if it may; (admitted, members removed to make room). Members for
        which `spare` is true go last (with `evict`: the ones already sending their request)."""
        gone: list[T] = []
        if self.count(source) >= self.per_source:
            if self.own == "refuse":
                return False, gone
            gone.append(self._pop_oldest(source, spare))
        if self._count >= self.total:
            biggest = max(self._by_source, key=lambda s: len(self._by_source[s]))
            if self.own == "refuse" and len(self._by_source[biggest]) <= self.count(source) + 1:
                return False, gone  # no address holds more than the newcomer's would
            gone.append(self._pop_oldest(biggest, spare))
        self._by_source.setdefault(source, OrderedDict())[member] = None
        self._count += 1
        return True, gone

    def leave(self, source: str, member: T) -> bool:
        """Forget `member` (it ended); False if it was not (or no longer) counted."""
        members = self._by_source.get(source)
        if not members or member not in members:
            return False
        del members[member]
        self._count -= 1
        if not members:
            del self._by_source[source]
        return True

    def _pop_oldest(self, source: str, spare: Callable[[T], bool] | None = None) -> T:
        members = self._by_source[source]
        victim = next((m for m in members if not spare(m)), None) if spare else None
        if victim is None:
            victim = next(iter(members))
        del members[victim]
        self._count -= 1
        if not members:
            del self._by_source[source]
        return victim


class LogLimiter:
    """At most `burst` lines per `window` wall seconds for each kind; then one line that counts
    the rest, so a flood of refusals cannot fill a disk or drown the useful lines."""

    def __init__(
        self, log: Callable[[str], None], burst: int = LOG_BURST, window: float = LOG_WINDOW_WALL
    ) -> None:
        self._log = log
        self.burst = burst
        self.window = window
        self.window_ns = int(window * 1e9)
        self._start: dict[str, int] = {}
        self._shown: dict[str, int] = {}
        self._hidden: dict[str, int] = {}

    def __call__(self, kind: str, line: str) -> bool:
        """Log `line` unless `kind` is over its burst; True if it was logged."""
        now = stamp()
        start = self._start.get(kind)
        if start is None or now - start >= self.window_ns:
            self._flush(kind)
            self._start[kind] = now
            self._shown[kind] = 0
        if self._shown[kind] < self.burst:
            self._shown[kind] += 1
            self._log(line)
            return True
        self._hidden[kind] = self._hidden.get(kind, 0) + 1
        return False

    def flush(self) -> None:
        """Log the counts of lines held back (at stop, and when a window rolls over)."""
        for kind in list(self._hidden):
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        hidden = self._hidden.pop(kind, 0)
        if hidden:
            self._log(
                f"{kind}: {hidden} more not shown (at most {self.burst} lines per "
                f"{self.window:g} s)"
            )
