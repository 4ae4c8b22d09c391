"""`modemcert report`: the HTML report of a run, its acceptance certificate, or pruning old runs.

modemcert report [RUN] [--out FILE]              report.html (+ Allure report if installed)
modemcert report [RUN ...] --certificate         certificate.html, one page per module
modemcert report --prune N                       keep the newest N runs of each rig
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import ExitCode
from harness.report.allure_render import HISTORY_RUNS
from harness.report.runs import REPORTS_DIR, ReportError, find_run, load_run

OK, USAGE = ExitCode.PASSED, ExitCode.USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "runs",
        metavar="RUN",
        nargs="*",
        help="run directory or run id (default: reports/latest); several with --certificate",
    )
    parser.add_argument("--out", type=Path, help="the HTML file to write (default: in the run)")
    parser.add_argument(
        "--certificate", action="store_true", help="write the acceptance certificate instead"
    )
    parser.add_argument("--operator", help="who ran the tests (overrides the run's record)")
    parser.add_argument(
        "--full-imei", action="store_true", help="certificate: show the whole IMEI if recorded"
    )
    parser.add_argument("--no-allure", action="store_true", help="do not render the Allure report")
    parser.add_argument(
        "--allure-history",
        type=int,
        default=HISTORY_RUNS,
        metavar="N",
        help=f"runs the Allure history keeps (default: {HISTORY_RUNS})",
    )
    parser.add_argument(
        "--prune", type=int, metavar="N", help="delete all but the newest N runs of each rig"
    )
    parser.add_argument(
        "--reports-dir",
        type=Path,
        default=REPORTS_DIR,
        help="where runs live (default: reports)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        if args.prune is not None:
            return _prune(args)
        return _report(args)
    except ReportError as e:
        print(f"modemcert report: {e}", file=sys.stderr)
        return USAGE


def _prune(args: argparse.Namespace) -> int:
    from harness.report.prune import prune

    if args.runs:
        raise ReportError("--prune takes no RUN; it keeps the newest runs under --reports-dir")
    removed = prune(args.reports_dir, args.prune)
    for path in removed:
        print(f"removed {path}")
    print(f"kept the newest {args.prune} run(s) of each rig in {args.reports_dir}")
    return OK


def _write(path: Path, text: str) -> None:
    if path.is_dir():
        raise ReportError(f"--out {path} is a directory; name the HTML file to write")
    if not path.parent.is_dir():
        raise ReportError(f"cannot write {path}: {path.parent} does not exist")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ReportError(f"cannot write {path}: {e.strerror or e}")


def _report(args: argparse.Namespace) -> int:
    names = args.runs or [None]
    from harness.report.batch import is_batch_dir, write_batch_summary

    if len(names) == 1 and names[0] is not None and is_batch_dir(Path(names[0])):
        print(f"wrote {write_batch_summary(Path(names[0]))}")  # a batch of modules
        return OK
    if len(names) > 1 and not args.certificate:
        raise ReportError(
            "the HTML report covers one run; name one RUN (several only with --certificate)"
        )
    if args.allure_history < 1:
        raise ReportError(f"--allure-history {args.allure_history}: keep at least 1 run")
    runs = [load_run(find_run(name, args.reports_dir)) for name in names]
    for run in runs:
        for line in run.warnings:
            print(f"modemcert report: warning: {line}", file=sys.stderr)
    if args.certificate:
        from harness.report.certificate import render_certificate

        out = args.out or runs[0].path / "certificate.html"
        html = render_certificate(runs, operator=args.operator, show_full_imei=args.full_imei)
        _write(out, html)
        print(f"wrote {out}")
        return OK

    from harness.report.report_html import render_report

    run = runs[0]
    out = args.out or run.path / "report.html"
    _write(out, render_report(run, operator=args.operator))
    print(f"wrote {out}")
    if not args.no_allure:
        from harness.report.allure_render import render_allure

        print(render_allure(run.path, args.reports_dir, args.allure_history).message)
    return OK
