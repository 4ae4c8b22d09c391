"""The suites on a rig with no power lines (a module on a serial port only): every test passes
or is skipped naming the capability it lacks; none errors, none drags a clause to "error"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: A simulated module wired like rigs/uart-only.toml: no PWRKEY, EMERG_OFF, STATUS or supply.
UART_ONLY_SIM = """\
name = "sim-uart-only"
kind = "sim"
time_scale = 0.02
state_dir = "{state}"
capabilities = ["peer.refuse", "peer.hold", "peer.close", "peer.push", "peer.silent",
                "rig.wrong_apn", "sim.faults"]

[gpio]
backend = "sim"

[peer]
host = "127.0.0.1"
"""


def test_process_based_tests_skip_on_a_rig_without_power_lines(tmp_path):
    rig = tmp_path / "uart-only-sim.toml"
    rig.write_text(UART_ONLY_SIM.format(state=tmp_path / "state"))
    report = tmp_path / "report"
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "suites" / "test_flow.py"), "-q"]
    cmd += ["-p", "no:cacheprovider", "--rig", str(rig), "--report-dir", str(report), "-rs"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    tests = json.loads((report / "timings.json").read_text())["tests"]
    outcomes = {t["nodeid"].split("::")[1]: t["outcome"] for t in tests}
    assert set(outcomes.values()) <= {"passed", "skipped"}, done.stdout[-3000:]
    skipped = [t for t in tests if t["outcome"] == "skipped"]
    assert skipped and all("lacks capability" in t["message"] for t in skipped), skipped
    assert "test_connect_fail_deactivate_and_retry" in {t["nodeid"].split("::")[1] for t in skipped}
    assert done.returncode == 0, done.stdout[-3000:]
