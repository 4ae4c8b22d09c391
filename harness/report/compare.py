"""Two runs compared for the supplier: what differs between the runs, why clauses now fail, and
which commands got slower beyond run-to-run noise.

Clauses that now fail are grouped by cause (harness/report/causes.py): one slow AT+QICLOSE is
one finding with the clauses it broke under it. A command's timing "moved beyond noise" when
both runs measured it at least MIN_SAMPLES times and its median moved by more than
    max(NOISE_FLOOR, RELATIVE_FLOOR × old median, SCHEDULER_JITTER / time scale, K × σ)
where σ is the larger of the two runs' robust spreads (MAD × 1.4826). Runs that differ in rig
kind, model or time scale are not comparable; clauses OLD judged and NEW did not are lost
coverage (docs/reporting.md has the exit codes).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ExitCode
from harness.report.causes import Finding, findings
from harness.report.runs import Run
from harness.report.stats import CommandStats, command_stats
from harness.report.verdicts import JUDGED, ClauseRow, ClauseVerdict, clause_rows

#: Below this many module seconds a median shift is never news.
NOISE_FLOOR = 0.5
#: Nor below this fraction of the old median.
RELATIVE_FLOOR = 0.2
#: Thread scheduling jitter on the host, in wall seconds; ÷ time scale gives module seconds.
SCHEDULER_JITTER = 0.01
#: Spreads (robust standard deviations) a median must move by.
K = 3.0
#: Measurements each run needs before a command may be called slower or faster.
MIN_SAMPLES = 5

#: Kinds of clause change, in the order the report lists them.
REGRESSION, FIX, MARGIN, LOST, GAINED, UNJUDGED = (
    "regression",
    "fix",
    "margin",
    "lost",
    "gained",
    "unjudged",
)
CHANGE_ORDER = (REGRESSION, FIX, MARGIN, LOST, GAINED, UNJUDGED)

#: Timing shift kinds.
SLOWER, FASTER, STEADY, TOO_FEW = "slower", "faster", "steady", "too few"
#: Which part of the noise threshold was the largest ("which test decided it").
RULE_FLOOR, RULE_RELATIVE, RULE_JITTER, RULE_SPREAD = "floor", "relative", "jitter", "spread"


@dataclass(frozen=True)
class ClauseChange:
    """A clause whose verdict differs between the runs."""

    clause: ClauseRow  # the new run's row (its clause, tests and timings)
    old: ClauseVerdict
    new: ClauseVerdict
    kind: str


@dataclass(frozen=True)
class TimingShift:
    """One command in both runs; `kind` is slower, faster, steady or too few (samples)."""

    command: str
    old: CommandStats
    new: CommandStats
    threshold: float
    kind: str
    rule: str = RULE_FLOOR  # the part of the threshold that decided it

    @property
    def delta(self) -> float:
        return self.new.median - self.old.median

    @property
    def limit(self) -> float | None:
        return self.new.limit if self.new.limit is not None else self.old.limit

    @property
    def deciding_tests(self) -> tuple[str, ...]:
        """The NEW run's tests whose measurements lie beyond OLD's median + threshold (for a
        slower command) or below OLD's median − threshold (faster)."""
        if self.kind not in (SLOWER, FASTER):
            return ()
        sign = 1 if self.kind == SLOWER else -1
        edge = self.old.median + sign * self.threshold
        pairs = zip(self.new.values, self.new.tests or [None] * self.new.n, strict=False)
        picked = [t for v, t in pairs if sign * (v - edge) > 0]
        return tuple(dict.fromkeys(t or "" for t in picked))  # "": a step between tests


@dataclass(frozen=True)
class Difference:
    """Something the two runs differ in besides the module's behaviour."""

    what: str  # "rig kind", "model", "revision", "firmware", "time scale", "mutations"
    old: str
    new: str
    blocking: bool  # the runs are not comparable


@dataclass(frozen=True)
class Comparison:
    old: Run
    new: Run
    clause_changes: tuple[ClauseChange, ...]
    shifts: tuple[TimingShift, ...]
    only_old: tuple[CommandStats, ...]  # commands measured in OLD only
    only_new: tuple[CommandStats, ...]
    differences: tuple[Difference, ...] = ()
    causes: tuple[Finding, ...] = ()  # why the regressed clauses fail in NEW
    same_run: bool = False

    def _changes(self, kind: str) -> list[ClauseChange]:
        return [c for c in self.clause_changes if c.kind == kind]

    @property
    def regressions(self) -> list[ClauseChange]:
        return self._changes(REGRESSION)

    @property
    def fixes(self) -> list[ClauseChange]:
        return self._changes(FIX)

    @property
    def margin(self) -> list[ClauseChange]:
        return self._changes(MARGIN)

    @property
    def lost(self) -> list[ClauseChange]:
        """Clauses OLD judged that NEW did not: coverage the NEW run lost."""
        return self._changes(LOST)

    @property
    def coverage(self) -> list[ClauseChange]:
        """Every change of what was judged (lost, gained, or between two unjudged verdicts)."""
        return [c for c in self.clause_changes if c.kind in (LOST, GAINED, UNJUDGED)]

    @property
    def slower(self) -> list[TimingShift]:
        return [s for s in self.shifts if s.kind == SLOWER]

    @property
    def faster(self) -> list[TimingShift]:
        return [s for s in self.shifts if s.kind == FASTER]

    @property
    def blocking(self) -> list[Difference]:
        return [d for d in self.differences if d.blocking]

    @property
    def comparable(self) -> bool:
        return not self.blocking

    @property
    def regressed(self) -> bool:
        """Something got worse: a clause now fails, or a command is slower beyond noise."""
        return bool(self.regressions or self.slower)

    @property
    def exit_code(self) -> ExitCode:
        """2 not comparable, 1 regressed, 4 coverage lost, 0 otherwise (docs/reporting.md)."""
        if not self.comparable:
            return ExitCode.USAGE
        if self.regressed:
            return ExitCode.MODULE_FAILED
        if self.lost:
            return ExitCode.INTERRUPTED
        return ExitCode.PASSED


