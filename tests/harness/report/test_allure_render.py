"""The Allure report: skipped with an install hint, Allure 2 and 3 driven with bounded history,
one file per run, and a page that makes no network request.

Most Allure CLIs here are stand-ins (shell scripts logging their arguments and writing what the
real ones write): they check what we ask of Allure. `test_real_allure3_*` runs the real Allure 3
from npm (tests/harness/report/conftest.py `allure3`), and skips naming what is missing.
"""

import json
import os
import stat
import subprocess

import pytest

from harness.report import allure_render
from harness.report.allure_categories import allure3_categories
from harness.report.allure_render import (
    ALLURERC,
    CSP,
    HISTORY_DIR,
    INSTALL_HINT,
    SINGLE_FILE,
    offline,
    render_allure,
    trim_history,
)

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
cat > "$out/index.html" <<EOF
<html><head><title>r</title></head><body>report of $results
<script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>
<script>window.dataLayer = window.dataLayer || [];
function gtag(){dataLayer.push(arguments);}</script>
<script src="data:text/javascript;base64,Ly8="></script></body></html>
EOF
if [ -z "$single" ]; then
  mkdir -p "$out/history"
  prev=$(cat "$results/history/history.json" 2>/dev/null)
  echo "$prev+$results" > "$out/history/history.json"
