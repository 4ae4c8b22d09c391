"""A run as typed records: the run header, the module, each measured step, each test's outcome;
`ReportError` (one line naming the file and the field) and how a bad value is worded in it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import Category, Outcome, UsageFault
from harness.runrecord import RunStatus

#: run.status values, as harness.runrecord writes them.
RUNNING, COMPLETE = RunStatus.RUNNING, RunStatus.COMPLETE
INTERRUPTED, ABORTED = RunStatus.INTERRUPTED, RunStatus.ABORTED
STATUSES = tuple(RunStatus)
#: A measured step longer than this (module seconds, ~116 days) is a damaged number, not a time.
MAX_SECONDS = 1e7


class ReportError(UsageFault):
    """A user error (bad path, not a run, unreadable record): one line, no traceback."""


@dataclass(frozen=True)
class SimInfo:
    """How a simulated module was set up (run.sim): its profile, seed and mutations."""

    profile: str = ""
    seed: int | None = None
    mutations: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunInfo:
    """The run header of timings.json."""

    id: str
    rig: str = ""
    rig_file: str = ""
    time_scale: float | None = None
    started: str = ""
    finished: str | None = None
    operator: str | None = None
    harness_version: str = ""
    host: str = ""
    status: str = COMPLETE
    stop_reason: str | None = None
    stop_category: Category | None = None  # why the run stopped early (rig fault, interrupted…)
    planned: int | None = None  # tests selected for the run
    #: Clause ID → tests selected that name it: a clause of a run that stopped early passes
    #: only if every one of them ran.
    planned_clauses: dict[str, int] = field(default_factory=dict)
    rig_kind: str = ""  # "sim" or the rig's kind; "" in records older than the field
    sim: SimInfo | None = None
    mutations: tuple[str, ...] = ()

    @property
    def simulated(self) -> bool:
        """A simulated module: nothing it did certifies a real one."""
        if self.rig_kind:  # a labgrid place may hold a simulated module too (run.sim)
            return self.rig_kind == "sim" or self.sim is not None
        return self.sim is not None or self.rig == "sim"

    @property
    def all_mutations(self) -> tuple[str, ...]:
        """Every documented behaviour the simulator broke on purpose in this run."""
        sim = self.sim.mutations if self.sim is not None else ()
        return tuple(dict.fromkeys((*self.mutations, *sim)))

    @property
    def kind(self) -> str:
        """The rig kind, for records older than run.rig_kind: `sim` for the sim rig."""
        return self.rig_kind or ("sim" if self.simulated else self.rig or "unknown")


@dataclass(frozen=True)
class ModuleIdentity:
    """What the module said about itself (the IMEI as recorded: masked but its last 3 digits)."""

    model: str = ""
    revision: str = ""
    firmware: str = ""
    imei: str = ""
    iccid: str = ""


@dataclass(frozen=True)
class TimingRecord:
    """One measured step: module seconds against the documented limit."""

    test: str | None
    clause: str
    command: str
    measured: float
    limit: float | None
    typical: tuple[float, float] | None
    verdict: str
    note: str = ""
    at: float | None = None
    provoked: bool = False

    @property
    def valid(self) -> bool:
        """A time that can be judged and plotted: finite, not negative, not absurd."""
        return math.isfinite(self.measured) and 0 <= self.measured <= MAX_SECONDS

    @property
    def margin(self) -> float | None:
        """Fraction of the limit left (1 = instant, 0 = at the limit, < 0 = exceeded).

        None when there is no limit, the time is invalid, or the sign would contradict the
        recorded verdict (a limit that is a target with a tolerance, like OPT-TCFG's 200 ms,
        is not a ceiling: its step may pass a little above it).
        """
        if not self.limit or not self.valid:
            return None
        left = 1.0 - self.measured / self.limit
        if (left < 0) != (self.verdict == "fail"):
            return None
        return left

    @property
    def ceiling(self) -> bool:
        """Is the limit a ceiling this step is judged against (margins mean something)?"""
        return self.margin is not None


@dataclass(frozen=True)
class TestRecord:
    """One test's outcome; `trace` comes from junit.xml or Allure when they have it."""

    __test__ = False  # a record, not a test class for pytest to collect

    nodeid: str
    clauses: tuple[str, ...] = ()
    outcome: str = ""
    category: Category | None = None
    message: str = ""
    duration: float | None = None
    transcript: str | None = None
    trace: str = ""

    @property
    def failed(self) -> bool:
        """Did it fail or error (any category)?"""
        return self.outcome in (Outcome.FAILED, Outcome.ERROR, Outcome.INTERRUPTED)

    @property
    def module_fault(self) -> bool:
        """Did the module fail it (a module category, or a failure older records left
        uncategorised)?"""
        if self.outcome not in (Outcome.FAILED, Outcome.XFAILED):
            return False
        return self.category is None or self.category.is_module


@dataclass(frozen=True)
class Run:
    """A loaded run directory."""

    path: Path
    info: RunInfo
    module: ModuleIdentity
    timings: tuple[TimingRecord, ...]
    tests: tuple[TestRecord, ...]
    environment: dict[str, str] = field(default_factory=dict)
    #: Steps a test made slow on purpose (an injected fault): shown, never judged.
    provoked: tuple[TimingRecord, ...] = ()
    #: Steps whose time is NaN, infinite, negative or absurd: shown as invalid, never plotted.
    invalid: tuple[TimingRecord, ...] = ()
    #: What was wrong in the record and skipped, one line each.
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def interrupted(self) -> bool:
        """Did the run stop before every selected test finished?"""
        if self.info.status != COMPLETE:
            return True
        if any(t.outcome == Outcome.INTERRUPTED for t in self.tests):
            return True
        return self.info.planned is not None and len(self.tests) < self.info.planned

    def transcript_text(self, test: TestRecord) -> str | None:
        """The test's transcript file, if it exists inside this run directory."""
        if not test.transcript:
            return None
        try:
            path = (self.path / test.transcript).resolve()
            if not path.is_relative_to(self.path.resolve()) or not path.is_file():
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None


def as_float(value: int | float) -> float:
    """A JSON number as a float; an integer too large for one (JSON allows any) is infinite."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def short(value: Any) -> str:
    """A bad value for a one-line message: its repr, clipped."""
    try:
        text = repr(value)
    except ValueError:  # an integer with more digits than Python will print
        return "a number too long to print"
    return text if len(text) <= 40 else text[:37] + "..."
