"""The run report: one self-contained HTML file (inline CSS, plots as base64 PNG).

Sections: run header, overall verdict with the causes of what failed, the traceability matrix
(every clause in document order, with the step that decided its verdict), timing plots per
command, failures grouped by cause (payloads summarised, transcripts folded), skipped tests,
and what a damaged record made the reader skip.
"""

from __future__ import annotations

from datetime import UTC, datetime

from harness import __version__
from harness.clock import epoch
from harness.report.causes import (
    KINDS,
    Finding,
    describe,
    findings,
    mutation_text,
    plain,
    symptoms,
)
from harness.report.html import (
    badge,
    breakable,
    duration,
    esc,
    page,
    percent,
    simulated_banner,
    table,
    warnings_list,
)
from harness.report.plots import data_uri, timing_png
from harness.report.runs import COMPLETE, Run, TestRecord, TimingRecord
from harness.report.stats import command_stats
from harness.report.verdicts import (
    ClauseRow,
    ClauseVerdict,
    clause_rows,
    outcome_verdict,
    run_verdict,
    timing_verdict,
    unknown_clauses,
)
from harness.runrecord import mask_imei
from harness.summary import text as summarised

#: Lines of a failing test's transcript shown in the report (its end, where it failed).
TRANSCRIPT_LINES = 40
#: Lines of a failure message and of a traceback shown (the rest is in the run directory).
MESSAGE_LINES = 20
TRACE_LINES = 60

DOCUMENT = "GSM TCPIP Recommended Process V1.1"

