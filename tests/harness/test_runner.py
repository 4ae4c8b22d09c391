"""`modemcert run`: a run directory, reports/latest, the clause table and the exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PASSING = """
import pytest

@pytest.mark.clause("CLOSE-DEACT")
def test_deact(at):
    assert at.command("AT+QISTAT").final == "STATE: IP INITIAL"
"""
FAILING = """
import pytest

@pytest.mark.clause("ORDER")
def test_order(at):
    assert at.command("AT").final == "ERROR", "ORDER: a deliberately wrong expectation"
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "harness.cli", "run", "--reports-dir", str(tmp_path / "reports")]
    cmd += [*args, "--state-dir", str(tmp_path / "state")]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


def suite(tmp_path: Path, text: str) -> str:
    path = tmp_path / "test_mine.py"
    path.write_text(text)
    return str(path)


def test_a_passing_run_exits_0_and_points_latest_at_it(tmp_path):
    done = run(tmp_path, "--suite", suite(tmp_path, PASSING))
    assert done.returncode == 0, done.stdout + done.stderr
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink() and (latest / "timings.json").is_file()
    assert latest.resolve().name.endswith("-sim")
    row = next(line for line in done.stdout.splitlines() if line.startswith("CLOSE-DEACT"))
    assert "pass" in row
    assert "clauses ran, 0 did not pass" in done.stdout


def test_a_failing_clause_exits_1_and_comes_first(tmp_path):
    done = run(tmp_path, "--suite", suite(tmp_path, FAILING + PASSING.split("import pytest")[1]))
    assert done.returncode == 1, done.stdout + done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith(("ORDER", "CLOSE-"))]
    assert table[0].startswith("ORDER") and "fail" in table[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rig", "no-such-rig"), "no-such-rig"),
        (("--suite", "no-such-chapter"), "no suite 'no-such-chapter'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, args, message):
    done = run(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
