"""Two runs compared for the supplier: clause verdicts that changed, commands that got slower.

A command's timing "moved beyond noise" when its median moved by more than
    max(NOISE_FLOOR, RELATIVE_FLOOR × old median, SCHEDULER_JITTER / time scale, K × σ)
where σ is the larger of the two runs' robust spreads (MAD × 1.4826). Medians and MADs ignore
a wild value or two, and K = 3 keeps run-to-run noise from being reported (docs/reporting.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.report.runs import Run
from harness.report.stats import CommandStats, command_stats
from harness.report.verdicts import ClauseRow, ClauseVerdict, clause_rows

#: Below this many module seconds a median shift is never news.
NOISE_FLOOR = 0.5
#: Nor below this fraction of the old median.
RELATIVE_FLOOR = 0.2
#: Thread scheduling jitter on the host, in wall seconds; ÷ time scale gives module seconds.
SCHEDULER_JITTER = 0.01
#: Spreads (robust standard deviations) a median must move by.
K = 3.0

#: Verdicts that say something about the module; a change involving any other verdict is a
#: coverage change (the clause ran in one run only, or a rig error hid its verdict).
_JUDGED = (ClauseVerdict.PASS, ClauseVerdict.MARGINAL, ClauseVerdict.FAIL)


@dataclass(frozen=True)
class ClauseChange:
    """A clause whose verdict differs between the runs."""

    clause: ClauseRow  # the new run's row (its clause, tests and timings)
    old: ClauseVerdict
    new: ClauseVerdict
    kind: str  # "regression", "fix", "margin" or "coverage"


@dataclass(frozen=True)
class TimingShift:
    """One command in both runs; `kind` is "slower", "faster" or "steady"."""

    command: str
    old: CommandStats
    new: CommandStats
    threshold: float
    kind: str

    @property
    def delta(self) -> float:
        return self.new.median - self.old.median

    @property
    def limit(self) -> float | None:
        return self.new.limit if self.new.limit is not None else self.old.limit


@dataclass(frozen=True)
class Comparison:
    old: Run
    new: Run
    clause_changes: tuple[ClauseChange, ...]
    shifts: tuple[TimingShift, ...]
    only_old: tuple[CommandStats, ...]  # commands measured in OLD only
    only_new: tuple[CommandStats, ...]

    def _changes(self, kind: str) -> list[ClauseChange]:
        return [c for c in self.clause_changes if c.kind == kind]

    @property
    def regressions(self) -> list[ClauseChange]:
        return self._changes("regression")

    @property
    def fixes(self) -> list[ClauseChange]:
        return self._changes("fix")

    @property
    def margin(self) -> list[ClauseChange]:
        return self._changes("margin")

    @property
    def coverage(self) -> list[ClauseChange]:
        return self._changes("coverage")

    @property
    def slower(self) -> list[TimingShift]:
        return [s for s in self.shifts if s.kind == "slower"]

    @property
    def faster(self) -> list[TimingShift]:
        return [s for s in self.shifts if s.kind == "faster"]

    @property
    def regressed(self) -> bool:
        """Something got worse: a clause now fails, or a command is slower beyond noise."""
        return bool(self.regressions or self.slower)


def noise_threshold(old: CommandStats, new: CommandStats, scales: tuple[float, ...]) -> float:
    """How far a median must move to count as a real change (module seconds)."""
    jitter = max((SCHEDULER_JITTER / s for s in scales if s), default=0.0)
    return max(
        NOISE_FLOOR,
        RELATIVE_FLOOR * abs(old.median),
        jitter,
        K * max(old.sigma, new.sigma),
    )


def classify(old: CommandStats, new: CommandStats, scales: tuple[float, ...]) -> TimingShift:
    threshold = noise_threshold(old, new, scales)
    delta = new.median - old.median
    kind = "slower" if delta > threshold else "faster" if -delta > threshold else "steady"
    return TimingShift(new.command, old, new, threshold, kind)


def clause_change(row_old: ClauseRow, row_new: ClauseRow) -> ClauseChange | None:
    old, new = row_old.verdict, row_new.verdict
    if old == new:
        return None
    if old not in _JUDGED or new not in _JUDGED:
        kind = "coverage"
    elif new == ClauseVerdict.FAIL:
        kind = "regression"
    elif old == ClauseVerdict.FAIL:
        kind = "fix"
    else:
        # pass <-> marginal is one step crossing the typical band: the timing analysis, which
        # knows the noise, decides whether that command really got slower.
        kind = "margin"
    return ClauseChange(row_new, old, new, kind)


def compare_runs(old: Run, new: Run) -> Comparison:
    """Clause changes (regressions, fixes, margin, coverage, in that order) and timing shifts."""
    changes = [
        c
        for a, b in zip(clause_rows(old), clause_rows(new), strict=True)
        if (c := clause_change(a, b)) is not None
    ]
    order = {"regression": 0, "fix": 1, "margin": 2, "coverage": 3}
    changes.sort(key=lambda c: order[c.kind])  # stable: document order within a kind
    stats_old, stats_new = command_stats(old.timings), command_stats(new.timings)
    scales = tuple(s for s in (old.info.time_scale, new.info.time_scale) if s)
    shifts = [classify(stats_old[k], stats_new[k], scales) for k in stats_new if k in stats_old]
    return Comparison(
        old=old,
        new=new,
        clause_changes=tuple(changes),
        shifts=tuple(shifts),
        only_old=tuple(s for k, s in stats_old.items() if k not in stats_new),
        only_new=tuple(s for k, s in stats_new.items() if k not in stats_old),
    )
