"""The clause verdicts of a run as a console table, worst first, nothing cut off.

`modemcert run` prints it at the end of a run: each clause that ran, its verdict, the step that
decided it (wrapped onto more lines when long, never cut), measured and limit, and for a clause
that did not pass its first cause in plain words.
"""

from __future__ import annotations

import textwrap

from harness.report.causes import KINDS, Finding, describe, symptoms
from harness.report.html import duration
from harness.report.runs import Run
from harness.report.verdicts import WORST_FIRST, ClauseVerdict, clause_rows, timing_verdict

#: Characters of the step column before it wraps.
STEP_WIDTH = 40


def verdict_table(run: Run, step_width: int = STEP_WIDTH) -> str:
    """Every clause that ran, worst verdict first, then least margin."""
    rows = [r for r in clause_rows(run) if r.verdict is not ClauseVerdict.NOT_RUN]
    why = symptoms(run, rows)

    def margin(row) -> float:
        step = row.deciding
        return step.margin if step is not None and step.margin is not None else 2.0

    rows.sort(key=lambda r: (WORST_FIRST.index(r.verdict), margin(r)))
    lines = [
        f"{'clause':<16} {'verdict':<11} {'deciding step':<{step_width}} "
        f"{'measured':>10} {'limit':>8}"
    ]
    for row in rows:
        step = row.deciding
        first = None
        if why.get(row.clause.id):
            first = min(why[row.clause.id], key=lambda s: (KINDS.index(s.cause.kind), s.order))
            if step is None or timing_verdict(step) != row.verdict:
                step = first.step
        name = step.command if step is not None else ""
        measured = (duration(step.measured) if step.valid else "invalid") if step else ""
        limit = duration(step.limit) if step is not None and step.limit else ""
        wrapped = textwrap.wrap(name, step_width, break_on_hyphens=False) or [""]
        lines.append(
            f"{row.clause.id:<16} {row.verdict.value:<11} {wrapped[0]:<{step_width}} "
            f"{measured:>10} {limit:>8}"
        )
        lines += [f"{'':<28} {part}" for part in wrapped[1:]]
        if first is not None:
            cause = describe(Finding(first.cause, [first]))
            lines += [f"{'':<28} ↳ {part}" for part in textwrap.wrap(cause, 70)]
        elif row.unfinished_note:
            lines.append(f"{'':<28} ↳ {row.unfinished_note}")
    return "\n".join(lines)
