"""`modemcert sim`: options, clear errors, and a real standalone run stopped by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import serial

from harness.cli import main
from harness.clock import Clock
from harness.sim import MUTATIONS

WALL = Clock(1.0)


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["sim", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--profile",
        "--set",
        "--scale",
        "--state-dir",
        "--seed",
        "--power",
        "--control",
        "--map",
        "--host",
        "--mutate",
        "--request",
    ):
        assert option in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "nope=1"], "profile has no setting 'nope'"),
        (["--set", "cpin_space"], "expected FIELD=VALUE"),
        (["--scale", "7"], "time scale 7.0 is outside"),
        (["--map", "1.2.3.4=8.8.8.8"], "not on 127.0.0.0/8"),
        (["--mutate", "explode"], "unknown mutation"),
        (["--control", "tcp:0.0.0.0:1", "--request", "status"], "loopback only"),
        (["--request", "status"], "needs --control"),
    ],
)
def test_bad_input_is_one_clear_error(capsys, argv, message):
    assert main(["sim", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_lists(capsys):
    assert main(["sim", "--list-mutations", "--list-faults", "--list-settings"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in MUTATIONS)
    assert "qiact_hang" in out and "cpin_space" in out


def _line(stream) -> bytes:
    box: list[bytes] = []
    done = threading.Event()
    threading.Thread(
        target=lambda: (box.append(stream.readline()), done.set()), daemon=True
    ).start()
    assert WALL.wait(done, 20), "modemcert sim printed nothing"
    return box[0]


@pytest.mark.parametrize("profile", ["m95", "rough"])
def test_standalone_run_until_sigterm(tmp_path, profile):
    control = tmp_path / "control.sock"
    link = tmp_path / "ttyM95"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "sim",
            "--scale",
            "0.01",
            "--control",
            str(control),
            "--state-dir",
            str(tmp_path / "state"),
            "--link",
            str(link),
            "--seed",
            "3",
            "--profile",
            profile,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port = _line(proc.stdout).decode().strip()
        assert port.startswith("/dev/") and link.resolve() == Path(port)
        host = serial.Serial(port, 115200, timeout=0)
        answered = b""
        for _ in range(50):  # INIT-SYNC by hand
            host.write(b"AT\r")
            WALL.sleep(0.2)
            answered += host.read(4096)
            if b"OK" in answered:
                break
        assert b"OK" in answered
        host.close()
        status = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "sim",
                "--control",
                str(control),
                "--request",
                "status",
            ],
            capture_output=True,
            timeout=30,
            check=True,
        )
        assert b'"powered": true' in status.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"stopped" in err and b"Traceback" not in err
    assert f"({profile} profile, seed 3)".encode() in err
    assert not control.exists() and not link.exists()
