"""Module time: one monotonic clock with a scale factor (DESIGN "Time").

Wall seconds = module seconds × scale: 1.0 on hardware, e.g. 0.02 on the sim rig so the
AT+QIACT limit (limits.QIACT) costs 3.6 s. Every wait and every timestamp goes through here.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

#: Scales outside this range make no sense: below it thread scheduling noise dominates
#: module time; above it the "compressed" run would be slower than the real module.
MIN_SCALE = 0.001
MAX_SCALE = 1.0
#: Wall seconds a stamp may be late on a loaded host (scheduling, a thread's wake-up); with a
#: time scale a step measured in module time is uncertain by this much divided by the scale.
HOST_JITTER_WALL = 0.005
#: Wall seconds a thread holding the GIL runs before one waiting for it gets it (Python's
#: default is 5 ms): the station shortens it so a pulse edge or a stamp is not kept waiting.
GIL_SWITCH_WALL = 0.0005


def prompt_threads() -> None:
    """Hand the GIL over within `GIL_SWITCH_WALL` (never lengthen a shorter interval): a
    waiting reader stamps its bytes, or a pulse edge is driven, without a 5 ms queue."""
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_WALL))


def stamp() -> int:
    """A raw monotonic timestamp in nanoseconds; take it where the bytes arrive."""
    return time.monotonic_ns()


def epoch() -> float:
    """Calendar time (seconds since 1970), for records that must survive a restart."""
    return time.time()


def epoch_of(t_ns: int) -> float:
    """The calendar time of a `stamp()` value (reports place steps on a wall-clock axis)."""
    return time.time() - (time.monotonic_ns() - t_ns) / 1e9


class Clock:
    """Monotonic module time at a fixed scale; shared by the harness and the simulator."""

    def __init__(self, scale: float = 1.0) -> None:
        if not (MIN_SCALE <= scale <= MAX_SCALE):
            raise ValueError(
                f"time scale {scale!r} is outside {MIN_SCALE}..{MAX_SCALE} "
                "(1.0 on hardware; e.g. 0.02 on the sim rig)"
            )
        self.scale = float(scale)
        self._origin = stamp()

    def __repr__(self) -> str:
        return f"Clock(scale={self.scale})"

    # -- reading -------------------------------------------------------------------------
    def now(self) -> float:
        """Module seconds since this clock was made."""
        return self.module_between(self._origin, stamp())

    def module_between(self, start_ns: int, end_ns: int) -> float:
        """Module seconds between two `stamp()` values."""
        return (end_ns - start_ns) / 1e9 / self.scale

    def since(self, start_ns: int) -> float:
        """Module seconds elapsed since a `stamp()` value."""
        return self.module_between(start_ns, stamp())

    def at(self, t_ns: int) -> float:
        """A `stamp()` value as module seconds on this clock's axis (comparable to `now()`)."""
        return self.module_between(self._origin, t_ns)

    # -- converting ----------------------------------------------------------------------
    def to_wall(self, module_seconds: float) -> float:
        return module_seconds * self.scale

    def to_module(self, wall_seconds: float) -> float:
        return wall_seconds / self.scale

    # -- waiting -------------------------------------------------------------------------
    def deadline(self, module_seconds: float | None) -> Deadline:
        """A deadline `module_seconds` from now (None: never)."""
        return Deadline(self, module_seconds)

    def sleep(self, module_seconds: float, cancel: threading.Event | None = None) -> bool:
        """Sleep in module time; returns False early if `cancel` is set."""
        wall = max(0.0, self.to_wall(module_seconds))
        if cancel is None:
            time.sleep(wall)
            return True
        return not cancel.wait(wall)

    def wait(self, event: threading.Event, module_seconds: float | None) -> bool:
        """Wait for `event` for at most `module_seconds` (None: forever)."""
        return event.wait(None if module_seconds is None else self.to_wall(module_seconds))


@dataclass
class Deadline:
    """A point in module time; `remaining()` in module seconds, `wall_remaining()` for OS waits."""

    clock: Clock
    seconds: float | None
    start_ns: int = field(default_factory=stamp)

    def elapsed(self) -> float:
        return self.clock.since(self.start_ns)

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return max(0.0, self.seconds - self.elapsed())

    def wall_remaining(self) -> float | None:
        left = self.remaining()
        return None if left is None else self.clock.to_wall(left)

    @property
    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0.0
