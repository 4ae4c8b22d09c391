"""PWR-BACKOFF: reboot at once, then 10 min, 30 min, 1 h apart while trouble repeats.

The history lives in `<state_dir>/backoff.json` as calendar times, so consecutive runs respect
it; `BackOff.pace()` is what a reboot asks first (and records as its PWR-BACKOFF step).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from harness import limits
from harness.clock import Clock, epoch, stamp
from harness.errors import RigFault
from harness.files import atomic_write
from harness.limits import Timing, Verdict

log = logging.getLogger("modemcert.power")

BACKOFF_FILE = "backoff.json"
BACKOFF_FORMAT = "modemcert-backoff/1"
BACKOFF_KEEP = 50  # reboots kept in the history file
#: A reboot streak ends after this many times the schedule's longest delay without a reboot
#: (2 h at the default schedule): trouble after that is new trouble, rebooted at once.
QUIET_FACTOR = 2.0
#: Module seconds between two progress reports while waiting out the back-off.
WAIT_PROGRESS_STEP = 60.0


class BackOffError(RigFault, RuntimeError):
    """The back-off history cannot be read or written; the message says which file and why."""


class BackOffActive(RigFault, RuntimeError):
    """A reboot is not allowed yet (PWR-BACKOFF); `.decision` says until when. The rig cannot
    go on certifying until then: nothing is blamed on the module."""

    def __init__(self, decision: BackOffDecision) -> None:
        super().__init__(decision.message())
        self.decision = decision


@dataclass(frozen=True)
class RebootRecord:
    at: float  # calendar seconds (epoch)
    reason: str = ""
    scale: float = 1.0
    ignored: bool = False  # made despite the back-off (--ignore-backoff)


@dataclass(frozen=True)
class BackOffDecision:
    """Whether a reboot may happen now; times are module seconds, `next_at` is calendar."""

    allowed: bool
    attempt: int  # 0-based position of the next reboot in the current streak
    delay: float  # what the schedule asks between the previous reboot and this one
    wait: float  # module seconds still to wait (0 when allowed)
    next_at: float  # epoch seconds when it is allowed
    last_at: float | None
    scale: float = 1.0

    def message(self) -> str:
        if self.allowed:
            return f"PWR-BACKOFF: reboot {self.attempt + 1} of this streak is allowed now"
        wall = ""
        if self.scale != 1.0:
            wall = f" of module time ({self.wait * self.scale:.1f} s wall at scale {self.scale:g})"
        return (
            f"PWR-BACKOFF: reboot {self.attempt + 1} of this streak must wait "
            f"{_duration(self.delay)} after the previous one ({_when(self.last_at)}); "
            f"next reboot allowed at {_when(self.next_at)}, in {_duration(self.wait)}{wall}; "
            "use --ignore-backoff at the bench"
        )


def _when(t: float | None) -> str:
    if t is None:
        return "never"
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: float) -> str:
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h} h"] * bool(h) + [f"{m} min"] * bool(m) + [f"{s} s"] * bool(s or not (h or m))
    return " ".join(parts)


class BackOff:
    """PWR-BACKOFF: reboot at once, then 10 min, 30 min, 1 h apart while trouble repeats.

    The history lives in `<state_dir>/backoff.json` as calendar times, so consecutive runs
    respect it; gaps are turned into module seconds with the clock's scale.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike,
        clock: Clock,
        schedule: Sequence[float] = limits.BACKOFF,
        *,
        quiet: float | None = None,
        ignore: bool = False,
        now: Callable[[], float] = epoch,
    ) -> None:
        if not schedule or any(d < 0 for d in schedule):
            raise ValueError(f"a back-off schedule is non-negative delays, not {schedule!r}")
        self.path = Path(state_dir) / BACKOFF_FILE
        self.clock = clock
        self.schedule = tuple(float(d) for d in schedule)
        self.quiet = QUIET_FACTOR * max(self.schedule) if quiet is None else float(quiet)
        self.ignore = ignore
        self._now = now

    def __repr__(self) -> str:
        return f"BackOff({str(self.path)!r}, schedule={self.schedule})"

    # -- the history file ---------------------------------------------------------------------
    def history(self) -> list[RebootRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as e:
            raise BackOffError(f"cannot read {self.path}: {e.strerror or e}") from None
        try:
            data = json.loads(text)
            if data.get("format") != BACKOFF_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {BACKOFF_FORMAT!r}")
            return [RebootRecord(**r) for r in data["reboots"]]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise BackOffError(
                f"{self.path} is not a back-off history ({e}); fix it, or delete it to forget "
                "past reboots (the next reboot is then allowed at once)"
            ) from None

    def _write(self, records: list[RebootRecord]) -> None:
        data = {
            "format": BACKOFF_FORMAT,
            "reboots": [r.__dict__ for r in records[-BACKOFF_KEEP:]],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(data, indent=1))
        except OSError as e:
            raise BackOffError(
                f"cannot write the back-off history {self.path}: {e.strerror or e}; make the "
                "rig's state_dir writable (e.g. sudo install -d -o $USER <dir>)"
            ) from None

    # -- deciding -----------------------------------------------------------------------------
    def _module(self, wall_seconds: float) -> float:
        return self.clock.to_module(wall_seconds)

    def streak(self, records: list[RebootRecord] | None = None) -> list[RebootRecord]:
        """The reboots of the current run of trouble: none once it has been quiet long enough."""
        records = self.history() if records is None else records
        if not records or self._module(self._now() - records[-1].at) > self.quiet:
            return []
        run = [records[-1]]
        for earlier in reversed(records[:-1]):
            if self._module(run[0].at - earlier.at) > self.quiet:
                break
            run.insert(0, earlier)
        return run

    def decision(self) -> BackOffDecision:
        """May the module be rebooted now, and if not, when."""
        run = self.streak()
        now = self._now()
        attempt = len(run)
        delay = self.schedule[min(attempt, len(self.schedule) - 1)]
        if not run:
            return BackOffDecision(True, 0, delay, 0.0, now, None, self.clock.scale)
        last = run[-1].at
        next_at = last + self.clock.to_wall(delay)
        wait = max(0.0, self._module(next_at - now))
        return BackOffDecision(wait <= 0, attempt, delay, wait, next_at, last, self.clock.scale)

    def check(self) -> BackOffDecision:
        """The decision; raises `BackOffActive` if a reboot must wait (unless `ignore`)."""
        d = self.decision()
        if not d.allowed:
            if not self.ignore:
                raise BackOffActive(d)
            log.warning("%s (ignored)", d.message())
        return d

    def record(self, reason: str = "") -> RebootRecord:
        """Write down a reboot made now (call it when the reboot starts)."""
        records = self.history()
        allowed = self.decision().allowed
        entry = RebootRecord(self._now(), reason, self.clock.scale, ignored=not allowed)
        self._write([*records, entry])
        return entry

    def wait(
        self,
        progress: Callable[[BackOffDecision], None] | None = None,
        cancel: threading.Event | None = None,
        step: float = WAIT_PROGRESS_STEP,
    ) -> BackOffDecision:
        """Wait (module time) until a reboot is allowed, calling `progress` every `step`."""
        while True:
            d = self.decision()
            if d.allowed or self.ignore:
                return d
            if progress is not None:
                progress(d)
            if not self.clock.sleep(min(step, d.wait), cancel=cancel):
                raise BackOffActive(d)

    def pace(
        self,
        reason: str = "",
        *,
        wait: bool = False,
        progress: Callable[[BackOffDecision], None] | None = None,
    ) -> Timing:
        """What a reboot asks first: wait until it is allowed (`wait`) or refuse it
        (`BackOffActive`), then record it; returns the PWR-BACKOFF step as a Timing."""
        asked = stamp()
        first = self.decision()
        decision = self.wait(progress) if wait else self.check()
        waited = self.clock.since(asked)
        entry = self.record(reason)
        why = decision.message()
        if not first.allowed and decision.allowed:
            why = f"waited {_duration(waited)} for it; {why}"
        if entry.ignored:
            why = f"{first.message()} (ignored)"
        # The harness's own pacing, recorded so the report shows when and why it waited.
        return Timing(
            "PWR-BACKOFF",
            "reboot back-off",
            waited,
            None,
            None,
            # Ignoring the back-off is the operator's choice, not the module's failure.
            Verdict.MARGINAL if entry.ignored else Verdict.PASS,
            f"{reason}: {why}" if reason else why,
        )

    def reset(self) -> None:
        """Forget the history (the module is healthy again, by the caller's judgement)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
