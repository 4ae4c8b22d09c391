"""The Allure report: skipped with an install hint, Allure 2 and 3 driven with history.

The Allure CLIs are stand-ins here (shell scripts logging their arguments and writing what
the real ones write); CI has no Allure either. They check what we ask of Allure, not Allure.
"""

import os
import stat

import pytest

from harness.report.allure_render import ALLURERC, INSTALL_HINT, render_allure

FAKE = r"""#!/bin/sh
echo "$*" >> "$FAKE_ALLURE_LOG"
if [ "$1" = "--version" ]; then echo "$FAKE_ALLURE_VERSION"; exit 0; fi
[ -n "$FAKE_ALLURE_FAIL" ] && { echo "java not found" >&2; exit 3; }
out=""; results=""; single=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--output) out="$2"; shift ;;
    --single-file) single=1 ;;
    generate|--clean) ;;
    --config) shift ;;
    *) results="$1" ;;
  esac
  shift
done
mkdir -p "$out"
echo "<html>report of $results</html>" > "$out/index.html"
if [ -z "$single" ]; then
  mkdir -p "$out/history"
  prev=$(cat "$results/history/history.json" 2>/dev/null)
  echo "$prev+$results" > "$out/history/history.json"
fi
echo "hist=$MODEMCERT_ALLURE_HISTORY" >> "$FAKE_ALLURE_LOG"
"""


@pytest.fixture
def fake_allure(tmp_path, monkeypatch):
    def install(version: str, fail: bool = False):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        script = bin_dir / "allure"
        script.write_text(FAKE)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
        monkeypatch.setenv("FAKE_ALLURE_LOG", str(tmp_path / "allure.log"))
        monkeypatch.setenv("FAKE_ALLURE_VERSION", version)
        if fail:
            monkeypatch.setenv("FAKE_ALLURE_FAIL", "1")
        return tmp_path / "allure.log"

    return install


def test_without_allure_says_how_to_install(new_run, reports_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    outcome = render_allure(new_run("r1").write(), reports_dir)
    assert outcome.path is None and outcome.message == INSTALL_HINT
    assert "npm install -g allure" in INSTALL_HINT and "\n" not in INSTALL_HINT


def test_allure2_single_file_with_history_carried_over(new_run, reports_dir, fake_allure):
    log = fake_allure("2.32.0")
    first = new_run("r1", started="2026-11-22T01:00:00+00:00").write()
    outcome = render_allure(first, reports_dir)
    assert outcome.path == first / "allure-report.html" and outcome.path.is_file()
    assert (first / "allure-report" / "history" / "history.json").is_file()
    assert not (first / ".allure-single").exists()
    second = new_run("r2", started="2026-11-23T01:00:00+00:00").write()
    outcome = render_allure(second, reports_dir)
    assert "history carried over from r1" in outcome.message
    carried = (second / "allure-results" / "history" / "history.json").read_text()
    assert str(first / "allure-results") in carried
    history = (second / "allure-report" / "history" / "history.json").read_text()
    assert str(first / "allure-results") in history and str(second / "allure-results") in history
    calls = log.read_text()
    assert f"generate --single-file --clean -o {second / '.allure-single'}" in calls


def test_allure3_uses_the_repository_config_and_one_history_file(new_run, reports_dir, fake_allure):
    log = fake_allure("3.0.1")
    run = new_run("r1").write()
    outcome = render_allure(run, reports_dir)
    assert outcome.path == run / "allure-report.html" and outcome.path.is_file()
    calls = log.read_text()
    assert f"generate {run / 'allure-results'} --output {run / 'allure-report'}" in calls
    assert f"--config {ALLURERC}" in calls
    assert f"hist={(reports_dir / 'allure-history.jsonl').resolve()}" in calls
    assert ALLURERC.is_file() and "historyPath" in ALLURERC.read_text()


def test_a_failing_allure_is_reported_not_raised(new_run, reports_dir, fake_allure):
    fake_allure("2.32.0", fail=True)
    outcome = render_allure(new_run("r1").write(), reports_dir)
    assert outcome.path is None and "exit 3: java not found" in outcome.message


def test_report_command_never_fails_for_allure(cert_run, modemcert, fake_allure):
    fake_allure("2.32.0", fail=True)
    cert_run("r1")
    code, out, _ = modemcert("report")
    assert code == 0 and "Allure report failed" in out


def test_something_else_called_allure(new_run, reports_dir, fake_allure):
    fake_allure("allure? never heard of it")
    outcome = render_allure(new_run("r1").write(), reports_dir)
    assert outcome.path is None and "did not name Allure 2 or 3" in outcome.message
