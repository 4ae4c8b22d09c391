"""Why clauses failed: each failing test traced to its first failing step, grouped by cause.

One slow AT+QICLOSE in the teardown of seventeen tests is one cause, not seventeen findings:
a test's cause is the first step it measured over its limit (command + limit); without one,
the test's own category and message (a protocol deviation, a rig fault …). Causes are compared
across runs and named by a simulator mutation recorded in the run when one explains them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.commands import limit_for
from harness.errors import Category
from harness.report.html import duration
from harness.report.i18n import STRINGS, step_name
from harness.report.runs import Run, TestRecord, TimingRecord
from harness.report.stats import command_key
from harness.report.verdicts import ClauseRow, ClauseVerdict, outcome_verdict, timing_verdict
from harness.summary import clip, plain

#: Kinds of cause, worst first (the module's own, then everything that hides a verdict).
LIMIT, DEVIATION, RIG, USAGE, HARNESS, INTERRUPTED, INVALID = (
    "limit",
    "deviation",
    "rig",
    "usage",
    "harness",
    "interrupted",
    "invalid",
)
KINDS = (LIMIT, DEVIATION, RIG, USAGE, HARNESS, INTERRUPTED, INVALID)
_BY_CATEGORY = {
    Category.LIMIT_EXCEEDED: LIMIT,
    Category.PROTOCOL_DEVIATION: DEVIATION,
    Category.RIG_FAULT: RIG,
    Category.USAGE_ERROR: USAGE,
    Category.HARNESS_ERROR: HARNESS,
    Category.INTERRUPTED: INTERRUPTED,
}
#: Characters of a message kept as a cause's detail.
DETAIL_CHARS = 160
_COMMAND = re.compile(r"\b(AT[+#$%&^]?[A-Z][A-Z0-9]*|AT\b)")
_VOLATILE = re.compile(r"\b\d+(?:\.\d+)?\b|0x[0-9a-fA-F]+|\b[0-9a-f]{12,}\b")


@dataclass(frozen=True)
class Cause:
    """What went wrong first: a command over its limit, or a deviation, or no verdict at all."""

    kind: str
    command: str = ""  # AT+QICLOSE (a command key), or a named step
    clause: str = ""  # the clause whose limit it is (CLOSE)
    limit: float | None = None
    detail: str = ""  # a message's first sentence (deviations and non-module causes)

    @property
    def module(self) -> bool:
        return self.kind in (LIMIT, DEVIATION)

    @property
    def key(self) -> tuple:
        if self.kind == LIMIT and self.command:
            return (self.kind, self.command, self.limit)
        return (self.kind, self.command, _VOLATILE.sub("#", self.detail))


@dataclass(frozen=True)
class Symptom:
    """How one test (or a step between tests) showed the cause."""

    cause: Cause
    test: str | None  # node id; None for a step the harness made between tests
    clauses: tuple[str, ...]
    step: TimingRecord | None = None  # the first failing step, when the cause is one
    message: str = ""
    order: float = math.inf  # when it happened (a step's `at`), for "first"


@dataclass
class Finding:
    """One cause with every clause and test it explains."""

    cause: Cause
    symptoms: list[Symptom] = field(default_factory=list)
    mutation: str | None = None  # a simulator mutation recorded in the run that explains it

    @property
    def clauses(self) -> list[str]:
        return list(dict.fromkeys(c for s in self.symptoms for c in s.clauses))

    @property
    def tests(self) -> list[str]:
        return list(dict.fromkeys(s.test for s in self.symptoms if s.test))

    @property
    def worst(self) -> TimingRecord | None:
        """The slowest failing step of this cause."""
        steps = [s.step for s in self.symptoms if s.step is not None and s.step.valid]
        return max(steps, key=lambda t: t.measured) if steps else None

    @property
    def no_answer(self) -> bool:
        """Did the command give no final answer at all (the wait ran to its limit)?"""
        return any(s.step is not None and "no final answer" in s.step.note for s in self.symptoms)


def _order(step: TimingRecord | None, index: int) -> float:
    if step is not None and step.at is not None:
        return step.at
    return 1e18 + index


def first_step(run: Run, test: TestRecord) -> TimingRecord | None:
    """The test's first step over its limit (not provoked), by when it was measured."""
    failing = [
        (i, t)
        for i, t in enumerate(run.timings + run.invalid)
        if t.test == test.nodeid and timing_verdict(t) in (ClauseVerdict.FAIL, ClauseVerdict.ERROR)
    ]
    if not failing:
        return None
    return min(failing, key=lambda p: _order(p[1], p[0]))[1]


def step_cause(step: TimingRecord) -> Cause:
    if not step.valid:
        return Cause(INVALID, command_key(step.command), step.clause, step.limit)
    return Cause(LIMIT, command_key(step.command), step.clause, step.limit)


def first_line(message: str, chars: int = DETAIL_CHARS) -> str:
    """A message's first line in plain words, clipped at a word, never half a word."""
    text = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return clip(plain(text), chars)


