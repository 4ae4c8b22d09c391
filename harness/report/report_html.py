"""The run report: one self-contained HTML file (inline CSS, plots as base64 PNG).

Sections: run header, overall verdict, the traceability matrix (every clause in document
order), timing plots per command, failures with transcript excerpts, skipped tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

from harness import __version__
from harness.clock import epoch
from harness.report.html import badge, esc, page, percent, seconds, table
from harness.report.plots import data_uri, timing_png
from harness.report.runs import Run, TestRecord
from harness.report.stats import command_stats
from harness.report.verdicts import (
    ClauseRow,
    ClauseVerdict,
    clause_rows,
    run_verdict,
    unknown_clauses,
)
from harness.runrecord import mask_imei

#: Lines of a failing test's transcript shown in the report (its end, where it failed).
TRANSCRIPT_LINES = 40

DOCUMENT = "GSM TCPIP Recommended Process V1.1"

CSS = """
.header th { width: 11em; } .t { white-space: nowrap; }
.overall { font-size: 1.3em; margin: .6em 0; }
figure { margin: 0 0 1.5em; } figure img { max-width: 100%; border: 1px solid #eee; }
article.failure { border-left: 4px solid #c62828; padding-left: .8em; margin-bottom: 1.5em; }
"""


def when(stamp: float | None = None) -> str:
    """Calendar time (UTC, to the second) for page footers."""
    moment = datetime.fromtimestamp(epoch() if stamp is None else stamp, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def render_report(run: Run, *, operator: str | None = None) -> str:
    """The whole report page for one run."""
    rows = clause_rows(run)
    verdict = run_verdict(run, rows)
    parts = [
        f"<h1>modemcert run report — {esc(run.id)}</h1>",
        f'<p class="muted">Certification against Quectel\'s “{esc(DOCUMENT)}”.</p>',
        _header(run, operator),
        _overall(run, rows, verdict),
        _matrix(rows, run),
        _timings(run),
        _failures(run),
        _skipped(run),
        f'<footer class="muted"><p>Written by modemcert {esc(__version__)} on {when()}.'
        " Times are module seconds (wall seconds ÷ the run's time scale).</p></footer>",
    ]
    return page(f"modemcert report {run.id}", "\n".join(parts), css=CSS)


def _header(run: Run, operator: str | None) -> str:
    info, module = run.info, run.module
    scale = info.time_scale
    scale_text = "—" if scale is None else f"{scale:g} (1 module second = {scale:g} wall seconds)"
    fields = [
        ("Run", info.id),
        ("Rig", f"{info.rig} ({info.rig_file})" if info.rig_file else info.rig),
        ("Host", info.host),
        ("Module", module.model),
        ("Revision", module.revision),
        ("Firmware", module.firmware),
        ("IMEI", mask_imei(module.imei) or ""),
        ("ICCID", module.iccid),
        ("Time scale", scale_text),
        ("Harness version", info.harness_version),
        ("Operator", operator or info.operator or ""),
        ("Started", info.started),
        ("Finished", info.finished or "did not finish (the run was interrupted)"),
    ]
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v or '—')}</td></tr>" for k, v in fields)
    return f'<section id="run"><h2>Run</h2><table class="header">{rows}</table></section>'


def _overall(run: Run, rows: list[ClauseRow], verdict: str) -> str:
    outcomes: dict[str, int] = {}
    for t in run.tests:
        outcomes[t.outcome or "unknown"] = outcomes.get(t.outcome or "unknown", 0) + 1
    tests = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "no tests recorded"
    counts = ", ".join(
        f"{sum(r.verdict == v for r in rows)} {v}"
        for v in ClauseVerdict
        if any(r.verdict == v for r in rows)
    )
    unknown = unknown_clauses(run)
    warn = (
        f"<p><b>Unknown clause IDs in this run</b> (not in harness/clauses.py): "
        f"{esc(', '.join(unknown))}</p>"
        if unknown
        else ""
    )
    return (
        f'<section id="verdict"><h2>Verdict</h2>'
        f'<p class="overall">Overall: {badge(verdict)}</p>'
        f"<p>Clauses: {esc(counts)} (of {len(rows)}). Tests: {esc(tests)}.</p>{warn}</section>"
    )


def _tests_cell(row: ClauseRow) -> str:
    if row.tests:
        return "".join(
            f'<div class="t">{esc(t.nodeid)} <span class="muted">({esc(t.outcome)})</span></div>'
            for t in row.tests
        )
    if row.timings:
        return f'<span class="muted">no test names it; measured in {len(row.timings)} steps</span>'
    return '<span class="muted">no test in this run</span>'


def _matrix(rows: list[ClauseRow], run: Run) -> str:
    cells, attrs = [], []
    for row in rows:
        step = row.tightest or row.slowest
        limit = seconds(step.limit) if step and step.limit else esc(row.clause.limit or "—")
        cells.append(
            [
                f"<b>{esc(row.clause.id)}</b>",
                esc(row.clause.group),
                esc(row.clause.title),
                _tests_cell(row),
                badge(row.verdict),
                seconds(step.measured) if step else "—",
                limit,
                percent(step.margin) if step else "—",
            ]
        )
        attrs.append(f'id="clause-{esc(row.clause.id)}" data-verdict="{esc(row.verdict)}"')
    matrix = table(
        ["Clause", "Group", "Title", "Tests", "Verdict", "Measured", "Limit", "Margin"],
        cells,
        attrs='id="matrix" class="matrix"',
        row_attrs=attrs,
        numeric=(5, 6, 7),
    )
    return (
        '<section id="traceability"><h2>Traceability matrix</h2>'
        "<p>Every clause of the document in order. Measured is the step with the least margin "
        "to its limit (the slowest step when the clause has no time limit); margin is the "
        f"share of the limit left.</p>{matrix}</section>"
    )


def _timings(run: Run) -> str:
    stats = command_stats(run.timings)
    if not stats:
        return '<section id="timings"><h2>Timings</h2><p>No steps were measured.</p></section>'
    figures = []
    for key, s in stats.items():
        facts = table(
            ["n", "median", "p95", "min", "max", "limit", "typical", "clauses"],
            [
                [
                    str(s.n),
                    seconds(s.median),
                    seconds(s.p95),
                    seconds(min(s.values)),
                    seconds(max(s.values)),
                    seconds(s.limit),
                    f"{s.typical[0]:g}–{s.typical[1]:g} s" if s.typical else "—",
                    esc(", ".join(s.clauses)),
                ]
            ],
            numeric=range(7),
        )
        figures.append(
            f'<figure id="plot-{esc(key)}" class="plot"><img alt="{esc(key)} timings" '
            f'src="{data_uri(timing_png(s))}"><figcaption>{facts}</figcaption></figure>'
        )
    return (
        '<section id="timings"><h2>Timings per command</h2>'
        "<p>Measured module seconds per command: points coloured by verdict, the red dashed "
        "line is the documented limit, the dotted line the marginal threshold, the green band "
        f"the typical range.</p>{''.join(figures)}</section>"
    )


def _failure(run: Run, i: int, test: TestRecord) -> str:
    transcript = run.transcript_text(test)
    if transcript is None:
        excerpt = '<p class="muted">No transcript was recorded for this test.</p>'
    else:
        lines = transcript.splitlines()
        shown = "\n".join(lines[-TRANSCRIPT_LINES:])
        more = (
            f" (last {TRANSCRIPT_LINES} of {len(lines)} lines)"
            if len(lines) > TRANSCRIPT_LINES
            else ""
        )
        excerpt = (
            f"<p>UART transcript {esc(test.transcript)}{esc(more)}:</p>"
            f'<pre class="transcript">{esc(shown)}</pre>'
        )
    trace = (
        f"<details><summary>Traceback</summary><pre>{esc(test.trace)}</pre></details>"
        if test.trace
        else ""
    )
    return (
        f'<article class="failure" id="failure-{i}"><h3>{esc(test.nodeid)}</h3>'
        f"<p>{badge(test.outcome)} category: {esc(test.category or '—')}; "
        f"clauses: {esc(', '.join(test.clauses) or '—')}</p>"
        f'<pre class="message">{esc(test.message or "(no message)")}</pre>{trace}{excerpt}'
        "</article>"
    )


def _failures(run: Run) -> str:
    failed = [t for t in run.tests if t.outcome in ("failed", "error", "xfailed")]
    over = [t for t in run.timings if t.verdict == "fail"]
    parts = ['<section id="failures"><h2>Failures</h2>']
    if not failed and not over:
        parts.append("<p>None.</p>")
    parts += [_failure(run, i, t) for i, t in enumerate(failed, 1)]
    if over:
        parts.append("<h3>Steps over their limit</h3>")
        parts.append(
            table(
                ["Clause", "Command", "Measured", "Limit", "Test", "Note"],
                [
                    [
                        esc(t.clause),
                        esc(t.command),
                        seconds(t.measured),
                        seconds(t.limit),
                        esc(t.test or "—"),
                        esc(t.note),
                    ]
                    for t in over
                ],
                attrs='id="over-limit"',
                numeric=(2, 3),
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _skipped(run: Run) -> str:
    skipped = [t for t in run.tests if t.outcome == "skipped"]
    if not skipped:
        return ""
    rows = [[esc(t.nodeid), esc(", ".join(t.clauses)), esc(t.message)] for t in skipped]
    return (
        '<section id="skipped"><h2>Skipped tests</h2>'
        f"{table(['Test', 'Clauses', 'Reason'], rows)}</section>"
    )
