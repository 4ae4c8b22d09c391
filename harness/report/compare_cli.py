"""`modemcert compare OLD NEW`: the supplier regression report between two runs.

Exit status (harness.errors.ExitCode): 0 comparable and nothing regressed; 1 a clause now fails
or a command is slower beyond noise; 2 a usage error or a damaged record (one line saying which)
or runs that are not comparable (rig kind, model, time scale); 4 coverage lost (clauses OLD
judged have no verdict in NEW).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import ExitCode
from harness.report.compare import compare_runs
from harness.report.compare_render import render, summary
from harness.report.i18n import LANGUAGES
from harness.report.runs import REPORTS_DIR, ReportError, find_run, load_run, safe_name

PROG = "modemcert compare"


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


def warn(lines) -> None:
    """A damaged record's warnings, one line each on stderr."""
    for line in lines:
        print(f"{PROG}: warning: {line}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    try:
        old = load_run(find_run(args.old, args.reports_dir))
        new = load_run(find_run(args.new, args.reports_dir))
        warn(old.warnings + new.warnings)
        comparison = compare_runs(old, new)
        markdown, html = render(comparison, args.lang)
        out_dir = args.out_dir or new.path
        if out_dir.exists() and not out_dir.is_dir():
            raise ReportError(f"--out-dir {out_dir} is a file; pass a directory")
        stem = f"compare-{safe_name(old.id)}-{args.lang}"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            md_path = out_dir / f"{stem}.md"
            html_path = out_dir / f"{stem}.html"
            md_path.write_text(markdown, encoding="utf-8")
            html_path.write_text(html, encoding="utf-8")
        except (OSError, ValueError) as e:
            raise ReportError(
                f"cannot write the comparison into {out_dir}: {getattr(e, 'strerror', None) or e}"
            )
    except ReportError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return ExitCode.USAGE
    if comparison.same_run:
        warn([f"OLD and NEW are the same run ({new.path}): nothing can differ"])
    for d in comparison.blocking:
        warn([f"not comparable: {d.what} {d.old} → {d.new}"])
    print(summary(comparison, args.lang))
    print(f"wrote {md_path}")
    print(f"wrote {html_path}")
    return int(comparison.exit_code)