fi
echo "hist=$MODEMCERT_ALLURE_HISTORY limit=$MODEMCERT_ALLURE_HISTORY_LIMIT" >> "$FAKE_ALLURE_LOG"
cats="$MODEMCERT_ALLURE_CATEGORIES"
[ -n "$cats" ] && cp "$cats" "$FAKE_ALLURE_LOG.categories"
exit 0
"""


@pytest.fixture
def fake_allure(tmp_path, monkeypatch):
    def install(version: str, fail: bool = False):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        script = bin_dir / "allure"
        script.write_text(FAKE)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.delenv(allure_render.ALLURE_ENV, raising=False)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
        monkeypatch.setenv("FAKE_ALLURE_LOG", str(tmp_path / "allure.log"))
        monkeypatch.setenv("FAKE_ALLURE_VERSION", version)
        if fail:
            monkeypatch.setenv("FAKE_ALLURE_FAIL", "1")
        return tmp_path / "allure.log"

    return install


def _only_one_report(run) -> None:
    """One report file in the run directory: no multi-file copy, no scratch left behind."""
    names = sorted(p.name for p in run.iterdir())
    assert SINGLE_FILE in names
    assert "allure-report" not in names
    assert not [n for n in names if n.startswith(".allure")]


def test_without_allure_says_how_to_install(new_run, reports_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(allure_render.ALLURE_ENV, raising=False)
    outcome = render_allure(new_run("r1").write(), reports_dir)
    assert outcome.path is None and outcome.message == INSTALL_HINT
    assert "npm install -g allure" in INSTALL_HINT and "\n" not in INSTALL_HINT


def test_allure2_one_file_and_its_history_carried_over(new_run, reports_dir, fake_allure):
    log = fake_allure("2.32.0")
    first = new_run("r1", started="2026-11-22T01:00:00+00:00").write()
    outcome = render_allure(first, reports_dir)
    assert outcome.path == first / SINGLE_FILE and outcome.path.is_file()
    assert (first / HISTORY_DIR / "history.json").is_file()
    _only_one_report(first)
    second = new_run("r2", started="2026-11-23T01:00:00+00:00").write()
    outcome = render_allure(second, reports_dir)
    assert "history carried over from r1" in outcome.message
    carried = (second / "allure-results" / "history" / "history.json").read_text()
    assert str(first / "allure-results") in carried
    history = (second / HISTORY_DIR / "history.json").read_text()
    assert str(first / "allure-results") in history and str(second / "allure-results") in history
    assert "--single-file --clean -o" in log.read_text()
    _only_one_report(second)


def test_allure3_config_one_history_file_with_a_limit_and_our_categories(
    new_run, reports_dir, fake_allure
):
    log = fake_allure("3.18.0")
    run = new_run("r1").write()
    outcome = render_allure(run, reports_dir, history=7)
    assert outcome.path == run / SINGLE_FILE and outcome.path.is_file()
    calls = log.read_text()
    assert f"generate {run / 'allure-results'} --output " in calls
    assert f"--config {ALLURERC}" in calls
    assert f"hist={(reports_dir / 'allure-history.jsonl').resolve()} limit=7" in calls
    categories = json.loads(log.with_name("allure.log.categories").read_text())
    assert categories == allure3_categories()
    text = ALLURERC.read_text()
    for env in ("MODEMCERT_ALLURE_HISTORY", "_LIMIT", "MODEMCERT_ALLURE_CATEGORIES"):
        assert env in text
    _only_one_report(run)


def test_the_report_page_loads_nothing_from_a_network(new_run, reports_dir, fake_allure):
    fake_allure("3.18.0")
    page = render_allure(new_run("r1").write(), reports_dir).path.read_text()
    assert "googletagmanager" not in page and "gtag(" not in page and "dataLayer" not in page
    assert "https://" not in page
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert 'src="data:text/javascript;base64,Ly8="' in page  # the report's own code stays


def test_offline_cuts_remote_scripts_and_links_and_keeps_inline_ones():
    html = (
        "<html><HEAD><link rel=stylesheet href='https://cdn.example/x.css'></HEAD><body>"
        '<script src="//cdn.example/a.js"></script><script>var keep = 1;</script>'
        "<script>gtag('config', 'G-1');</script></body></html>"
    )
    out = offline(html)
    assert "cdn.example" not in out and "gtag" not in out and "var keep = 1;" in out
    assert out.index("Content-Security-Policy") < out.index("<body>")
    assert "default-src 'none'" in CSP and "http" not in CSP


def test_history_files_are_trimmed(tmp_path):
    (tmp_path / "history-trend.json").write_text(json.dumps([{"n": i} for i in range(30)]))
    (tmp_path / "history.json").write_text(
        json.dumps({"abc": {"statistic": {}, "items": [{"uid": i} for i in range(30)]}})
    )
    trim_history(tmp_path, 5)
    assert len(json.loads((tmp_path / "history-trend.json").read_text())) == 5
    assert json.loads((tmp_path / "history.json").read_text())["abc"]["items"][-1] == {"uid": 4}


def test_a_failing_allure_is_reported_not_raised(new_run, reports_dir, fake_allure):
    fake_allure("2.32.0", fail=True)
    run = new_run("r1").write()
    outcome = render_allure(run, reports_dir)
    assert outcome.path is None and "exit 3: java not found" in outcome.message
    assert not [p for p in run.iterdir() if p.name.startswith(".allure")]


def test_report_command_never_fails_for_allure(cert_run, modemcert, fake_allure):
    fake_allure("2.32.0", fail=True)
    cert_run("r1")
    code, out, _ = modemcert("report")
    assert code == 0 and "Allure report failed" in out


def test_history_limit_option(cert_run, modemcert, fake_allure):
    log = fake_allure("3.18.0")
    cert_run("r1")
    code, _, err = modemcert("report", "--allure-history", "3")
    assert code == 0, err
    assert "limit=3" in log.read_text()
    code, _, err = modemcert("report", "--allure-history", "0")
    assert code == 2 and "--allure-history 0" in err


def test_something_else_called_allure(new_run, reports_dir, fake_allure):
    fake_allure("allure? never heard of it")
    outcome = render_allure(new_run("r1").write(), reports_dir)
    assert outcome.path is None and "did not name Allure 2 or 3" in outcome.message


def test_an_explicit_allure_wins_over_path(new_run, reports_dir, fake_allure, monkeypatch):
    log = fake_allure("3.18.0")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv(allure_render.ALLURE_ENV, str(log.parent / "bin" / "allure"))
    assert render_allure(new_run("r1").write(), reports_dir).path is not None


# -- the real Allure 3 --------------------------------------------------------------------------
def test_real_allure3_keeps_n_runs_of_history_and_one_offline_file(
    allure3, cert_run, reports_dir, monkeypatch
):
    monkeypatch.setenv(allure_render.ALLURE_ENV, allure3)
    sizes = []
    for night in range(4):
        run = cert_run(f"2026112{night}-181200-sim", seed=night, fail=("CLOSE",))
        outcome = render_allure(run, reports_dir, history=2)
        assert outcome.path == run / SINGLE_FILE, outcome.message
        _only_one_report(run)
        page = outcome.path.read_text(encoding="utf-8")
        assert "googletagmanager" not in page and "Content-Security-Policy" in page
        history = reports_dir / "allure-history.jsonl"
        sizes.append(len(history.read_text().splitlines()))
    assert sizes == [1, 2, 2, 2]


def test_real_allure3_reads_our_config(allure3, tmp_path):
    """allurerc.mjs loads in the real CLI (a syntax error there would only show at night)."""
    env = dict(os.environ, MODEMCERT_ALLURE_HISTORY=str(tmp_path / "h.jsonl"))
    done = subprocess.run(
        [allure3, "generate", str(tmp_path / "none"), "--config", str(ALLURERC), "--output",
         str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert "unsupported fields" not in done.stderr + done.stdout
