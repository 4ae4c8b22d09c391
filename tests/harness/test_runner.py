"""`modemcert run`: a run directory, reports/latest, the clause table and the exit code."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.clock import Clock
from harness.files import RunLock
from harness.transport import Transport

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


@pytest.mark.parametrize("select", [("-k", "deact"), ("--deselect", "test_mine.py::test_order")])
def test_a_selection_is_what_the_run_planned_not_an_interruption(tmp_path, select):
    """-k and --deselect leave tests out before the run: it is complete, exit 0."""
    both = PASSING + FAILING.split("import pytest")[1]
    done = run(tmp_path, "--suite", suite(tmp_path, both), *select)
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = run_dirs(tmp_path)
    header = json.loads((run_dir / "timings.json").read_text())["run"]
    assert (header["status"], header["planned"]) == ("complete", 1)
    assert header["planned_clauses"] == {"CLOSE-DEACT": 1}


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
        (("--report-dir", "elsewhere"), "use --reports-dir DIR"),
        (("--report-dir=elsewhere",), "use --reports-dir DIR"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, args, message):
    done = run(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "elsewhere").exists()


# -- verdicts that never lie: interruptions and rig faults ------------------------------------
MANY = """
import pytest

@pytest.mark.clause("CLOSE-DEACT")
@pytest.mark.parametrize("n", range(30))
def test_many(at, n):
    assert at.command("AT").ok
"""
SIM_RIG = """\
name = "{name}"
kind = "sim"
time_scale = 0.02
state_dir = "{state}"
capabilities = ["power", "emerg_off", "status"]

[gpio]
backend = "sim"
pwrkey = {{ pin = 4, polarity = "active-high" }}
emerg_off = {{ pin = 17, polarity = "active-high" }}
status = {{ pin = 27, polarity = "active-high" }}

[peer]
host = "127.0.0.1"
"""
HARDWARE_RIG = """\
name = "bench"
kind = "hardware"
time_scale = 1.0
state_dir = "{state}"

[serial]
port = "{port}"

[gpio]
backend = "none"

[peer]
host = "203.0.113.10"
port = 7007
control_url = "{control}"
{token}
"""


def latest_run(tmp_path: Path) -> Path | None:
    latest = tmp_path / "reports" / "latest"
    return latest.resolve() if latest.is_symlink() else None


def run_dirs(tmp_path: Path) -> list[Path]:
    reports = tmp_path / "reports"
    return [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]


def test_ctrl_c_mid_test_is_interrupted_never_passed_and_exits_4(tmp_path):
    path = suite(tmp_path, STUCK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "harness.cli", "run", "--reports-dir", str(tmp_path / "reports")]
    cmd += ["--suite", path, "--state-dir", str(tmp_path / "state")]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        started = tmp_path / "started"
        deadline = Clock(1.0).deadline(60)
        while not started.exists() and proc.poll() is None and not deadline.expired:
            threading.Event().wait(0.05)
        assert started.exists(), proc.communicate()[0]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, out
    assert "INTERRUPTED after 1 of 2 tests" in out, out
    (run_dir,) = run_dirs(tmp_path)
    record = json.loads((run_dir / "timings.json").read_text())
    outcomes = {t["nodeid"].split("::")[1]: t["outcome"] for t in record["tests"]}
    assert outcomes == {"test_first": "passed", "test_stuck": "interrupted"}
    assert record["run"]["status"] == "interrupted"
    assert record["run"]["planned_clauses"] == {"ORDER": 1, "CLOSE-DEACT": 1}


STUCK = """
import pathlib
import threading
import pytest

@pytest.mark.clause("ORDER")
def test_first(at):
    assert at.command("AT").ok

@pytest.mark.clause("CLOSE-DEACT")
def test_stuck(at):
    at.command("AT")
    pathlib.Path("started").write_text("yes")
    threading.Event().wait(60)
