"""Keep the newest N runs of each rig under reports/ and delete the older run directories.

Only directories holding a timings.json are runs; the run `reports/latest` points at and
anything else under reports/ (Allure history, notes) is never touched. Complete runs and the
rest (aborted by a rig fault, interrupted, never finished) are counted apart: N of each are
kept, so a night of rig faults never pushes out the runs that certified something.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.report.runs import LATEST, ReportError, list_runs
from harness.runrecord import RunRecordError, RunStatus, load


def _rig(path: Path) -> tuple[str, bool]:
    """The run's rig name ("" when the record cannot say: pruned with the unnamed) and
    whether it is complete (status "complete", or an older record that says it finished)."""
    try:
        run = load(path).get("run")
    except (RunRecordError, RecursionError, ValueError):
        return "", False
    if not isinstance(run, dict):
        return "", False
    rig = run.get("rig")
    status = run.get("status")
    complete = status == RunStatus.COMPLETE if status is not None else bool(run.get("finished"))
    return (rig if isinstance(rig, str) else ""), complete


def runs_to_prune(reports_dir: Path, keep: int) -> list[Path]:
    """The run directories that keeping `keep` per rig would delete, oldest first."""
    if keep < 1:
        raise ReportError(f"--prune {keep}: keep at least 1 run per rig")
    latest = reports_dir / LATEST
    protected = latest.resolve() if latest.exists() else None
    by_rig: dict[tuple[str, bool], list[Path]] = {}
    for run in list_runs(reports_dir):  # oldest first
        by_rig.setdefault(_rig(run), []).append(run)
    doomed = []
    for runs in by_rig.values():
        doomed += [r for r in runs[: max(0, len(runs) - keep)] if r.resolve() != protected]
    return sorted(doomed)


def prune(reports_dir: Path, keep: int) -> list[Path]:
    """Delete the runs `runs_to_prune` names; returns them."""
    doomed = runs_to_prune(reports_dir, keep)
    for run in doomed:
        shutil.rmtree(run)
    return doomed
