"""`modemcert power on|off|emergency|status` on a Pi rig (fake RPi.GPIO) and on the sim rig:
what it does to the lines, its one-line answers and its exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import main as cli
from harness.errors import ExitCode
from harness.power_cli import act
from harness.rig import load_rig

ROOT = Path(__file__).resolve().parents[3]
PWRKEY, EMERG_OFF, STATUS = 4, 17, 27


@pytest.fixture
def pi_rig(tmp_path):
    """rigs/pi-m95.toml with its port on a PTY and its state dir in tmp."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    os.close(slave)
    text = (ROOT / "rigs" / "pi-m95.toml").read_text()
    text = text.replace('port = "/dev/serial0"', f'port = "{name}"').replace(
        '"/var/lib/modemcert/pi-m95"', f'"{tmp_path / "state"}"'
    )
    path = tmp_path / "pi.toml"
    path.write_text(text)
    yield load_rig(path)
    os.close(master)


def test_status_reads_the_status_line(fake_rpi, pi_rig):
    assert act(pi_rig, "status") == "off"
    fake_rpi.header.external[STATUS] = 1
    assert act(pi_rig, "status") == "on"


def test_off_of_an_off_module_does_not_press(fake_rpi, pi_rig):
    assert act(pi_rig, "off") == "off: PWRKEY off: already off"
    assert ("output", PWRKEY, 1) not in fake_rpi.calls.names()
    assert fake_rpi.calls.names()[-1] == ("cleanup", [PWRKEY, EMERG_OFF, STATUS])


def test_emergency_that_changes_nothing_is_exit_3(fake_rpi, pi_rig, capsys):
    fake_rpi.header.external[STATUS] = 1  # STATUS stays high whatever EMERG_OFF does
    code = cli(["power", "emergency", "--rig", str(pi_rig.file), "--wait-lock", "0"])
    assert code == ExitCode.RIG_FAULT
    assert "STATUS stayed high" in capsys.readouterr().err
    assert fake_rpi.header.pulses(EMERG_OFF, 1, 1.0)  # it did pull EMERG_OFF


def test_a_rig_in_use_is_waited_for_then_refused(fake_rpi, pi_rig, capsys):
    from harness.files import RunLock

    with RunLock(pi_rig.state_dir):
        code = cli(["power", "off", "--rig", str(pi_rig.file), "--wait-lock", "0.2"])
    assert code == ExitCode.RIG_FAULT and "in use by another run" in capsys.readouterr().err


def test_on_the_sim_rig(capsys, tmp_path):
    state = ["--state-dir", str(tmp_path)]  # not the shared .modemcert/state/sim
    assert cli(["power", "status", "--rig", "sim", *state]) == ExitCode.PASSED
    assert capsys.readouterr().out.strip() == "modemcert power status (sim): off"
    assert cli(["power", "off", "--rig", "sim", *state]) == ExitCode.PASSED
    assert "PWRKEY off" in capsys.readouterr().out
