"""Clause verdicts from a run: every clause of harness.clauses, in document order.

A clause takes the worst of its tests' outcomes and its measured steps' verdicts; the run and
each clause group take the worst of their clauses. The rules are in docs/reporting.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from harness.clauses import CLAUSES, GROUPS, Clause
from harness.errors import Category, Outcome
from harness.report.runs import Run, TestRecord, TimingRecord
from harness.report.stats import command_key


class ClauseVerdict(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"  # inside every limit, but a step was above typical or near its limit
    FAIL = "fail"
    ERROR = "error"  # the rig or the harness failed: no verdict on the module
    INTERRUPTED = "interrupted"  # a test of it did not finish: never a pass
    SKIPPED = "skipped"  # tests name it, none ran (a rig capability was missing)
    NOT_RUN = "not run"  # no test of this run names or measured it


class RunVerdict(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # no failure, but rig or harness errors hide some verdicts
    INTERRUPTED = "interrupted"  # no failure, but the run stopped before every test finished
    INCOMPLETE = "incomplete"  # no failure, but some clauses were not run


#: Worst first: how clause verdicts combine.
WORST_FIRST = (
    ClauseVerdict.FAIL,
    ClauseVerdict.ERROR,
    ClauseVerdict.INTERRUPTED,
    ClauseVerdict.MARGINAL,
    ClauseVerdict.PASS,
    ClauseVerdict.SKIPPED,
    ClauseVerdict.NOT_RUN,
)
#: Verdicts that judge the module (the others say it was not judged).
JUDGED = (ClauseVerdict.PASS, ClauseVerdict.MARGINAL, ClauseVerdict.FAIL)


def as_category(value: Category | str | None) -> Category | None:
    """A category from a record (a Category or its name); None for none or an unknown name."""
    if value is None or isinstance(value, Category):
        return value
    try:
        return Category(value)
    except ValueError:
        return None


def category_verdict(category: Category | str | None) -> ClauseVerdict:
    """A failure's verdict by whose fault it is: only the module's failures fail a clause."""
    category = as_category(category)
    if category is Category.INTERRUPTED:
        return ClauseVerdict.INTERRUPTED
    if category is None or category.is_module:
        return ClauseVerdict.FAIL
    return ClauseVerdict.ERROR


def outcome_verdict(test: TestRecord) -> ClauseVerdict:
    """A test outcome as a clause verdict; an expected failure (xfail) is still a deviation."""
    outcome = test.outcome
    if outcome in (Outcome.PASSED, Outcome.XPASSED):
        return ClauseVerdict.PASS
    if outcome in (Outcome.FAILED, Outcome.XFAILED):
        return category_verdict(test.category)
    if outcome == Outcome.SKIPPED:
        return ClauseVerdict.SKIPPED
    if outcome == Outcome.INTERRUPTED or as_category(test.category) is Category.INTERRUPTED:
        return ClauseVerdict.INTERRUPTED
    return ClauseVerdict.ERROR  # "error" (rig, harness, usage) or an outcome we do not know


def timing_verdict(timing: TimingRecord) -> ClauseVerdict:
    if not timing.valid:
        return ClauseVerdict.ERROR  # a time we cannot read never passes
    return {
        "pass": ClauseVerdict.PASS,
        "marginal": ClauseVerdict.MARGINAL,
        "fail": ClauseVerdict.FAIL,
    }.get(timing.verdict, ClauseVerdict.ERROR)


def worst(verdicts: Iterable[ClauseVerdict]) -> ClauseVerdict:
    """The worst of some verdicts; a pass beats skipped/not run (something did run)."""
    present = set(verdicts)
    for verdict in WORST_FIRST:
        if verdict in present:
            return verdict
    return ClauseVerdict.NOT_RUN


@dataclass(frozen=True)
class ClauseRow:
    """One row of the traceability matrix."""

    clause: Clause
    tests: tuple[TestRecord, ...]  # tests whose clause marker names it
    timings: tuple[TimingRecord, ...]  # steps measured against it, by any test (invalid too)
    verdict: ClauseVerdict
    unfinished: int = 0  # its tests the run selected but stopped before running

    @property
    def unfinished_note(self) -> str:
        """Why a clause whose tests all passed is interrupted: the rest never ran."""
        if self.verdict is not ClauseVerdict.INTERRUPTED or not self.unfinished:
            return ""
        ran = len(self.tests)
        return f"{ran} of its {ran + self.unfinished} tests ran before the run stopped"

    @property
    def tightest(self) -> TimingRecord | None:
        """The step with the least margin left (steps without a ceiling do not count)."""
        limited = [(t.margin, t) for t in self.timings if t.margin is not None]
        return min(limited, key=lambda pair: pair[0])[1] if limited else None

    @property
    def slowest(self) -> TimingRecord | None:
        valid = [t for t in self.timings if t.valid]
        return max(valid, key=lambda t: t.measured) if valid else None

    @property
    def deciding(self) -> TimingRecord | None:
        """The step that gives the clause its verdict: the worst step, then the least margin
        (a marginal clause shows the step above its typical band, not a fast one)."""
        if not self.timings:
            return None
        rank = {v: i for i, v in enumerate(WORST_FIRST)}

        def key(t: TimingRecord) -> tuple[int, float, float]:
            margin = t.margin if t.margin is not None else 2.0
            return (rank[timing_verdict(t)], margin, -t.measured if t.valid else 0.0)

        return min(self.timings, key=key)


def clause_rows(run: Run) -> list[ClauseRow]:
    """Every clause in document order with its tests, measured steps and verdict."""
    rows = []
    steps = run.timings + run.invalid
    for clause in CLAUSES.values():
        tests = tuple(t for t in run.tests if clause.id in t.clauses)
        timings = tuple(t for t in steps if t.clause == clause.id)
        verdict = worst([outcome_verdict(t) for t in tests] + [timing_verdict(t) for t in timings])
        # A run that stopped early: some of the clause's tests passed, the rest never ran.
        unfinished = run.info.planned_clauses.get(clause.id, 0) - len(tests)
        if run.interrupted and tests and unfinished > 0:
            verdict = worst([verdict, ClauseVerdict.INTERRUPTED])
        rows.append(ClauseRow(clause, tests, timings, verdict, max(unfinished, 0)))
    return rows


def unknown_clauses(run: Run) -> list[str]:
    """Clause IDs the run names that harness.clauses does not have (a renamed clause?)."""
    named = {c for t in run.tests for c in t.clauses} | {t.clause for t in run.timings}
    return sorted(c for c in named if c and c not in CLAUSES)


def combine(verdicts: Iterable[ClauseVerdict], interrupted: bool = False) -> RunVerdict:
    """Clause verdicts → one verdict for a group or a run (`interrupted`: the run stopped
    early, so even all-passing clauses are not a pass)."""
    present = set(verdicts)
    if ClauseVerdict.FAIL in present:
        return RunVerdict.FAIL
    if ClauseVerdict.ERROR in present:
        return RunVerdict.INCONCLUSIVE
    if interrupted or ClauseVerdict.INTERRUPTED in present:
        return RunVerdict.INTERRUPTED
    if present & {ClauseVerdict.SKIPPED, ClauseVerdict.NOT_RUN} or not present:
        return RunVerdict.INCOMPLETE
    if ClauseVerdict.MARGINAL in present:
        return RunVerdict.MARGINAL
    return RunVerdict.PASS


def run_verdict(run: Run, rows: list[ClauseRow]) -> RunVerdict:
    """The run's verdict: its clauses, plus failing tests that name no clause, and whether the
    run stopped before every test finished."""
    loose = [outcome_verdict(t) for t in run.tests if not any(c in CLAUSES for c in t.clauses)]
    loose = [v for v in loose if v in (ClauseVerdict.FAIL, ClauseVerdict.ERROR)]
    return combine([r.verdict for r in rows] + loose, interrupted=run.interrupted)


@dataclass(frozen=True)
class GroupRow:
    """One clause group (harness.clauses.GROUPS) for the certificate."""

    group: str
    verdict: RunVerdict
    counts: dict[str, int]  # clause verdict → how many clauses
    clauses: tuple[ClauseRow, ...]


def group_rows(rows: list[ClauseRow], interrupted: bool = False) -> list[GroupRow]:
    out = []
    for group in GROUPS:
        members = tuple(r for r in rows if r.clause.group == group)
        counts = {str(v): sum(r.verdict == v for r in members) for v in ClauseVerdict}
        verdict = combine((r.verdict for r in members), interrupted=interrupted)
        out.append(GroupRow(group, verdict, counts, members))
    return out


def tightest_steps(run: Run, n: int = 8) -> list[TimingRecord]:
    """Each command's step with the least margin to its limit; the `n` tightest, first first."""
    best: dict[tuple[str, str], tuple[float, TimingRecord]] = {}
    for t in run.timings:
        margin = t.margin
        if margin is None:
            continue
        key = (t.clause, command_key(t.command))
        if key not in best or margin < best[key][0]:
            best[key] = (margin, t)
    return [t for _, t in sorted(best.values(), key=lambda pair: pair[0])][:n]
