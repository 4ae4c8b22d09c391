"""Getting the rig back mid-run: a serial port that disappears and comes back (a PTY that is
really closed and replaced, behind a stable link), RTS/CTS, and recovery reboots paced by
PWR-BACKOFF and recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness import limits
from harness.clock import epoch
from harness.errors import RigFault
from harness.power import BackOff, BackOffActive
from harness.recovery import FlowControlRefused, PortLost
from harness.rig import load_rig
from harness.rigenv import run_environment
from harness.transport import PortClosed

sys.path.insert(0, str(Path(__file__).parent))
from unplug import station_class

ROOT = Path(__file__).resolve().parents[2]


def rig_with(tmp_path: Path, *extra: str, name: str = "sim-unplug"):
    """The sim rig with lines added to its [serial] table."""
    text = (ROOT / "rigs" / "sim.toml").read_text()
    text = text.replace("[serial]\n", "[serial]\n" + "\n".join(extra) + "\n")
    (tmp_path / "rigs").mkdir(exist_ok=True)
    path = tmp_path / "rigs" / f"{name}.toml"
    path.write_text(text.replace('name = "sim"', f'name = "{name}"'))
    return load_rig(path)


@pytest.fixture
def unpluggable(tmp_path):
    """start(rig=None) → (station, port): a sim station brought up through an UnpluggablePort."""
    made = []

    def start(rig=None):
        ports: list = []
        cls = station_class(tmp_path / "usb-sim-if00-port0", ports)
        rig = rig or rig_with(tmp_path)
        station = cls(rig, tmp_path / "run", state_dir=tmp_path / "state").start()
        made.append(station)
        station.bring_up()
        return station, ports[0]

    yield start
    for station in made:
        station.close()


def test_a_replugged_port_is_reopened_resynced_and_recorded(unpluggable):
    station, port = unpluggable()
    boots = station.sim.status().boot_count
    port.unplug()
    with pytest.raises(PortClosed):
        station.channel.command("AT")
    assert not station.alive()
    threading.Timer(0.3, port.plug).start()  # the adapter comes back a moment later
    done = station.recover("the module did not answer AT after test_x")
    assert "came back after" in done and "resynchronised" in done
    assert port.plugs == 2 and os.path.exists(port.path)  # a new PTY behind the same name
    assert station.alive()
    assert station.sim.status().boot_count == boots  # the module was not rebooted for it
    [outage] = station.outages
    assert outage.port == port.path and outage.seconds >= 0.25 and outage.tries >= 1
    notes = station.transcript.text()
    assert "port lost" in notes and "came back after" in notes
    env = run_environment(station)  # what the run record says about it
    assert [o["port"] for o in env["serial_outages"]] == [port.path]
    assert env["limits_profile"] == "M95" and env["timing_resolution_ms"] == 0.0


def test_a_port_that_stays_away_is_a_rig_fault_naming_it(unpluggable, tmp_path):
    station, port = unpluggable(rig_with(tmp_path, "reconnect = 0.5"))
    port.unplug()
    with pytest.raises(PortLost, match=r"did not come back within 0\.5 s.*reconnect") as info:
        station.recover("lost")
    assert isinstance(info.value, RigFault)


def test_rtscts_asks_the_module_for_hardware_flow_control(tmp_path):
    """RTS/CTS on the port, and AT+IFC=2,2 after INIT-SYNC; the simulated M95 refuses the
    command (ERROR), which must stop the bring-up as a rig fault naming the setting."""
    ports: list = []
    cls = station_class(tmp_path / "usb-sim-if00-port0", ports)
    station = cls(rig_with(tmp_path, "rtscts = true"), tmp_path / "run", state_dir=tmp_path / "st")
    try:
        station.start()
        with pytest.raises(FlowControlRefused, match=r"AT\+IFC=2,2.*rtscts = false") as info:
            station.bring_up()
        assert isinstance(info.value, RigFault)
        notes = [e.text for e in station.transcript.entries() if e.dir == "note"]
        assert any("RTS/CTS hardware flow control on" in n for n in notes)
        assert station.transport._port.rtscts is True
    finally:
        station.close()


def test_recovery_waits_for_the_backoff_and_records_it(unpluggable):
    station, _ = unpluggable()
    clock = station.clock
    # The previous reboot (an earlier run) was 540 s of module time ago: 60 s still to wait,
    # more than the liveness probe below takes even on a loaded machine (~2 s, 40 ms wall).
    BackOff(station.state_dir, clock, now=lambda: epoch() - clock.to_wall(540)).record("before")
    recorded = []
    station.power._record = recorded.append
    station.sim.inject("silent")
    assert not station.alive()
    station.recover("silent module")
    assert station.alive()
    pace = next(t for t in recorded if t.clause == "PWR-BACKOFF")
    assert pace.measured >= 5 and "waited" in pace.note  # module seconds
    history = [r.reason for r in station.backoff.history()]
    assert history == ["before", "silent module"]


def test_recovery_refuses_a_backoff_longer_than_a_test_can_wait(unpluggable):
    station, _ = unpluggable()
    clock = station.clock
    for ago in (700, 100):  # a streak: the next reboot must wait 30 min
        BackOff(station.state_dir, clock, now=lambda a=ago: epoch() - clock.to_wall(a)).record()
    station.sim.inject("silent")
    with pytest.raises(BackOffActive, match="PWR-BACKOFF") as info:
        station.recover("silent again")
    assert info.value.decision.delay == limits.BACKOFF[2]
    assert isinstance(info.value, RigFault)
    assert len(station.backoff.history()) == 2  # nothing rebooted, nothing recorded


@pytest.mark.timeout(300)
def test_an_unplug_mid_suite_costs_one_test_not_the_night(tmp_path):
    """The whole plugin and runner: test 3 of 5 loses its port as it starts; it errors (rig
    fault), the next test's fixture waits for the port, and every later test passes."""
    link = tmp_path / "usb-sim-if00-port0"
    tests = [  # in file order; none times the power-on itself (load at start-up is not theirs)
        "test_cgreg_registered_within_30s",
        "test_cgatt_attached",
        "test_qifgcnt_selects_context_0",
        "test_qicsgp_sets_gprs_and_the_apn",
        "test_qimode_1_selects_transparent_mode",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)]),
        "MODEMCERT_UNPLUG_LINK": str(link),
        "MODEMCERT_UNPLUG_TEST": tests[2],
        "MODEMCERT_REPLUG_AFTER": "0.5",
    }
    cmd = [
        sys.executable, "-m", "harness.cli", "run", "--rig", "sim", "--suite", "init",
        "--reports-dir", str(tmp_path / "reports"), "--state-dir", str(tmp_path / "state"),
        "-p", "unplug_plugin", "-k", " or ".join(tests),
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    [record] = [
        p for p in (tmp_path / "reports").glob("*/timings.json") if not p.parent.is_symlink()
    ]
    data = json.loads(record.read_text())
    outcomes = {t["nodeid"].rsplit("::", 1)[1]: t for t in data["tests"]}
    assert set(outcomes) == set(tests), done.stdout[-3000:]
    lost = outcomes[tests[2]]
    assert lost["outcome"] == "error" and lost["category"] == "rig fault", lost
    for name in tests[:2] + tests[3:]:  # every other test ran to a verdict on the module
        # (a sim step judged late on a loaded host fails as the module's: still a verdict)
        outcome = outcomes[name]
        assert outcome["outcome"] in ("passed", "failed"), (name, outcome, done.stdout[-3000:])
        assert outcome["category"] not in ("rig fault", "interrupted", "harness error"), outcome
    assert sum(outcomes[n]["outcome"] == "passed" for n in tests) >= 3, outcomes
    assert "came back after" in (outcomes[tests[3]].get("recovered") or ""), outcomes[tests[3]]
    assert data["run"].get("status") != "aborted"
    assert done.returncode == 3  # a rig fault happened: the run says so (it outranks the rest)
