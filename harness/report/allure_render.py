"""The Allure report of a run as one HTML file, when an Allure CLI is installed.

One file per run, `<run>/allure-report.html`, that makes no network request: Allure's page
template loads Google's analytics script, which is cut out, and a Content-Security-Policy that
allows only inline and data: content is put in its place. History is bounded: Allure 3 keeps
the newest N runs in `reports/allure-history.jsonl`; for Allure 2 the previous run's history
(trimmed to N) is carried into the new results. No Allure CLI is never an error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.report.allure_categories import allure3_categories
from harness.report.runs import ALLURE_RESULTS, list_runs

INSTALL_HINT = (
    "Allure report skipped: no `allure` command on PATH; install Allure 3 with "
    "`npm install -g allure` (or Allure 2: `npm install -g allure-commandline`, needs Java) "
    "and run `modemcert report` again"
)
#: The config Allure 3 reads (repository root).
ALLURERC = Path(__file__).resolve().parents[2] / "allurerc.mjs"
HISTORY_FILE = "allure-history.jsonl"
SINGLE_FILE = "allure-report.html"
#: Allure 2's history of a run (its multi-file report's history/), kept for the next run.
HISTORY_DIR = "allure-history"
OLD_REPORT_DIR = "allure-report"  # where earlier versions kept a whole multi-file report
#: Runs of history kept (`modemcert report --allure-history N`).
HISTORY_RUNS = 10
#: An explicit Allure CLI (a path), tried before PATH.
ALLURE_ENV = "MODEMCERT_ALLURE"
#: What the page may load: itself and data: — nothing from any network.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' data: blob:; "
    "style-src 'unsafe-inline' data: blob:; img-src data: blob:; font-src data:; "
    "connect-src data: blob:; media-src data: blob:; worker-src data: blob:; "
    "frame-src data: blob:"
)
_REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE
)
_ANALYTICS = re.compile(
    r"<script\b[^>]*>(?:(?!</script>).)*(?:gtag\(|dataLayer|googletagmanager)"
    r"(?:(?!</script>).)*</script>",
    re.IGNORECASE | re.DOTALL,
)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class AllureOutcome:
    """What happened: `path` is the single-file report when one was written."""

    path: Path | None
    message: str


def allure_major(executable: str) -> int | None:
    """2 or 3 from `allure --version`, None if it does not answer like Allure."""
    try:
        done = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"\b([23])\.\d+", done.stdout + done.stderr)
    return int(m.group(1)) if m else None


def find_allure() -> str | None:
    """$MODEMCERT_ALLURE if it is an executable, else `allure` on PATH."""
    explicit = os.environ.get(ALLURE_ENV)
    if explicit and os.access(explicit, os.X_OK):
        return explicit
    return shutil.which("allure")


def render_allure(run_dir: Path, reports_dir: Path, history: int = HISTORY_RUNS) -> AllureOutcome:
    """Generate `<run>/allure-report.html` with bounded history; explain, never raise."""
    executable = find_allure()
    results = run_dir / ALLURE_RESULTS
    if executable is None:
        return AllureOutcome(None, INSTALL_HINT)
    if not results.is_dir():
        return AllureOutcome(None, f"Allure report skipped: {results} does not exist")
    major = allure_major(executable)
    work = run_dir / f".allure-work-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        if major == 3:
            return _allure3(executable, run_dir, reports_dir, work, history)
        if major == 2:
            return _allure2(executable, run_dir, reports_dir, work, history)
        return AllureOutcome(
            None, f"Allure report skipped: {executable} --version did not name Allure 2 or 3"
        )
    except OSError as e:
        return AllureOutcome(None, f"Allure report failed: {e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(cmd: list[str], **kwargs) -> str | None:
    """None on success, else the last line of what went wrong."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return f"exit {done.returncode}" + (f": {lines[-1]}" if lines else "")


def _environment(**extra: str) -> dict[str, str]:
    # Allure 2 honours ALLURE_NO_ANALYTICS; the page is cleaned of analytics either way.
    return dict(os.environ, ALLURE_NO_ANALYTICS="1", **extra)


