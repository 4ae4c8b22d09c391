"""`modemcert trend [RUN ...]`: choose the runs (named, or the newest under --reports-dir), build
the trend, write trend.html and the CSV files beside each other."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import ExitCode
from harness.report.runs import REPORTS_DIR, ReportError, Run, find_run, list_runs, load_run
from harness.report.trend.csvs import CLAUSES_CSV, HTML, TIMINGS_CSV, clauses_csv, timings_csv
from harness.report.trend.model import build
from harness.report.trend.render import render

PROG = "modemcert trend"
#: Runs a trend covers by default (the newest).
DEFAULT_LAST = 30


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
