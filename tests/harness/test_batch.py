"""Batch runs: several modules at once, conflicts refused before anything starts, a module that
fails or faults never stops the others, and the batch exits with the worst of its runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.batch import BatchConflict, check_conflicts
from harness.clauses import CLAUSES
from harness.files import RunLock
from harness.rig import load_rig

SUITE = """
import pytest

@pytest.mark.clause("CLOSE-DEACT")
def test_state(at):
    assert at.command("AT+QISTAT").final == "STATE: IP INITIAL"

@pytest.mark.clause("ORDER")
def test_at(at):
    assert at.command("AT").ok
"""
SIM = """\
name = "{name}"
kind = "sim"
time_scale = 0.02
state_dir = "{state}"

[gpio]
backend = "sim"
pwrkey = {{ pin = 4, polarity = "active-high" }}
status = {{ pin = 27, polarity = "active-high" }}

[peer]
host = "127.0.0.1"

[sim]
profile = "{profile}"
seed = {seed}
"""
HARDWARE = """\
name = "{name}"
kind = "hardware"
state_dir = "{state}"

[serial]
port = "{port}"

[gpio]
backend = "rpi"
pwrkey = {{ pin = {pin}, polarity = "active-high" }}

[peer]
host = "203.0.113.10"
port = 7007
control_url = "http://127.0.0.1:7008"
"""


def sim_rig(
    tmp_path: Path, name: str, profile: str = "m95", seed: int = 0, state: str = ""
) -> Path:
    path = tmp_path / f"{name}.toml"
    state = state or str(tmp_path / "state" / name)
    path.write_text(SIM.format(name=name, state=state, profile=profile, seed=seed))
    return path


def batch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_batch_suite.py").write_text(SUITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "harness.cli", "run", "--reports-dir", str(tmp_path / "reports")]
    cmd += ["--suite", str(tmp_path / "test_batch_suite.py"), *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def the_batch(tmp_path: Path) -> tuple[Path, dict]:
    (folder,) = (tmp_path / "reports").glob("batch-*")
    return folder, json.loads((folder / "batch.json").read_text())


def test_two_modules_pass_each_in_its_own_run(tmp_path):
    a = sim_rig(tmp_path, "mod-a", "m95", 1)
    b = sim_rig(tmp_path, "mod-b", "mc60", 2)
    done = batch(tmp_path, "--rig", str(a), "--rig", str(b))
    assert done.returncode == 0, done.stdout + done.stderr
    folder, record = the_batch(tmp_path)
    assert record["done"] and [r["rig"] for r in record["runs"]] == ["mod-a", "mod-b"]
    for run in record["runs"]:
        assert run["exit"] == 0
        timings = json.loads((folder / run["run"] / "timings.json").read_text())
        assert {t["outcome"] for t in timings["tests"]} == {"passed"}
        assert timings["run"]["rig"] == run["rig"]
    models = {
        json.loads((folder / r["run"] / "timings.json").read_text())["module"]["model"]
        for r in record["runs"]
    }
    assert models == {"Quectel_M95", "Quectel_MC60"}, "each module answered on its own port"
    lines = [ln for ln in done.stdout.splitlines() if ln.strip().startswith(("mod-a", "mod-b"))]
    assert any("done" in ln and "exit 0" in ln for ln in lines if "mod-a" in ln)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "harness.cli", "report", str(folder)]
    shown = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    summary = (folder / "summary.html").read_text()
    assert "mod-a" in summary and "mod-b" in summary and "Quectel_MC60" in summary
    assert summary.count("<tr>") >= 2 + len(CLAUSES), "a row per module and per clause"
    for run in record["runs"]:
        for name in ("report.html", "certificate.html"):
            assert (folder / run["run"] / name).is_file()
            assert f'href="{run["run"]}/{name}"' in summary


def test_a_faulted_module_never_stops_the_others_and_the_worst_exit_wins(tmp_path):
    a = sim_rig(tmp_path, "mod-a")
    b = sim_rig(tmp_path, "mod-b")
    with RunLock(tmp_path / "state" / "mod-b"):  # mod-b's rig is busy: a rig fault, exit 3
        done = batch(tmp_path, "--rig", str(a), "--rig", str(b), "--jobs", "1")
    assert done.returncode == 3, done.stdout + done.stderr
    _, record = the_batch(tmp_path)
    exits = {r["rig"]: r["exit"] for r in record["runs"]}
    assert exits == {"mod-a": 0, "mod-b": 3}


def test_rigs_from_a_directory(tmp_path):
    folder = tmp_path / "bench"
    folder.mkdir()
    sim_rig(folder, "mod-a", seed=3)
    sim_rig(folder, "mod-b", seed=4)
    done = batch(tmp_path, "--rigs", str(folder))
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["rig"] for r in the_batch(tmp_path)[1]["runs"]] == ["mod-a", "mod-b"]


def test_rigs_sharing_a_state_dir_are_refused_before_anything_starts(tmp_path):
    shared = str(tmp_path / "state" / "shared")
    a = sim_rig(tmp_path, "mod-a", state=shared)
    b = sim_rig(tmp_path, "mod-b", state=shared)
    done = batch(tmp_path, "--rig", str(a), "--rig", str(b))
    assert done.returncode == 2
    assert str(a) in done.stderr and str(b) in done.stderr and "state_dir" in done.stderr
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").iterdir())


@pytest.mark.parametrize(
    ("second", "what"),
    [
        ({"port": "/dev/ttyUSB0", "pin": 5}, "serial port"),
        ({"port": "/dev/ttyUSB1", "pin": 4}, "GPIO 4"),
    ],
)
def test_rigs_sharing_a_port_or_a_pin_conflict(tmp_path, second, what):
    rigs = []
    for name, values in (("one", {"port": "/dev/ttyUSB0", "pin": 4}), ("two", second)):
        path = tmp_path / f"{name}.toml"
        path.write_text(HARDWARE.format(name=name, state=tmp_path / name, **values))
        rigs.append(load_rig(path))
    with pytest.raises(BatchConflict) as info:
        check_conflicts(rigs)
    assert what in str(info.value) and str(rigs[0].file) in str(info.value)


def test_two_links_to_one_adapter_are_one_port(tmp_path):
    device = tmp_path / "ttyUSB0"
    device.touch()
    link = tmp_path / "usb-FTDI-by-id"
    link.symlink_to(device)
    rigs = []
    for name, port, pin in (("one", device, 4), ("two", link, 5)):
        path = tmp_path / f"{name}.toml"
        path.write_text(HARDWARE.format(name=name, state=tmp_path / name, port=port, pin=pin))
        rigs.append(load_rig(path))
    with pytest.raises(BatchConflict, match="serial port"):
        check_conflicts(rigs)
