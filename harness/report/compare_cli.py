"""`modemcert compare OLD NEW`: the supplier regression report between two runs.

Exit status: 0 nothing regressed, 1 something regressed, 2 usage error (one line saying why).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.report.compare import compare_runs
from harness.report.compare_render import render, summary
from harness.report.i18n import LANGUAGES
from harness.report.runs import REPORTS_DIR, ReportError, find_run, load_run

OK, REGRESSED, USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="the earlier run: a run directory or run id")
    parser.add_argument("new", metavar="NEW", help="the later run: a run directory or run id")
    parser.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="en (English) or zh (简体中文)"
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where to write compare-<OLD>-<lang>.md and .html (default: the NEW run directory)",
    )
    parser.add_argument(
        "--reports-dir",
        type=Path,
        default=REPORTS_DIR,
        help="where run ids are looked up (default: reports)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        old = load_run(find_run(args.old, args.reports_dir))
        new = load_run(find_run(args.new, args.reports_dir))
        comparison = compare_runs(old, new)
        markdown, html = render(comparison, args.lang)
        out_dir = args.out_dir or new.path
        if out_dir.exists() and not out_dir.is_dir():
            raise ReportError(f"--out-dir {out_dir} is a file; pass a directory")
        stem = f"compare-{old.id}-{args.lang}"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            md_path = out_dir / f"{stem}.md"
            html_path = out_dir / f"{stem}.html"
            md_path.write_text(markdown, encoding="utf-8")
            html_path.write_text(html, encoding="utf-8")
        except OSError as e:
            raise ReportError(f"cannot write the comparison into {out_dir}: {e.strerror or e}")
    except ReportError as e:
        print(f"modemcert compare: {e}", file=sys.stderr)
        return USAGE
    print(summary(comparison, args.lang))
    print(f"wrote {md_path}")
    print(f"wrote {html_path}")
    return REGRESSED if comparison.regressed else OK
