"""`modemcert peer`: start-up output, clean stop on SIGTERM/SIGINT, one-line errors, status 2."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness.cli import main as modemcert
from harness.clock import Clock
from harness.peer import PeerControl, sha256_hex
from harness.peer.auth import TOKEN_ENV

TOKEN = "test-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.timeout(60)


def run(argv, capsys):
    code = modemcert(["peer", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--listen", "127.0.0.1"], "--listen '127.0.0.1' has no port"),
        (["--listen", "127.0.0.1:99999"], "outside 0..65535"),
        (["--control", "nowhere!:7008"], "--control 'nowhere!:7008'"),
        (["--listen", "127.0.0.1:0", "--control", "0.0.0.0:0"], "needs a token"),
        (
            ["--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--token-file", "/nonexistent"],
            "cannot read the token file /nonexistent",
        ),
        (["--idle-timeout", "0"], "--idle-timeout 0: must be above 0 seconds"),
        (["--head-timeout", "nan"], "--head-timeout nan: must be above 0 seconds and finite"),
        (["--per-source", "0"], "--per-source 0: must be a whole number ≥ 1"),
        (["--per-source", "5000"], "--per-source 5000: data_per_source (5000) is over"),
        (["--control-per-source", "-3"], "--control-per-source -3: must be a whole number"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, words, capsys, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert words in err and err.startswith("modemcert peer: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_port_in_use_exits_2(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(["--listen", f"127.0.0.1:{port}", "--control", "127.0.0.1:0"], capsys)
    assert code == 2 and f"127.0.0.1:{port} is already in use" in err and "ss -ltnup" in err


def test_short_token_from_environment_exits_2(capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "tiny")
    code, _, err = run(["--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"], capsys)
    assert code == 2 and f"${TOKEN_ENV}" in err and "at least 16" in err


def start(tmp_path, *extra, env_token=None):
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    if env_token:
        env[TOKEN_ENV] = env_token
    argv = [sys.executable, "-m", "harness.cli", "peer", "--listen", "127.0.0.1:0"]
    argv += ["--control", "127.0.0.1:0", *extra]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    banner = [proc.stdout.readline() for _ in range(5)]
    return proc, "".join(banner)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_runs_until_signalled_and_serves(tmp_path, stop):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    proc, banner = start(tmp_path, "--token-file", str(token_file))
    try:
        assert "modemcert peer: listening" in banner, banner + proc.stderr.read()
        assert f"token required (from file {token_file})" in banner
        assert "loopback only" in banner
        port = int(re.search(r"TCP and UDP 127\.0\.0\.1:(\d+)", banner).group(1))
        url = re.search(r"control\s+(http://\S+)", banner).group(1)
        clock = Clock(0.02)
        pc = PeerControl(url, token=TOKEN, clock=clock)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"over the VPS")
            assert s.recv(64) == b"over the VPS"
            conn = pc.wait_connection(250.0)
            assert pc.wait_bytes(conn, 12, 250.0).sha256_in == sha256_hex(b"over the VPS")
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "tcp #1 127.0.0.1:" in out and "connected (echo)" in out
    assert f"{signal.Signals(stop).name}, stopping" in out and "stopped" in out
    assert "Traceback" not in err


def test_token_from_environment_and_quiet(tmp_path):
    proc, banner = start(tmp_path, "--quiet", env_token=TOKEN)
    try:
        assert f"token required (from ${TOKEN_ENV})" in banner, banner
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["modemcert peer: SIGTERM, stopping", "modemcert peer: stopped"]


def test_limits_from_the_options_are_in_the_banner_and_applied(tmp_path):
    argv = ["--idle-timeout", "90", "--head-timeout", "1.5", "--per-source", "7"]
    proc, banner = start(tmp_path, *argv, "--control-per-source", "3")
    try:
        assert "7 connections per address, idle timeout 90 s; control head within 1.5 s" in banner
        url = re.search(r"control\s+(http://\S+)", banner).group(1)
        with urllib.request.urlopen(url + "/info", timeout=10) as answer:
            limits = json.load(answer)["limits"]
        assert (limits["idle_timeout"], limits["head_wall"]) == (90.0, 1.5)
        assert (limits["data_per_source"], limits["control_per_source"]) == (7, 3)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
