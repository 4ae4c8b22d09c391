"""Keep the reports within a count per rig and a total size (the nightly's last step).

    python deploy/prune.py --reports-dir reports --keep 30 --keep-mb 2000

First the newest `--keep` runs of each rig stay (harness.report.prune); then, while the runs
together take more than `--keep-mb` megabytes, the oldest run of any rig goes. The run
`reports/latest` points at, and the newest run of each rig, are never deleted, nor anything
under reports/ that is not a run. An SD card fills at about 21 MB per run otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from harness.report.prune import prune, runs_to_prune
from harness.report.runs import LATEST, ReportError, list_runs
from harness.runrecord import RunRecordError, load

MB = 1024 * 1024


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def rig_of(run: Path) -> str:
    try:
        return str(load(run).get("run", {}).get("rig") or run.name)
    except RunRecordError:
        return run.name


def over_budget(reports_dir: Path, keep_mb: float) -> list[Path]:
    """The oldest runs to delete so that the rest fit in `keep_mb` MB, oldest first."""
    runs = list_runs(reports_dir)  # oldest first
    latest = reports_dir / LATEST
    protected = {latest.resolve()} if latest.exists() else set()
    newest: dict[str, Path] = {}
    for run in runs:
        newest[rig_of(run)] = run
    protected |= {p.resolve() for p in newest.values()}
    sizes = {run: size_of(run) for run in runs}
    total = sum(sizes.values())
    doomed = []
    for run in runs:
        if total <= keep_mb * MB:
            break
        if run.resolve() in protected:
            continue
        doomed.append(run)
        total -= sizes[run]
    return doomed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prune.py", description=__doc__.splitlines()[0])
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"))
    parser.add_argument("--keep", type=int, default=30, help="runs kept per rig (default 30)")
    parser.add_argument("--keep-mb", type=float, default=2000, help="total MB kept (default 2000)")
    parser.add_argument("--dry-run", action="store_true", help="only print what would go")
    args = parser.parse_args(argv)
    if args.keep_mb <= 0:
        parser.error("--keep-mb must be above 0")
    try:
        if args.dry_run:
            doomed = runs_to_prune(args.reports_dir, args.keep)
        else:
            doomed = prune(args.reports_dir, args.keep)
        for run in doomed:
            print(f"prune: {run.name} (more than {args.keep} runs of its rig)")
        for run in over_budget(args.reports_dir, args.keep_mb):
            print(f"prune: {run.name} (reports over {args.keep_mb:g} MB)")
            if not args.dry_run:
                shutil.rmtree(run)
    except ReportError as e:
        print(f"prune: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
