"""Clause verdicts from a run: every clause of harness.clauses, in document order.

A clause takes the worst of its tests' outcomes and its measured steps' verdicts; the run and
each clause group take the worst of their clauses. The rules are in docs/reporting.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from harness.clauses import CLAUSES, GROUPS, Clause
from harness.report.runs import Run, TestRecord, TimingRecord
from harness.report.stats import command_key


class ClauseVerdict(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"  # inside every limit, but a step was above typical or near its limit
    FAIL = "fail"
    ERROR = "error"  # the rig or the harness failed: no verdict on the module
    SKIPPED = "skipped"  # tests name it, none ran (a rig capability was missing)
    NOT_RUN = "not run"  # no test of this run names or measured it


class RunVerdict(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # no failure, but rig or harness errors hide some verdicts
    INCOMPLETE = "incomplete"  # no failure, but some clauses were not run


#: Failure categories (the Allure categories) that say nothing about the module.
NOT_THE_MODULE = ("rig fault", "harness error")

#: Worst first: how clause verdicts combine.
WORST_FIRST = (
    ClauseVerdict.FAIL,
    ClauseVerdict.ERROR,
    ClauseVerdict.MARGINAL,
    ClauseVerdict.PASS,
    ClauseVerdict.SKIPPED,
    ClauseVerdict.NOT_RUN,
)


def outcome_verdict(test: TestRecord) -> ClauseVerdict:
    """A test outcome as a clause verdict; an expected failure (xfail) is still a deviation."""
    if test.outcome in ("passed", "xpassed"):
        return ClauseVerdict.PASS
    if test.outcome in ("failed", "xfailed"):
        if test.category in NOT_THE_MODULE:
            return ClauseVerdict.ERROR
        return ClauseVerdict.FAIL
    if test.outcome == "skipped":
        return ClauseVerdict.SKIPPED
    return ClauseVerdict.ERROR  # "error" (setup/teardown) or an outcome we do not know


def timing_verdict(timing: TimingRecord) -> ClauseVerdict:
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
    timings: tuple[TimingRecord, ...]  # steps measured against it, by any test
    verdict: ClauseVerdict

    @property
    def tightest(self) -> TimingRecord | None:
        """The step with the least margin left (steps without a limit do not count)."""
        limited = [t for t in self.timings if t.margin is not None]
        return min(limited, key=lambda t: t.margin) if limited else None

    @property
    def slowest(self) -> TimingRecord | None:
        return max(self.timings, key=lambda t: t.measured) if self.timings else None


def clause_rows(run: Run) -> list[ClauseRow]:
    """Every clause in document order with its tests, measured steps and verdict."""
    rows = []
    for clause in CLAUSES.values():
        tests = tuple(t for t in run.tests if clause.id in t.clauses)
        timings = tuple(t for t in run.timings if t.clause == clause.id)
        verdict = worst([outcome_verdict(t) for t in tests] + [timing_verdict(t) for t in timings])
        rows.append(ClauseRow(clause, tests, timings, verdict))
    return rows


def unknown_clauses(run: Run) -> list[str]:
    """Clause IDs the run names that harness.clauses does not have (a renamed clause?)."""
    named = {c for t in run.tests for c in t.clauses} | {t.clause for t in run.timings}
    return sorted(c for c in named if c and c not in CLAUSES)


def combine(verdicts: Iterable[ClauseVerdict]) -> RunVerdict:
    """Clause verdicts → one verdict for a group or a run."""
    present = set(verdicts)
    if ClauseVerdict.FAIL in present:
        return RunVerdict.FAIL
    if ClauseVerdict.ERROR in present:
        return RunVerdict.INCONCLUSIVE
    if present & {ClauseVerdict.SKIPPED, ClauseVerdict.NOT_RUN} or not present:
        return RunVerdict.INCOMPLETE
    if ClauseVerdict.MARGINAL in present:
        return RunVerdict.MARGINAL
    return RunVerdict.PASS


def run_verdict(run: Run, rows: list[ClauseRow]) -> RunVerdict:
    """The run's verdict: its clauses, plus failing tests that name no clause."""
    loose = [outcome_verdict(t) for t in run.tests if not any(c in CLAUSES for c in t.clauses)]
    loose = [v for v in loose if v in (ClauseVerdict.FAIL, ClauseVerdict.ERROR)]
    return combine([r.verdict for r in rows] + loose)


@dataclass(frozen=True)
class GroupRow:
    """One clause group (harness.clauses.GROUPS) for the certificate."""

    group: str
    verdict: RunVerdict
    counts: dict[str, int]  # clause verdict → how many clauses
    clauses: tuple[ClauseRow, ...]


def group_rows(rows: list[ClauseRow]) -> list[GroupRow]:
    out = []
    for group in GROUPS:
        members = tuple(r for r in rows if r.clause.group == group)
        counts = {str(v): sum(r.verdict == v for r in members) for v in ClauseVerdict}
        out.append(GroupRow(group, combine(r.verdict for r in members), counts, members))
    return out


def tightest_steps(run: Run, n: int = 8) -> list[TimingRecord]:
    """Each command's step with the least margin to its limit; the `n` tightest, first first."""
    best: dict[tuple[str, str], TimingRecord] = {}
    for t in run.timings:
        if t.margin is None:
            continue
        key = (t.clause, command_key(t.command))
        if key not in best or t.margin < best[key].margin:
            best[key] = t
    return sorted(best.values(), key=lambda t: t.margin)[:n]
