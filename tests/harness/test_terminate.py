"""SIGTERM as an exception (harness/terminate.py), in this process and in a child that holds
real lines: inside the safe state they are released, outside it they stay held."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _line_fakes import STUCK

from harness.terminate import Terminated, terminate_raises


def test_sigterm_becomes_an_exception_and_handlers_are_restored():
    before_term = signal.getsignal(signal.SIGTERM)
    before_int = signal.getsignal(signal.SIGINT)
    with pytest.raises(Terminated), terminate_raises():
        assert signal.getsignal(signal.SIGINT) is before_int  # pytest's Ctrl+C is untouched
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before_term
    assert issubclass(Terminated, KeyboardInterrupt)  # pytest stops the run, teardown runs


CHILD = Path(__file__).parent / "power" / "sigterm_child.py"


def run_child(tmp_path, mode: str) -> tuple[int, dict]:
    """Start the child, wait for it to hold its lines, SIGTERM it, return (status, pins)."""
    state = tmp_path / "pins.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(state), mode],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        status = child.wait(timeout=STUCK)
    finally:
        child.kill()
        child.stdout.close()
    return status, json.loads(state.read_text())


def test_sigterm_leaves_the_lines_released(tmp_path):
    status, pins = run_child(tmp_path, "safe")
    assert status == 143  # Terminated reached the top: finalizers ran
    assert pins["claimed"] == []
    assert pins["levels"] == {"4": False, "17": False, "22": False}


def test_without_safe_state_sigterm_leaves_lines_held(tmp_path):
    # The control: the same child outside safe_state() dies with PWRKEY pressed.
    status, pins = run_child(tmp_path, "bare")
    assert status == -signal.SIGTERM
    assert pins["claimed"] == [4, 17, 22]
    assert pins["levels"]["4"] is True
