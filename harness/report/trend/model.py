"""The trend's model: each run as a `Night` (clause verdicts, command statistics) and each
clause's failing streaks (`Regression`: the first night it appeared, its cause)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.clauses import CLAUSES
from harness.report.causes import describe, findings
from harness.report.runs import Run
from harness.report.stats import CommandStats, command_stats
from harness.report.verdicts import ClauseVerdict, clause_rows


@dataclass(frozen=True)
class Night:
    """One run as the trend sees it."""

    run: Run
    verdicts: dict[str, ClauseVerdict]
    stats: dict[str, CommandStats]

    @property
    def label(self) -> str:
        """The run's start date and time (`11-22 18:12`), or its id."""
        started = self.run.info.started
        return f"{started[5:10]} {started[11:16]}" if len(started) >= 16 else self.run.id

    @property
    def firmware(self) -> str:
        return self.run.module.firmware or "unknown firmware"

    @property
    def mark(self) -> str:
        """`sim`, `sim+mutated`, or "" for a real module."""
        if not self.run.info.simulated:
            return ""
        return "sim+mutated" if self.run.info.all_mutations else "sim"


@dataclass
class Regression:
    """A clause's failing streak: where it began, where it ended (None: still failing)."""

    clause: str
    first: Night
    last: Night
    nights: int
    ongoing: bool
    cause: str = ""


@dataclass
class Trend:
    nights: list[Night]
    warnings: list[str] = field(default_factory=list)

    @property
    def commands(self) -> list[str]:
        """Every command measured in any night, in the order first measured."""
        return list(dict.fromkeys(k for n in self.nights for k in n.stats))

    def regressions(self) -> list[Regression]:
        """Each failing streak of each clause, oldest first."""
        out = []
        for cid in CLAUSES:
            streak: list[Night] = []
            for night in [*self.nights, None]:
                if night is not None and night.verdicts.get(cid) is ClauseVerdict.FAIL:
                    streak.append(night)
                    continue
                if streak:
                    out.append(Regression(cid, streak[0], streak[-1], len(streak), night is None))
                    streak = []
        for r in out:
            run = r.first.run
            causes = [f for f in findings(run, clause_rows(run), [r.clause]) if f.clauses]
            r.cause = describe(causes[0]) if causes else ""
        out.sort(key=lambda r: (not r.ongoing, r.first.run.info.started, r.clause))
        return out


def build(runs: Sequence[Run], warnings: Sequence[str] = ()) -> Trend:
    nights = []
    for run in runs:
        rows = clause_rows(run)
        nights.append(
            Night(run, {r.clause.id: r.verdict for r in rows}, command_stats(run.timings))
        )
    return Trend(nights, list(warnings))