"""


@pytest.mark.parametrize(
    ("rig_text", "key", "phrase"),
    [
        (SIM_RIG.replace('host = "127.0.0.1"', 'host = "localhost"'), "peer.host", "IPv4"),
        (SIM_RIG.replace('state_dir = "{state}"', 'state_dir = "/dev/null"'), "state_dir", "dir"),
        (SIM_RIG + '\n[sim]\nprofile = "m99"\n', "sim.profile", "unknown module profile"),
    ],
    ids=["peer-localhost", "state-dir-dev-null", "unknown-profile"],
)
def test_rig_file_mistakes_are_usage_errors_found_at_load(tmp_path, rig_text, key, phrase):
    rig = tmp_path / "bad.toml"
    rig.write_text(rig_text.format(name="bad", state=tmp_path / "state"))
    done = run(tmp_path, "--rig", str(rig), "--suite", suite(tmp_path, PASSING))
    assert done.returncode == 2, done.stdout + done.stderr
    assert key in done.stderr and phrase in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "reports").exists() or not run_dirs(tmp_path)


def hardware_rig(tmp_path: Path, port: str, control: str, token: str = "") -> str:
    rig = tmp_path / "bench.toml"
    text = HARDWARE_RIG.format(state=tmp_path / "state", port=port, control=control, token=token)
    rig.write_text(text)
    return str(rig)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_fault(done: subprocess.CompletedProcess, code: int, *phrases: str) -> str:
    """The run stopped once, with one clear message and no traceback per test."""
    out = done.stdout + done.stderr
    assert done.returncode == code, out
    for phrase in phrases:
        assert phrase in out, out
    assert "Traceback" not in out, out
    assert out.count("ERROR at setup") + out.count("ERROR at teardown") <= 1, out
    assert " failed" not in out.split("short test summary")[-1].split("\n")[-2], out
    return out


def test_a_missing_port_stops_the_run_once_with_exit_3(tmp_path):
    rig = hardware_rig(tmp_path, "/dev/ttyMODEMCERT-NONE", f"http://127.0.0.1:{free_port()}")
    done = run(tmp_path, "--rig", rig, "--suite", suite(tmp_path, MANY))
    one_fault(done, 3, "/dev/ttyMODEMCERT-NONE", "STOPPED (rig fault) after 0 of 30 tests")
    assert latest_run(tmp_path) is None, "reports/latest only points at runs that certified"
    (run_dir,) = run_dirs(tmp_path)
    record = json.loads((run_dir / "timings.json").read_text())
    assert record["run"]["status"] == "aborted" and record["run"]["stop_category"] == "rig fault"
    assert all(t["outcome"] != "failed" for t in record["tests"])


def test_a_busy_port_names_the_holder_and_exits_3(tmp_path):
    master, slave = os.openpty()
    port = os.ttyname(slave)
    held = Transport(port)
    held.open()
    try:
        rig = hardware_rig(tmp_path, port, f"http://127.0.0.1:{free_port()}")
        done = run(tmp_path, "--rig", rig, "--suite", suite(tmp_path, MANY))
    finally:
        held.close()
        os.close(master)
        os.close(slave)
    one_fault(done, 3, port, "STOPPED (rig fault)")


def test_an_unreachable_peer_stops_the_run_once_with_exit_3(tmp_path):
    master, slave = os.openpty()
    try:
        rig = hardware_rig(tmp_path, os.ttyname(slave), f"http://127.0.0.1:{free_port()}")
        done = run(tmp_path, "--rig", rig, "--suite", suite(tmp_path, MANY))
    finally:
        os.close(master)
        os.close(slave)
    one_fault(done, 3, "peer", "STOPPED (rig fault)")


def test_a_missing_peer_token_is_one_usage_error(tmp_path):
    master, slave = os.openpty()
    token = 'token_env = "MODEMCERT_TEST_TOKEN_NOT_SET"'
    try:
        rig = hardware_rig(tmp_path, os.ttyname(slave), "http://127.0.0.1:7008", token)
        done = run(tmp_path, "--rig", rig, "--suite", suite(tmp_path, MANY))
    finally:
        os.close(master)
        os.close(slave)
    one_fault(done, 2, "MODEMCERT_TEST_TOKEN_NOT_SET", "STOPPED (usage error)")


def test_a_second_run_on_the_same_rig_refuses_naming_the_first(tmp_path):
    state = tmp_path / "state"
    with RunLock(state, "rig 'sim'"):
        done = run(tmp_path, "--suite", suite(tmp_path, PASSING))
    one_fault(done, 3, f"pid {os.getpid()}", "in use by another run")


@pytest.fixture
def small_disk(tmp_path):
    """A 192 KiB tmpfs: a run's reports fill it within a few tests."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}): needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_run_with_one_line_and_exit_3(tmp_path, small_disk):
    reports = small_disk / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "harness.cli", "run", "--reports-dir", str(reports)]
    cmd += ["--suite", suite(tmp_path, MANY), "--state-dir", str(tmp_path / "state")]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert "no space left on" in out and "the run is incomplete" in out, out
    assert "INTERNALERROR" not in out and "Traceback" not in out, out
    assert not (reports / "latest").exists(), "latest never points at a broken run"
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir()]
    record = json.loads((run_dir / "timings.json").read_text())  # the last good copy
    assert record["format"] == "modemcert-timings/1"