CSS = """
.header th { width: 11em; }
.overall { font-size: 1.3em; margin: .6em 0; }
figure { margin: 0 0 1.5em; } figure img { max-width: 100%; border: 1px solid #eee; }
article.failure { border-left: 4px solid #c62828; padding-left: .8em; margin-bottom: 1.2em; }
article.failure.v-error, article.failure.v-interrupted { border-left-color: #7b1fa2; }
article.failure h4 { margin: .2em 0; overflow-wrap: anywhere; }
#matrix td:nth-child(3) { min-width: 12em; }
details > summary { cursor: pointer; color: #1565c0; overflow-wrap: anywhere; }
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
        simulated_banner(run.info.all_mutations) if run.info.simulated else "",
        _interrupted_banner(run),
        _header(run, operator),
        _overall(run, rows, verdict),
        _matrix(run, rows),
        _timings(run),
        _failures(run, rows),
        _skipped(run),
        warnings_list(run.warnings),
        f'<footer class="muted"><p>Written by modemcert {esc(__version__)} on {when()}.'
        " Times are module seconds (wall seconds ÷ the run's time scale).</p></footer>",
    ]
    return page(f"modemcert report {run.id}", "\n".join(p for p in parts if p), css=CSS)


def _interrupted_banner(run: Run) -> str:
    if not run.interrupted:
        return ""
    info = run.info
    why = f" ({info.stop_reason})" if info.stop_reason else ""
    status = "did not finish" if info.status == COMPLETE else f"is {info.status}{why}"
    done = f"{len(run.tests)} of {info.planned}" if info.planned is not None else len(run.tests)
    stopped = sum(t.outcome == "interrupted" for t in run.tests)
    extra = f", {stopped} interrupted" if stopped else ""
    return (
        f'<p class="banner" data-interrupted="1">This run {esc(status)}: {esc(done)} selected '
        f"tests recorded{esc(extra)}. A clause that did not finish is not a pass.</p>"
    )


def _header(run: Run, operator: str | None) -> str:
    info, module = run.info, run.module
    scale = info.time_scale
    scale_text = "—" if scale is None else f"{scale:g} (1 module second = {scale:g} wall seconds)"
    sim = "—"
    if info.sim is not None:
        seed = "" if info.sim.seed is None else f", seed {info.sim.seed}"
        sim = f"profile {info.sim.profile or 'default'}{seed}"
    simulated = " (simulated)" if info.simulated else ""
    fields = [
        ("Run", info.id),
        ("Rig", f"{info.rig} ({info.rig_file})" if info.rig_file else info.rig),
        ("Rig kind", info.kind),
        ("Host", info.host),
        ("Module", module.model + simulated if module.model else ""),
        ("Revision", module.revision),
        ("Firmware", module.firmware),
        ("IMEI", (mask_imei(module.imei) or "") + (simulated if module.imei else "")),
        ("ICCID", module.iccid + (simulated if module.iccid else "")),
        ("Simulator", sim if info.simulated else "—"),
        ("Mutations", ", ".join(mutation_text(m) for m in info.all_mutations) or "—"),
        ("Time scale", scale_text),
        ("Harness version", info.harness_version),
        ("Operator", operator or info.operator or ""),
        ("Started", info.started),
        ("Status", info.status + (f": {info.stop_reason}" if info.stop_reason else "")),
        ("Tests planned", "—" if info.planned is None else str(info.planned)),
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
    causes = findings(run, rows)
    listed = "".join(
        f"<li>{esc(describe(f))}: {len(f.clauses)} clause(s) ({esc(', '.join(f.clauses))}), "
        f"{len(f.tests)} test(s)"
        + (f"; explained by the simulator mutation <b>{esc(f.mutation)}</b>" if f.mutation else "")
        + "</li>"
        for f in causes
    )
    why = f'<p>Why clauses did not pass, first cause of each:</p><ol id="causes">{listed}</ol>'
    return (
        f'<section id="verdict"><h2>Verdict</h2>'
        f'<p class="overall">Overall: {badge(verdict)}</p>'
        f"<p>Clauses: {esc(counts)} (of {len(rows)}). Tests: {esc(tests)}.</p>{warn}"
        f"{why if causes else ''}</section>"
    )


def _test_name(nodeid: str) -> str:
    """`suites/test_init.py::test_x[TCP]` → `test_init.py::test_x[TCP]`, breakable."""
    return breakable(nodeid.removeprefix("suites/"))


def _tests_cell(row: ClauseRow) -> str:
    if row.tests:
        return "".join(
            f'<div title="{esc(t.nodeid)}">{_test_name(t.nodeid)} '
            f'<span class="muted">({esc(t.outcome or "no outcome")})</span></div>'
            for t in row.tests
        )
    if row.timings:
        return f'<span class="muted">no test names it; measured in {len(row.timings)} steps</span>'
    return '<span class="muted">no test in this run</span>'


def _limit_cell(row: ClauseRow, step: TimingRecord | None) -> str:
    """The limit the deciding step was judged by; its typical band when that made it marginal."""
    if step is None:
        return esc(row.clause.limit or "—")
    text = duration(step.limit) if step.limit else "no limit"
    if step.typical and (step.verdict == "marginal" or row.verdict == ClauseVerdict.MARGINAL):
        low, high = step.typical
        text += f'<br><span class="muted">typical {low:g}–{high:g} s</span>'
    if step.limit and step.margin is None and step.valid:
        text += '<br><span class="muted">a target, not a ceiling</span>'
    return text


def _measured_cell(step: TimingRecord | None) -> str:
    if step is None:
        return "—"
    if not step.valid:
        return f"<b>invalid</b> ({esc(step.measured)})"
    return duration(step.measured)


def _matrix(run: Run, rows: list[ClauseRow]) -> str:
    cells, attrs = [], []
    why = symptoms(run, rows)
    for row in rows:
        step = row.deciding
        verdict = badge(row.verdict)
        if why.get(row.clause.id):
            # The figures must show what made the clause fail: the first cause's step (maybe
            # measured against another clause's limit, in a teardown), or none at all.
            first = min(why[row.clause.id], key=lambda s: (KINDS.index(s.cause.kind), s.order))
            if step is None or timing_verdict(step) != row.verdict:
                step = first.step
            verdict += f'<div class="muted">{esc(describe(Finding(first.cause, [first])))}</div>'
        elif row.unfinished_note:
            verdict += f'<div class="muted">{esc(row.unfinished_note)}</div>'
        measured = _measured_cell(step)
        if step is not None and step.clause != row.clause.id:
            measured += (
                f'<br><span class="muted">{breakable(step.command)} ({esc(step.clause)})</span>'
            )
        cells.append(
            [
                f"<b>{esc(row.clause.id)}</b>",
                esc(row.clause.group),
                esc(row.clause.title),
                _tests_cell(row),
                verdict,
                measured,
                _limit_cell(row, step),
                percent(step.margin) if step else "—",
            ]
        )
        attrs.append(f'id="clause-{esc(row.clause.id)}" data-verdict="{esc(row.verdict)}"')
    matrix = table(
        ["Clause", "Group", "Title", "Tests", "Verdict", "Measured", "Limit", "Margin"],
        cells,
        attrs='id="matrix" class="matrix"',
        row_attrs=attrs,
        numeric=(5, 7),
        nowrap=(0,),
    )
    return (
        '<section id="traceability"><h2>Traceability matrix</h2>'
        "<p>Every clause of the document in order. Measured is the step that decided the "
        "clause's verdict: its worst step, and among equals the one closest to its limit; a "
        "marginal step shows the typical band it was above. Margin is the share of the limit "
        f"left.</p>{matrix}</section>"
    )


def _timings(run: Run) -> str:
    stats = command_stats(run.timings)
    parts = ['<section id="timings"><h2>Timings per command</h2>']
    if not stats:
        parts.append("<p>No steps were measured.</p>")
    else:
        parts.append(
            "<p>Measured module seconds per command: points coloured by verdict, a box of the "
            "middle half, the documented limit (red dashed), the marginal threshold (dotted) and "
            "the typical band (green), each named in the plot's legend.</p>"
        )
    for key, s in stats.items():
        facts = table(
            ["n", "median", "p95", "min", "max", "limit", "typical", "clauses"],
            [
                [
                    str(s.n),
                    duration(s.median),
                    duration(s.p95),
                    duration(min(s.values)),
                    duration(max(s.values)),
                    duration(s.limit),
                    f"{s.typical[0]:g}–{s.typical[1]:g} s" if s.typical else "—",
                    esc(", ".join(s.clauses)),
                ]
            ],
            numeric=range(7),
        )
        parts.append(
            f'<figure id="plot-{esc(key)}" class="plot"><img alt="{esc(key)} timings" '
            f'src="{data_uri(timing_png(s))}"><figcaption>{facts}</figcaption></figure>'
        )
    if run.invalid:
        parts.append("<h3>Invalid measurements (not plotted)</h3>")
        parts.append(
            table(
                ["Clause", "Command", "Recorded value", "Test"],
                [
                    [
                        esc(t.clause),
                        breakable(t.command),
                        esc(t.measured),
                        _test_name(t.test or "—"),
                    ]
                    for t in run.invalid
                ],
                attrs='id="invalid"',
            )
        )
    if run.provoked:
        parts.append(
            f'<p class="muted">{len(run.provoked)} step(s) a test made slow on purpose (an '
            "injected fault) are recorded but neither judged nor plotted.</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _clip_lines(text: str, most: int, keep_end: bool = False) -> str:
    lines = text.splitlines()
    if len(lines) <= most:
        return "\n".join(lines)
    if keep_end:
        return f"… {len(lines) - most} earlier lines\n" + "\n".join(lines[-most:])
    return "\n".join(lines[:most]) + f"\n… {len(lines) - most} more lines"


def _failure(run: Run, i: int, test: TestRecord) -> str:
    transcript = run.transcript_text(test)
    if transcript is None:
        excerpt = '<p class="muted">No transcript was recorded for this test.</p>'
    else:
        lines = transcript.splitlines()
        shown = summarised("\n".join(lines[-TRANSCRIPT_LINES:]))
        more = (
            f"last {TRANSCRIPT_LINES} of {len(lines)} lines"
            if len(lines) > TRANSCRIPT_LINES
            else (f"{len(lines)} lines")
        )
        excerpt = (
            f"<details><summary>UART transcript {breakable(test.transcript)} ({esc(more)}; long "
            f'payloads as length and SHA-256)</summary><pre class="transcript">{esc(shown)}</pre>'
            "</details>"
        )
    trace = (
        "<details><summary>Traceback</summary>"
        f"<pre>{esc(_clip_lines(summarised(test.trace), TRACE_LINES, keep_end=True))}</pre>"
        "</details>"
        if test.trace
        else ""
    )
    message = _clip_lines(plain(test.message or "(no message)"), MESSAGE_LINES)
    verdict = outcome_verdict(test)
    return (
        f'<article class="failure {esc("v-" + str(verdict).replace(" ", "-"))}" '
        f'id="failure-{i}"><h4>{_test_name(test.nodeid)}</h4>'
        f"<p>{badge(test.outcome or 'error')} category: {esc(test.category or '—')}; "
        f"clauses: {esc(', '.join(test.clauses) or '—')}</p>"
        f'<pre class="message">{esc(message)}</pre>{trace}{excerpt}'
        "</article>"
    )


def _failures(run: Run, rows: list[ClauseRow]) -> str:
    bad = (ClauseVerdict.FAIL, ClauseVerdict.ERROR, ClauseVerdict.INTERRUPTED)
    failed = [t for t in run.tests if outcome_verdict(t) in bad]
    over = [t for t in run.timings + run.invalid if timing_verdict(t) is ClauseVerdict.FAIL]
    parts = ['<section id="failures"><h2>Failures</h2>']
    if not failed and not over:
        parts.append("<p>None.</p>")
    # Tests grouped under the cause that explains them, causes in the verdict's order.
    placed: set[str] = set()
    n = 0
    for finding in findings(run, rows):
        tests = [t for t in failed if t.nodeid in finding.tests and t.nodeid not in placed]
        if not tests:
            continue
        parts.append(f"<h3>{esc(describe(finding))} — {len(tests)} test(s)</h3>")
        for test in tests:
            placed.add(test.nodeid)
            n += 1
            parts.append(_failure(run, n, test))
    rest = [t for t in failed if t.nodeid not in placed]
    if rest:
        parts.append("<h3>Other failures</h3>")
        for test in rest:
            n += 1
            parts.append(_failure(run, n, test))
    if over:
        parts.append("<h3>Steps over their limit</h3>")
        parts.append(
            table(
                ["Clause", "Command", "Measured", "Limit", "Test", "Note"],
                [
                    [
                        esc(t.clause),
                        breakable(t.command),
                        _measured_cell(t),
                        duration(t.limit),
                        _test_name(t.test or "(between tests)"),
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
    rows = [[_test_name(t.nodeid), esc(", ".join(t.clauses)), esc(t.message)] for t in skipped]
    return (
        '<section id="skipped"><h2>Skipped tests</h2>'
        f"{table(['Test', 'Clauses', 'Reason'], rows)}</section>"
    )
