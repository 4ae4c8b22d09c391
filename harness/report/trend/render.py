"""The trend as one self-contained HTML page: the runs, the regressions, the verdict grid per
clause, and a plot per command."""

from __future__ import annotations

from harness import __version__
from harness.clauses import CLAUSES
from harness.report.html import badge, breakable, css_class, esc, page, table, warnings_list
from harness.report.plots import data_uri
from harness.report.report_html import when
from harness.report.trend.csvs import CLAUSES_CSV, TIMINGS_CSV
from harness.report.trend.model import Trend
from harness.report.trend.plot import command_png
from harness.report.verdicts import ClauseVerdict, clause_rows, run_verdict

CSS = """
table.grid td.cell { padding: 0; width: 1.6em; min-width: 1.2em; height: 1.3em; }
table.grid td.cell span { display: block; width: 100%; height: 1.3em; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { margin: 0 0 1.2em; } figure img { max-width: 100%; border: 1px solid #eee; }
"""
#: Verdict → one-letter mark in the grid (with its colour from BASE_CSS).
LETTER = {
    ClauseVerdict.PASS: "",
    ClauseVerdict.MARGINAL: "m",
    ClauseVerdict.FAIL: "F",
    ClauseVerdict.ERROR: "E",
    ClauseVerdict.INTERRUPTED: "I",
    ClauseVerdict.SKIPPED: "s",
    ClauseVerdict.NOT_RUN: "·",
}


def render(trend: Trend) -> str:
    nights = trend.nights
    parts = [
        f"<h1>modemcert trend — {len(nights)} run(s)</h1>",
        f'<p class="muted">From {esc(nights[0].run.id)} to {esc(nights[-1].run.id)}. Times are '
        "module seconds.</p>",
    ]
    simulated = [n for n in nights if n.run.info.simulated]
    if simulated:
        mutated = [n for n in simulated if n.run.info.all_mutations]
        extra = (
            f" {len(mutated)} of them with simulator mutations: "
            + "; ".join(f"{n.run.id} ({', '.join(n.run.info.all_mutations)})" for n in mutated)
            if mutated
            else ""
        )
        parts.append(
            f'<p class="banner" data-simulated="1">{len(simulated)} of {len(nights)} run(s) are '
            f"of a simulated module — not a certification.{esc(extra)}</p>"
        )
    parts.append(_runs_table(trend))
    parts.append(_regressions(trend))
    parts.append(_grid(trend))
    parts.append('<section id="timings"><h2>Timings per command</h2>')
    parts.append(
        "<p>Each run's median (dot), middle half (thick bar) and fastest–slowest (thin line), "
        "coloured by firmware revision; squares are simulated runs, hollow ones mutated. The "
        "red dashed line is the documented limit, the green band the typical time.</p>"
    )
    for command in trend.commands:
        parts.append(
            f'<figure class="plot" id="trend-{esc(command)}"><img alt="{esc(command)} across '
            f'runs" src="{data_uri(command_png(trend, command))}"></figure>'
        )
    parts.append("</section>")
    parts.append(warnings_list(trend.warnings))
    parts.append(
        f'<footer class="muted"><p>Written by modemcert {esc(__version__)} on {when()}; '
        f"data in {TIMINGS_CSV} and {CLAUSES_CSV}.</p></footer>"
    )
    return page("modemcert trend", "\n".join(p for p in parts if p), css=CSS)


def _runs_table(trend: Trend) -> str:
    rows = []
    for n in trend.nights:
        run = n.run
        rows.append(
            [
                breakable(run.id),
                esc(run.info.started[:16]),
                esc(run.module.firmware or "—"),
                esc(n.mark or "real module"),
                esc(", ".join(run.info.all_mutations) or "—"),
                badge(run_verdict(run, clause_rows(run))),
            ]
        )
    return (
        '<section id="runs"><h2>Runs</h2>'
        + table(
            ["Run", "Started", "Firmware", "Module", "Mutations", "Verdict"],
            rows,
            attrs='id="runs-table"',
        )
        + "</section>"
    )


def _regressions(trend: Trend) -> str:
    regs = trend.regressions()
    if not regs:
        return '<section id="regressions"><h2>Regressions</h2><p>No clause failed.</p></section>'
    rows = [
        [
            f"<b>{esc(r.clause)}</b>",
            breakable(r.first.run.id) + (f" ({esc(r.first.mark)})" if r.first.mark else ""),
            "still failing" if r.ongoing else breakable(r.last.run.id),
            str(r.nights),
            esc(r.cause or "—"),
        ]
        for r in regs
    ]
    return (
        '<section id="regressions"><h2>Regressions: the first night each appeared</h2>'
        + table(
            ["Clause", "First failing run", "Last failing run", "Runs", "Cause (first run)"],
            rows,
            attrs='id="regressions-table"',
            numeric=(3,),
            nowrap=(0,),
        )
        + "</section>"
    )


def _grid(trend: Trend) -> str:
    head = ["Clause"] + [
        f'<span title="{esc(n.run.id)}">{i + 1}</span>' for i, n in enumerate(trend.nights)
    ]
    rows, attrs = [], []
    for cid in CLAUSES:
        cells = [f"<b>{esc(cid)}</b>"]
        for n in trend.nights:
            v = n.verdicts.get(cid, ClauseVerdict.NOT_RUN)
            cells.append(
                f'<span class="{css_class(v)}" title="{esc(n.run.id)}: {esc(v)}">'
                f"{esc(LETTER[v])}</span>"
            )
        rows.append(cells)
        attrs.append(f'data-clause="{esc(cid)}"')
    grid = table(head, rows, attrs='id="verdict-grid" class="grid"', row_attrs=attrs, stack=False)
    grid = grid.replace("<td><span class=", '<td class="cell"><span class=')
    legend = ", ".join(f"{letter or 'blank'} = {v}" for v, letter in LETTER.items())
    keys = "; ".join(f"{i + 1} = {esc(n.run.id)}" for i, n in enumerate(trend.nights))
    return (
        '<section id="verdicts"><h2>Verdict history per clause</h2>'
        f'<p class="muted">{esc(legend)}. Runs: {keys}.</p>'
        f'<div class="scroll">{grid}</div></section>'
    )