def noise_parts(old: CommandStats, new: CommandStats, scales: tuple[float, ...]) -> dict:
    """Each part of the noise threshold, module seconds, by rule name."""
    jitter = max((SCHEDULER_JITTER / s for s in scales if s), default=0.0)
    return {
        RULE_FLOOR: NOISE_FLOOR,
        RULE_RELATIVE: RELATIVE_FLOOR * abs(old.median),
        RULE_JITTER: jitter,
        RULE_SPREAD: K * max(old.sigma, new.sigma),
    }


def noise_threshold(old: CommandStats, new: CommandStats, scales: tuple[float, ...]) -> float:
    """How far a median must move to count as a real change (module seconds)."""
    return max(noise_parts(old, new, scales).values())


def classify(old: CommandStats, new: CommandStats, scales: tuple[float, ...]) -> TimingShift:
    parts = noise_parts(old, new, scales)
    rule = max(parts, key=parts.__getitem__)
    threshold = parts[rule]
    if old.n < MIN_SAMPLES or new.n < MIN_SAMPLES:
        return TimingShift(new.command, old, new, threshold, TOO_FEW, rule)
    delta = new.median - old.median
    kind = SLOWER if delta > threshold else FASTER if -delta > threshold else STEADY
    return TimingShift(new.command, old, new, threshold, kind, rule)


def clause_change(row_old: ClauseRow, row_new: ClauseRow) -> ClauseChange | None:
    old, new = row_old.verdict, row_new.verdict
    if old == new:
        return None
    if new == ClauseVerdict.FAIL:
        kind = REGRESSION  # it fails now and did not before (passed, or was not judged)
    elif old == ClauseVerdict.FAIL and new in JUDGED:
        kind = FIX
    elif old in JUDGED and new in JUDGED:
        # pass <-> marginal is one step crossing the typical band: the timing analysis, which
        # knows the noise, decides whether that command really got slower.
        kind = MARGIN
    elif old in JUDGED:
        kind = LOST
    elif new in JUDGED:
        kind = GAINED
    else:
        kind = UNJUDGED
    return ClauseChange(row_new, old, new, kind)


def differences(old: Run, new: Run) -> list[Difference]:
    """What differs between the runs besides the module's behaviour; blocking ones make the
    comparison meaningless (a different kind of rig, model or time scale)."""
    out = []

    def differ(what: str, a: str, b: str, blocking: bool) -> None:
        if a != b:
            out.append(Difference(what, a or "—", b or "—", blocking))

    differ("rig kind", old.info.kind, new.info.kind, True)
    if old.module.model and new.module.model:
        differ("model", old.module.model, new.module.model, True)
    differ("revision", old.module.revision, new.module.revision, False)
    differ("firmware", old.module.firmware, new.module.firmware, False)

    def scale(run: Run) -> str:
        return "" if run.info.time_scale is None else f"{run.info.time_scale:g}"

    differ("time scale", scale(old), scale(new), True)
    differ("mutations", ", ".join(old.info.all_mutations), ", ".join(new.info.all_mutations), False)
    return out


def compare_runs(old: Run, new: Run) -> Comparison:
    """Differences, clause changes (in CHANGE_ORDER), their causes, and timing shifts."""
    rows_old, rows_new = clause_rows(old), clause_rows(new)
    changes = [
        c for a, b in zip(rows_old, rows_new, strict=True) if (c := clause_change(a, b)) is not None
    ]
    changes.sort(key=lambda c: CHANGE_ORDER.index(c.kind))  # stable: document order within
    stats_old, stats_new = command_stats(old.timings), command_stats(new.timings)
    scales = tuple(s for s in (old.info.time_scale, new.info.time_scale) if s)
    shifts = [classify(stats_old[k], stats_new[k], scales) for k in stats_new if k in stats_old]
    regressed = [c.clause.clause.id for c in changes if c.kind == REGRESSION]
    same = old.path.resolve() == new.path.resolve()
    return Comparison(
        old=old,
        new=new,
        clause_changes=tuple(changes),
        shifts=tuple(shifts),
        only_old=tuple(s for k, s in stats_old.items() if k not in stats_new),
        only_new=tuple(s for k, s in stats_new.items() if k not in stats_old),
        differences=tuple(differences(old, new)),
        causes=tuple(findings(new, rows_new, regressed)),
        same_run=same,
    )