def test_cause(run: Run, test: TestRecord) -> Symptom:
    """Why this failing test failed: its first failing step, else its category and message."""
    step = first_step(run, test)
    verdict = outcome_verdict(test)
    if step is not None and (verdict is ClauseVerdict.FAIL or not step.valid):
        return Symptom(
            step_cause(step), test.nodeid, test.clauses, step, test.message, _order(step, 0)
        )
    kind = _BY_CATEGORY.get(test.category) if test.category is not None else None
    if kind is None:
        kind = {ClauseVerdict.FAIL: DEVIATION, ClauseVerdict.INTERRUPTED: INTERRUPTED}.get(
            verdict, HARNESS
        )
    found = _COMMAND.search(test.message)
    command = command_key(found.group(1)) if found else ""
    if kind == LIMIT and command:
        # No step of its own was judged (a provoked wait, or a run that recorded none): the
        # command's documented limit is the one it exceeded (harness.limits, AT-TIMEOUT).
        limit = limit_for(command)
        cause = Cause(LIMIT, command, limit.clause, limit.seconds)
    else:
        named = test.clauses[0] if test.clauses else ""
        cause = Cause(kind, command, named, None, first_line(test.message))
    return Symptom(cause, test.nodeid, test.clauses, None, test.message)


def symptoms(run: Run, rows: Iterable[ClauseRow]) -> dict[str, list[Symptom]]:
    """Clause ID → why it did not pass (its failing tests, and failing steps no failing test
    explains), for clauses whose verdict is fail, error or interrupted."""
    bad = (ClauseVerdict.FAIL, ClauseVerdict.ERROR, ClauseVerdict.INTERRUPTED)
    out: dict[str, list[Symptom]] = {}
    cache: dict[str, Symptom] = {}
    for row in rows:
        if row.verdict not in bad:
            continue
        found = []
        for test in row.tests:
            if outcome_verdict(test) in bad:
                if test.nodeid not in cache:
                    cache[test.nodeid] = test_cause(run, test)
                found.append(cache[test.nodeid])
        explained = {id(s.step) for s in found if s.step is not None}
        for i, step in enumerate(row.timings):
            if timing_verdict(step) in bad and id(step) not in explained:
                found.append(
                    Symptom(
                        step_cause(step), step.test, (row.clause.id,), step, "", _order(step, i)
                    )
                )
        out[row.clause.id] = found
    return out


def findings(
    run: Run, rows: Iterable[ClauseRow], clauses: Iterable[str] | None = None
) -> list[Finding]:
    """The causes behind the clauses that did not pass (or only `clauses`), each clause under
    its first cause; module causes first, then by how many clauses each explains."""
    per_clause = symptoms(run, rows)
    wanted = list(per_clause) if clauses is None else [c for c in clauses if c in per_clause]
    grouped: dict[tuple, Finding] = {}
    for cid in wanted:
        found = per_clause[cid]
        if not found:
            continue
        first = min(found, key=lambda s: (KINDS.index(s.cause.kind), s.order))
        finding = grouped.setdefault(first.cause.key, Finding(first.cause))
        for s in found:
            if s.cause.key == first.cause.key:
                finding.symptoms.append(
                    Symptom(s.cause, s.test, (cid,), s.step, s.message, s.order)
                )
    out = list(grouped.values())
    mutations = run.info.all_mutations
    for f in out:
        f.mutation = explaining_mutation(f.cause, mutations)
    out.sort(key=lambda f: (KINDS.index(f.cause.kind), -len(f.clauses)))
    return out


def describe(finding: Finding, lang: str = "en") -> str:
    """The cause in plain words of `lang`, from the phrase table (harness/report/i18n.py)."""
    t = STRINGS[lang]
    c = finding.cause
    c = Cause(c.kind, step_name(c.command, lang), c.clause, c.limit, c.detail)
    if c.kind == LIMIT:
        worst = finding.worst
        if c.command and c.limit is not None and finding.no_answer:
            return t["cause_no_answer"].format(
                command=c.command, limit=duration(c.limit), clause=c.clause
            )
        if c.command and c.limit is not None and worst is not None:
            return t["cause_over"].format(
                command=c.command,
                measured=duration(worst.measured),
                limit=duration(c.limit),
                clause=c.clause,
            )
        if c.command and c.limit is not None:
            return t["cause_over_limit"].format(
                command=c.command, limit=duration(c.limit), clause=c.clause
            )
        if c.command and c.clause and c.limit is None:
            return t["cause_step"].format(command=c.command, clause=c.clause)
        return t["cause_limit"].format(command=c.command or "AT")
    if c.kind == DEVIATION:
        if c.command:
            return t["cause_deviation_command"].format(command=c.command, clause=c.clause or "—")
        return t["cause_deviation"].format(clause=c.clause or "—")
    key = {
        RIG: "cause_rig",
        USAGE: "cause_usage",
        HARNESS: "cause_harness",
        INTERRUPTED: "cause_interrupted",
        INVALID: "cause_invalid",
    }[c.kind]
    return t[key].format(command=c.command or "—")


def explaining_mutation(cause: Cause, mutations: Iterable[str]) -> str | None:
    """The recorded simulator mutation that breaks this cause's clause or command, if any."""
    try:
        from harness.sim.mutations import MUTATIONS
    except ImportError:  # an installation without the simulator
        return None
    for name in mutations:
        m = MUTATIONS.get(name)
        if m is None or not cause.module:
            continue
        if cause.clause and cause.clause in m.clauses:
            return name
        if cause.command and re.search(rf"{re.escape(cause.command)}\b", m.description):
            return name
    return None


def mutation_text(name: str) -> str:
    """`qiclose_100s: AT+QICLOSE answers CLOSE OK after 100 s` (its description, when known)."""
    try:
        from harness.sim.mutations import MUTATIONS
    except ImportError:
        return name
    m = MUTATIONS.get(name)
    return f"{name} ({m.description})" if m is not None else name