def _allure3(
    executable: str, run_dir: Path, reports_dir: Path, work: Path, history: int
) -> AllureOutcome:
    work.mkdir(parents=True)
    categories = work / "categories.json"
    categories.write_text(json.dumps(allure3_categories()), encoding="utf-8")
    out = work / "report"
    cmd = [executable, "generate", str(run_dir / ALLURE_RESULTS), "--output", str(out)]
    if ALLURERC.is_file():
        cmd += ["--config", str(ALLURERC)]
    env = _environment(
        MODEMCERT_ALLURE_HISTORY=str((reports_dir / HISTORY_FILE).resolve()),
        MODEMCERT_ALLURE_HISTORY_LIMIT=str(max(1, history)),
        MODEMCERT_ALLURE_CATEGORIES=str(categories),
    )
    error = _run(cmd, env=env, cwd=str(run_dir), timeout=600)
    if error:
        return AllureOutcome(None, f"Allure report failed: allure generate {error}")
    return _take_single(out, run_dir, None)


def previous_run(run_dir: Path, reports_dir: Path) -> Path | None:
    """The newest run before `run_dir` that has an Allure 2 history to carry over."""
    runs = [p.resolve() for p in list_runs(reports_dir)]
    here = run_dir.resolve()
    before = runs[: runs.index(here)] if here in runs else runs
    for path in reversed(before):
        if _history_of(path) is not None:
            return path
    return None


def _history_of(run: Path) -> Path | None:
    for candidate in (run / HISTORY_DIR, run / OLD_REPORT_DIR / "history"):
        if candidate.is_dir():
            return candidate
    return None


def trim_history(directory: Path, keep: int) -> None:
    """Allure 2's history files cut to the newest `keep` runs: the trend lists (newest first)
    and each test's list of earlier results."""
    for path in directory.glob("*-trend.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, list):
            path.write_text(json.dumps(data[:keep]), encoding="utf-8")
    path = directory / "history.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        for entry in data.values():
            if isinstance(entry, dict) and isinstance(entry.get("items"), list):
                entry["items"] = entry["items"][:keep]
        path.write_text(json.dumps(data), encoding="utf-8")


def _allure2(
    executable: str, run_dir: Path, reports_dir: Path, work: Path, history: int
) -> AllureOutcome:
    results = run_dir / ALLURE_RESULTS
    prev = previous_run(run_dir, reports_dir)
    prev_history = _history_of(prev) if prev is not None else None  # previous_run checked it
    if prev_history is not None:
        shutil.copytree(prev_history, results / "history", dirs_exist_ok=True)
        trim_history(results / "history", history)
    # The single-file report writes no history/ (allure2 issue 2740), so the multi-file one is
    # generated into a scratch directory too: only its history/ is kept, for the next run.
    multi = work / "multi"
    env = _environment()
    error = _run(
        [executable, "generate", "--clean", "-o", str(multi), str(results)], env=env, timeout=600
    )
    if error:
        return AllureOutcome(None, f"Allure report failed: allure generate {error}")
    if (multi / "history").is_dir():
        shutil.rmtree(run_dir / HISTORY_DIR, ignore_errors=True)
        shutil.copytree(multi / "history", run_dir / HISTORY_DIR)
        trim_history(run_dir / HISTORY_DIR, history)
    single = work / "single"
    error = _run(
        [executable, "generate", "--single-file", "--clean", "-o", str(single), str(results)],
        env=env,
        timeout=600,
    )
    if error:
        return AllureOutcome(None, f"Allure report failed: allure generate --single-file {error}")
    return _take_single(single, run_dir, prev)


def offline(html: str) -> str:
    """The page without its network requests: remote scripts, stylesheets and the analytics
    snippet cut out, and a Content-Security-Policy that allows nothing but the page itself."""
    html = _ANALYTICS.sub("", html)
    html = _REMOTE_SCRIPT.sub("", html)
    html = _REMOTE_LINK.sub("", html)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    head = re.search(r"<head\b[^>]*>", html, re.IGNORECASE)
    if head is None:
        return meta + html
    return html[: head.end()] + meta + html[head.end() :]


def _take_single(directory: Path, run_dir: Path, prev: Path | None) -> AllureOutcome:
    # Allure 3 puts a lone plugin's report at the top, several plugins' in one folder each.
    found = [directory / "index.html", directory / "awesome" / "index.html"]
    index = next((p for p in found if p.is_file()), None)
    if index is None:
        return AllureOutcome(None, f"Allure report failed: no {found[0].name} was written")
    target = run_dir / SINGLE_FILE
    tmp = target.with_name(f".{SINGLE_FILE}.tmp")
    tmp.write_text(offline(index.read_text(encoding="utf-8")), encoding="utf-8")
    os.replace(tmp, target)
    carried = f", history carried over from {prev.name}" if prev is not None else ""
    return AllureOutcome(target, f"wrote {target}{carried}")
