"""`modemcert trend [RUN ...]`: how a module's timings and verdicts moved across nights.

For every command: the median and spread (middle half, and min–max) of each run, against the
documented limit and typical band, points coloured by firmware revision; for every clause its
verdict in each run; and the first night each regression appeared (the run where a clause's
latest failing streak began, with its cause). Writes one self-contained `trend.html` with the
plots and `trend.csv` (one row per run and command) beside `trend-clauses.csv` (one row per run
and clause). Simulated and mutated runs are marked on every plot and table. A run whose record
cannot be read is skipped with a warning; NaN and other invalid times are never plotted.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from harness import __version__
from harness.clauses import CLAUSES
from harness.errors import ExitCode
from harness.report.causes import describe, findings
from harness.report.html import (
    badge,
    breakable,
    css_class,
    esc,
    page,
    table,
    warnings_list,
)
from harness.report.plots import (
    LIMIT_COLOUR,
    LOG_RATIO,
    TYPICAL_COLOUR,
    data_uri,
    human_axis,
    png,
    short,
)
from harness.report.report_html import when
from harness.report.runs import REPORTS_DIR, ReportError, Run, find_run, list_runs, load_run
from harness.report.stats import CommandStats, command_stats, percentile
from harness.report.verdicts import ClauseVerdict, clause_rows, run_verdict

PROG = "modemcert trend"
#: Runs a trend covers by default (the newest).
DEFAULT_LAST = 30
#: Colours of firmware revisions, in the order they first appear.
FIRMWARE_COLOURS = ("#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#2e7d32", "#5d4037", "#ad1457")
TIMINGS_CSV, CLAUSES_CSV, HTML = "trend.csv", "trend-clauses.csv", "trend.html"


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


# -- plots --------------------------------------------------------------------------------------
def command_png(trend: Trend, command: str) -> bytes:
    """One command across the nights: median dot, middle-half bar, min–max whisker."""
    fig = Figure(figsize=(7.6, 2.4), dpi=96)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours: dict[str, str] = {}
    for night in trend.nights:
        colours.setdefault(night.firmware, FIRMWARE_COLOURS[len(colours) % len(FIRMWARE_COLOURS)])
    limit = typical = None
    values: list[float] = []
    for x, night in enumerate(trend.nights):
        s = night.stats.get(command)
        if s is None:
            continue
        limit = s.limit if s.limit is not None else limit
        typical = s.typical or typical
        finite = [v for v in s.values if math.isfinite(v)]
        if not finite:
            continue
        values += finite
        colour = colours[night.firmware]
        low, high = percentile(finite, 25), percentile(finite, 75)
        ax.vlines(x, min(finite), max(finite), color=colour, linewidth=1, alpha=0.5)
        ax.vlines(x, low, high, color=colour, linewidth=5, alpha=0.8)
        hollow = bool(night.run.info.all_mutations)
        ax.plot(
            [x],
            [s.median],
            marker="s" if night.run.info.simulated else "o",
            markersize=6,
            markerfacecolor="white" if hollow else colour,
            markeredgecolor=colour,
            linestyle="",
        )
    handles: list[Artist] = [
        Line2D([], [], color=c, marker="o", linestyle="", label=f"firmware {fw}")
        for fw, c in colours.items()
    ]
    if typical:
        ax.axhspan(*typical, color=TYPICAL_COLOUR, alpha=0.25)
        handles.append(Patch(color=TYPICAL_COLOUR, alpha=0.25, label="typical band"))
    if limit:
        ax.axhline(limit, color=LIMIT_COLOUR, linestyle="--", linewidth=1.5)
        handles.append(
            Line2D([], [], color=LIMIT_COLOUR, linestyle="--", label=f"limit {short(limit)}")
        )
    if any(n.run.info.simulated for n in trend.nights):
        handles.append(
            Line2D([], [], color="#555", marker="s", linestyle="", label="simulated module")
        )
    if any(n.run.info.all_mutations for n in trend.nights):
        handles.append(
            Line2D(
                [],
                [],
                color="#555",
                marker="s",
                markerfacecolor="white",
                linestyle="",
                label="simulated, mutated",
            )
        )
    marks = [*values, *(typical or ()), *([limit] if limit else [])]
    top = max(marks) if marks else 1.0
    log = bool(limit and values and min(values) > 0 and limit / max(values) > LOG_RATIO)
    if log:
        low = min(m for m in marks if m > 0) / 2
        ax.set_yscale("log")
        ax.set_ylim(low, top * 1.5)
        human_axis(ax.yaxis, low, top * 1.5, log=True)
    else:
        ax.set_ylim(0, top * 1.1 or 1.0)
        human_axis(ax.yaxis, 0, top * 1.1 or 1.0)
    ax.set_xlim(-0.6, len(trend.nights) - 0.4)
    ax.set_xticks(range(len(trend.nights)))
    ax.set_xticklabels([n.label for n in trend.nights], fontsize=7, rotation=30, ha="right")
    ax.set_ylabel("module time", fontsize=8)
    ax.set_title(
        f"{command}: median (dot), middle half (bar), min–max (line)", fontsize=9, loc="left"
    )
    ax.legend(
        handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False
    )
    fig.tight_layout()
    return png(fig)


# -- files --------------------------------------------------------------------------------------
TIMING_FIELDS = (
    "run",
    "started",
    "rig",
    "simulated",
    "mutations",
    "model",
    "revision",
    "firmware",
    "command",
    "n",
    "median",
    "p25",
    "p75",
    "min",
    "max",
    "limit",
    "typical_low",
    "typical_high",
)
CLAUSE_FIELDS = ("run", "started", "simulated", "mutations", "firmware", "clause", "verdict")


def _g(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def timings_csv(trend: Trend) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(TIMING_FIELDS)
    for night in trend.nights:
        run = night.run
        for command, s in night.stats.items():
            w.writerow(
                [
                    run.id,
                    run.info.started,
                    run.info.rig,
                    "yes" if run.info.simulated else "no",
                    " ".join(run.info.all_mutations),
                    run.module.model,
                    run.module.revision,
                    run.module.firmware,
                    command,
                    s.n,
                    _g(s.median),
                    _g(percentile(s.values, 25)),
                    _g(percentile(s.values, 75)),
                    _g(min(s.values)),
                    _g(max(s.values)),
                    _g(s.limit),
                    _g(s.typical[0] if s.typical else None),
                    _g(s.typical[1] if s.typical else None),
                ]
            )
    return out.getvalue()


def clauses_csv(trend: Trend) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CLAUSE_FIELDS)
    for night in trend.nights:
        run = night.run
        for cid, verdict in night.verdicts.items():
            w.writerow(
                [
                    run.id,
                    run.info.started,
                    "yes" if run.info.simulated else "no",
                    " ".join(run.info.all_mutations),
                    run.module.firmware,
                    cid,
                    str(verdict),
                ]
            )
    return out.getvalue()


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


# -- the command --------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "runs",
        metavar="RUN",
        nargs="*",
        help="run directories or ids, in any order (default: the newest runs under --reports-dir)",
    )
    parser.add_argument(
        "--last",
        type=int,
        default=DEFAULT_LAST,
        metavar="N",
        help=f"without RUN: the newest N runs (default: {DEFAULT_LAST})",
    )
    parser.add_argument(
        "--rig", help="without RUN: only runs of this rig (the rig name in the record)"
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where trend.html and the CSV files go (default: --reports-dir)",
    )
    parser.add_argument(
        "--reports-dir", type=Path, default=REPORTS_DIR, help="where runs live (default: reports)"
    )


def _select(args: argparse.Namespace) -> tuple[list[Run], list[str]]:
    warnings: list[str] = []
    if args.last < 1:
        raise ReportError(f"--last {args.last}: name at least 1 run")
    if args.runs:
        paths = [find_run(name, args.reports_dir) for name in args.runs]
    else:
        paths = list_runs(args.reports_dir)
        if not paths:
            raise ReportError(
                f"no runs under {args.reports_dir} (run `modemcert run` first, or name runs)"
            )
    runs = []
    for path in paths:
        try:
            run = load_run(path)
        except ReportError as e:
            warnings.append(f"skipped a run whose record cannot be read: {e}")
            continue
        if args.rig and not args.runs and run.info.rig != args.rig:
            continue
        warnings += run.warnings
        runs.append(run)
    runs.sort(key=lambda r: (r.info.started, r.id))
    if not args.runs:
        runs = runs[-args.last :]
    if not runs:
        raise ReportError(
            "no readable run to draw a trend from" + (f" (rig {args.rig})" if args.rig else "")
        )
    return runs, warnings


def main(args: argparse.Namespace) -> int:
    try:
        runs, warnings = _select(args)
        trend = build(runs, warnings)
        out_dir = args.out_dir or args.reports_dir
        if out_dir.exists() and not out_dir.is_dir():
            raise ReportError(f"--out-dir {out_dir} is a file; pass a directory")
        html = render(trend)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            written = []
            for name, text in (
                (HTML, html),
                (TIMINGS_CSV, timings_csv(trend)),
                (CLAUSES_CSV, clauses_csv(trend)),
            ):
                (out_dir / name).write_text(text, encoding="utf-8")
                written.append(out_dir / name)
        except (OSError, ValueError) as e:
            raise ReportError(
                f"cannot write the trend into {out_dir}: {getattr(e, 'strerror', None) or e}"
            )
    except ReportError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return ExitCode.USAGE
    for line in trend.warnings:
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    regs = [r for r in trend.regressions() if r.ongoing]
    print(
        f"{len(trend.nights)} run(s), {len(trend.commands)} command(s); "
        + (
            f"{len(regs)} clause(s) failing now, first failing in: "
            + ", ".join(f"{r.clause} since {r.first.run.id}" for r in regs)
            if regs
            else "no clause failing in the newest run"
        )
    )
    for path in written:
        print(f"wrote {path}")
    return ExitCode.PASSED
