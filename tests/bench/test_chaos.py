"""bench/chaos.py: a short faulty run proves zero loss and documented branches; the delivery
check itself catches duplicates and gaps; the script's verdict line and its option errors."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.peer import ConnStats, sha256_hex
from harness.peer.stats import Ended
from harness.process import Sender

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "chaos.py"


def _load():
    spec = importlib.util.spec_from_file_location("modemcert_bench_chaos", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


chaos = _load()


def test_a_short_faulty_run_loses_nothing_and_every_session_is_documented():
    report = chaos.run(20, seed=3, scale=0.01, rate=0.25)
    assert len(report.outcomes) == 20 and not report.hung
    problems = [(o.index, o.faults, o.detail) for o in report.outcomes if o.detail.strip()]
    assert report.loss == 0 and report.undocumented == 0, problems
    assert report.receive_mismatch == 0, problems
    assert any(o.faults for o in report.outcomes), "a run with faults was meant"
    assert report.last_line() == "sessions-with-loss: 0 of 20 (target == 0) MET"
    lines = chaos.table(report)
    assert lines[0].startswith("fault@operation") and len(lines) > 2


def _conn(cid: int, data: bytes) -> ConnStats:
    return ConnStats(
        cid, "tcp", ("127.0.0.1", 1), len(data), 0, sha256_hex(data), sha256_hex(b""),
        None, None, Ended.PEER_CLOSED, "echo",
    )  # fmt: skip


def _two_links(stream: bytes, cut: int) -> Sender:
    sender = Sender("TCP")
    sender.add(stream)
    sender.start_link("TCP", "127.0.0.1", 1)
    sender.handed_over(len(stream))
    sender.acknowledge(cut)
    sender.end_link("broken")
    sender.start_link("TCP", "127.0.0.1", 1)  # the tail from `cut` goes out again
    sender.handed_over(len(stream) - cut)
    sender.acknowledge(len(stream))
    sender.end_link("closed")
    return sender


def test_the_delivery_check_proves_a_resend_and_catches_duplicates_and_gaps():
    stream = bytes(range(200))
    sender = _two_links(stream, 120)
    exact = [_conn(1, stream[:120]), _conn(2, stream[120:])]
    assert chaos.check_delivery(exact, sender, stream) == ""
    duplicated = [_conn(1, stream[:130]), _conn(2, stream[120:])]  # 10 bytes arrived twice
    assert "connection 1 got 130 bytes" in chaos.check_delivery(duplicated, sender, stream)
    gap = [_conn(1, stream[:120]), _conn(2, stream[125:])]
    assert "connection 2" in chaos.check_delivery(gap, sender, stream)
    assert "2 links but 1" in chaos.check_delivery(exact[:1], sender, stream)
    assert "given 200 bytes" in chaos.check_delivery(exact, sender, stream + b"x")


def test_the_script_prints_its_verdict_last():
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--sessions", "2", "--seed", "5", "--rate", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-1] == "sessions-with-loss: 0 of 2 (target == 0) MET"
    assert any(re.match(r"\(none\)\s+2\s+2\s+2\s+2", line) for line in lines)


@pytest.mark.parametrize(
    "args, words",
    [(["--sessions", "0"], "whole number of sessions"), (["--scale", "5"], "0.001..1")],
)
def test_bad_options_get_one_clear_error(args, words):
    run = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and words in run.stderr and "Traceback" not in run.stderr
