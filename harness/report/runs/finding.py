"""Finding runs: "latest", a run id or a path → a run directory; every run under reports/, oldest
first; a run id as a safe file name."""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness.report.runs.records import ReportError
from harness.runrecord import FILENAME, RunRecordError, load

#: Where `modemcert run` writes runs, relative to the working directory.
REPORTS_DIR = Path("reports")
#: The symlink to the newest run inside REPORTS_DIR.
LATEST = "latest"


def is_run_dir(path: Path) -> bool:
    try:
        return (Path(path) / FILENAME).is_file()
    except (OSError, ValueError):
        return False


def list_runs(reports_dir: Path = REPORTS_DIR) -> list[Path]:
    """Run directories under `reports_dir`, oldest first (by start time, then name)."""
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        return []
    found = []
    for child in reports_dir.iterdir():
        if child.is_symlink() or not child.is_dir() or not is_run_dir(child):
            continue
        found.append((_started(child), child.name, child))
    return [p for _, _, p in sorted(found)]


def _started(path: Path) -> str:
    try:
        run = load(path).get("run")
    except (RunRecordError, RecursionError, ValueError):
        return ""
    started = run.get("started") if isinstance(run, dict) else None
    return started if isinstance(started, str) else ""


def find_run(arg: str | os.PathLike | None, reports_dir: Path = REPORTS_DIR) -> Path:
    """A run directory from a path, a run id under `reports_dir`, or None/"latest"."""
    reports_dir = Path(reports_dir)
    name = LATEST if arg is None else os.fspath(arg)
    candidate = Path(name)
    if candidate.is_dir():
        path = candidate
    elif name and "/" not in name and (reports_dir / name).is_dir():
        path = reports_dir / name
    elif name == LATEST:
        raise ReportError(
            f"no runs yet: {reports_dir / LATEST} does not exist "
            "(run `modemcert run` first, or name a run directory)"
        )
    else:
        newest = [p.name for p in list_runs(reports_dir)][-3:]
        there = f" (newest there: {', '.join(newest)})" if newest else ""
        raise ReportError(
            f"no run {name!r}: not a directory, and not a run id under {reports_dir}/{there}"
        )
    if not is_run_dir(path):
        raise ReportError(
            f"{path} is not a modemcert run directory (it has no {FILENAME}); "
            f"pass a {reports_dir}/<run-id> directory"
        )
    return path.resolve()


def safe_name(text: str) -> str:
    """A run id as a file name part: no path separators, no leading dot, not empty."""
    name = re.sub(r"[^A-Za-z0-9_.+-]+|\.{2,}", "_", text).lstrip("._")[:120]
    return name or "run"
