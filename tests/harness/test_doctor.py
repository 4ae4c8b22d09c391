"""`modemcert doctor`: passes on the sim rig; on a broken rig one named line fails per broken
piece (port missing, port held, token short, peer down), with its fix, and the exit is 3."""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

import pytest

from harness import doctor
from harness.cli import main as cli
from harness.doctor import Status
from harness.errors import ExitCode
from harness.peer import PeerServer
from harness.rig import load_rig

TOKEN = "a-long-enough-control-token-0123"


def test_the_sim_rig_passes_every_line(capsys, tmp_path):
    assert cli(["doctor", "--rig", "sim", "--state-dir", str(tmp_path)]) == ExitCode.PASSED
    out = capsys.readouterr().out
    for line in (
        "state dir writable",
        "disk space",
        "serial port exists",
        "serial port not held",
        "adapter latency timer",
        "GPIO backend and chip",
        "line PWRKEY claimable",
        "STATUS readable",
        "peer control reachable",
        "peer data port reachable",
        "power on",
        "sync and baud",
        "identity",
        "SIM",
        "registration",
        "attach",
    ):
        assert f"[ ok ] {line}" in out, (line, out)
    assert "FAIL" not in out and out.rstrip().endswith("ready: every check passed")


@pytest.fixture
def peer():
    server = PeerServer(listen=("127.0.0.1", 0), control=("127.0.0.1", 0), token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def pty():
    master, slave = os.openpty()
    name = os.ttyname(slave)
    os.close(slave)  # the far side (the "module") keeps the master; nobody holds the port
    yield name
    os.close(master)


def bench(tmp_path: Path, port: str, control_url: str, data_port: int, token: str = TOKEN):
    """A hardware rig file on this machine: a PTY for the port, the local peer."""
    os.environ["DOCTOR_TEST_TOKEN"] = token
    path = tmp_path / "bench.toml"
    path.write_text(
        f"""
name = "bench"
kind = "hardware"
model = "M95"
state_dir = "{tmp_path / "state"}"
capabilities = []
[serial]
port = "{port}"
[gpio]
backend = "none"
[peer]
host = "127.0.0.1"
port = {data_port}
control_url = "{control_url}"
token_env = "DOCTOR_TEST_TOKEN"
"""
    )
    return load_rig(path)


def check(rig) -> doctor.Report:
    return doctor.run(rig, module=False)


def test_a_healthy_bench_without_its_module_passes(tmp_path, pty, peer):
    report = check(bench(tmp_path, pty, peer.control_url, peer.address[1]))
    assert report.exit_code() == ExitCode.PASSED, report.text()
    assert report.get("peer token").status is Status.OK
    assert report.get("peer control reachable").status is Status.OK
    assert report.get("station start").status is Status.OK


def test_a_missing_port_is_named(tmp_path, peer):
    report = check(bench(tmp_path, str(tmp_path / "ttyUSB9"), peer.control_url, peer.address[1]))
    line = report.get("serial port exists")
    assert line.status is Status.FAIL and "does not exist" in line.found and "by-id" in line.fix
    assert report.exit_code() == ExitCode.RIG_FAULT
    assert report.checks[-1].status is Status.SKIP  # what needs the port was not tried


def test_a_held_port_names_its_holder(tmp_path, pty, peer):
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another program holding the port
    try:
        report = check(bench(tmp_path, pty, peer.control_url, peer.address[1]))
    finally:
        os.close(fd)
    line = report.get("serial port not held")
    assert line.status is Status.FAIL and f"pid {os.getpid()}" in line.found, report.text()
    assert report.exit_code() == ExitCode.RIG_FAULT


def test_a_short_token_is_named(tmp_path, pty, peer):
    report = check(bench(tmp_path, pty, peer.control_url, peer.address[1], token="change-me"))
    line = report.get("peer token")
    assert line.status is Status.FAIL and "9 characters" in line.found and "16" in line.found
    assert report.get("peer control reachable").status is Status.SKIP
    assert report.exit_code() == ExitCode.RIG_FAULT


def test_a_peer_that_is_down_is_named(tmp_path, pty):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    report = check(bench(tmp_path, pty, f"http://127.0.0.1:{free}", free))
    assert report.get("peer control reachable").status is Status.FAIL, report.text()
    assert report.get("peer data port reachable").status is Status.FAIL
    assert report.get("peer token").status is Status.OK
    assert report.exit_code() == ExitCode.RIG_FAULT


def test_a_bad_rig_file_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "hardware"\n[serial]\nport = "/dev/x"\n')
    assert cli(["doctor", "--rig", str(bad)]) == ExitCode.USAGE
    assert "rig error" in capsys.readouterr().err
