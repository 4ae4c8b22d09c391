"""The Allure report of a run as one HTML file, when an Allure CLI is installed.

Allure 3 (npm package `allure`) reads allurerc.mjs in the repository root and keeps history
in one JSON-lines file; Allure 2 keeps it in `allure-report/history/`, which we copy from the
previous run into the new results before generating. No Allure CLI is never an error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.report.runs import ALLURE_RESULTS, list_runs

INSTALL_HINT = (
    "Allure report skipped: no `allure` command on PATH; install Allure 3 with "
    "`npm install -g allure` (or Allure 2: `npm install -g allure-commandline`, needs Java) "
    "and run `modemcert report` again"
)
#: The config Allure 3 reads (repository root); MODEMCERT_ALLURE_HISTORY names the history.
ALLURERC = Path(__file__).resolve().parents[2] / "allurerc.mjs"
HISTORY_FILE = "allure-history.jsonl"
SINGLE_FILE = "allure-report.html"
REPORT_DIR = "allure-report"  # Allure 2's multi-file report: its history/ feeds the next run


@dataclass(frozen=True)
class AllureOutcome:
    """What happened: `path` is the single-file report when one was written."""

    path: Path | None
    message: str


def allure_major(executable: str) -> int | None:
    """2 or 3 from `allure --version`, None if it does not answer like Allure."""
    try:
        done = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    m = re.search(r"\b([23])\.\d+", done.stdout + done.stderr)
    return int(m.group(1)) if m else None


def render_allure(run_dir: Path, reports_dir: Path) -> AllureOutcome:
    """Generate `<run>/allure-report.html` with history; explain, never raise, when it can't."""
    executable = shutil.which("allure")
    results = run_dir / ALLURE_RESULTS
    if executable is None:
        return AllureOutcome(None, INSTALL_HINT)
    if not results.is_dir():
        return AllureOutcome(None, f"Allure report skipped: {results} does not exist")
    major = allure_major(executable)
    if major == 3:
        return _allure3(executable, run_dir, reports_dir)
    if major == 2:
        return _allure2(executable, run_dir, reports_dir)
    return AllureOutcome(
        None, f"Allure report skipped: {executable} --version did not name Allure 2 or 3"
    )


def _run(cmd: list[str], **kwargs) -> str | None:
    """None on success, else the first line of what went wrong."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    except OSError as e:
        return str(e)
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return f"exit {done.returncode}" + (f": {lines[-1]}" if lines else "")


def previous_run(run_dir: Path, reports_dir: Path) -> Path | None:
    """The newest run before `run_dir` that has an Allure 2 history to carry over."""
    runs = [p.resolve() for p in list_runs(reports_dir)]
    here = run_dir.resolve()
    before = runs[: runs.index(here)] if here in runs else runs
    for path in reversed(before):
        if (path / REPORT_DIR / "history").is_dir():
            return path
    return None


def _allure2(executable: str, run_dir: Path, reports_dir: Path) -> AllureOutcome:
    results = run_dir / ALLURE_RESULTS
    prev = previous_run(run_dir, reports_dir)
    if prev is not None:
        shutil.copytree(prev / REPORT_DIR / "history", results / "history", dirs_exist_ok=True)
    # The single-file report writes no history/ (allure2 issue 2740), so the multi-file one is
    # generated too: it is where the next run finds its history.
    multi = run_dir / REPORT_DIR
    error = _run([executable, "generate", "--clean", "-o", str(multi), str(results)])
    if error:
        return AllureOutcome(None, f"Allure report failed: allure generate {error}")
    single_dir = run_dir / ".allure-single"
    error = _run(
        [executable, "generate", "--single-file", "--clean", "-o", str(single_dir), str(results)]
    )
    if error:
        return AllureOutcome(None, f"Allure report failed: allure generate --single-file {error}")
    return _take_single(single_dir, run_dir, prev)


def _allure3(executable: str, run_dir: Path, reports_dir: Path) -> AllureOutcome:
    results = run_dir / ALLURE_RESULTS
    out = run_dir / REPORT_DIR
    cmd = [executable, "generate", str(results), "--output", str(out)]
    if ALLURERC.is_file():
        cmd += ["--config", str(ALLURERC)]
    env = dict(os.environ, MODEMCERT_ALLURE_HISTORY=str((reports_dir / HISTORY_FILE).resolve()))
    error = _run(cmd, env=env, cwd=str(run_dir))
    if error:
        return AllureOutcome(None, f"Allure report failed: allure generate {error}")
    return _take_single(out, run_dir, None, keep_dir=True)


def _take_single(
    directory: Path, run_dir: Path, prev: Path | None, keep_dir: bool = False
) -> AllureOutcome:
    # Allure 3 puts a lone plugin's report at the top, several plugins' in one folder each.
    found = [directory / "index.html", directory / "awesome" / "index.html"]
    index = next((p for p in found if p.is_file()), None)
    if index is None:
        return AllureOutcome(None, f"Allure report failed: no {found[0]} was written")
    target = run_dir / SINGLE_FILE
    shutil.copyfile(index, target)
    if not keep_dir:
        shutil.rmtree(directory, ignore_errors=True)
    carried = f", history carried over from {prev.name}" if prev is not None else ""
    return AllureOutcome(target, f"wrote {target}{carried}")
