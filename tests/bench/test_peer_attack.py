"""bench/peer_attack.py --quick: every figure is measured and agrees with its verdict, no fuzz
request got a 500, a traceback or no end; the generator covers every category."""

from __future__ import annotations

import random
import re

import pytest

from harness.peer.guard import DATA_PER_SOURCE


@pytest.fixture
def attack(bench_module):
    return bench_module("peer_attack")


def test_quick_run_measures_every_figure(bench):
    done = bench("peer_attack.py", "--quick", "--seed", "7")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    sent, bad, control, data = done.verdicts()[-5:-1]
    assert sent.figure == "control fuzz requests sent" and sent.value == 1200 and sent.met
    assert bad.figure == "control fuzz 500s + tracebacks + hangs"
    assert bad.value == 0, done.stdout  # correctness, not timing: no request may break it
    for verdict in (sent, bad, control, data):
        assert verdict.agrees()
    assert 0 <= control.value <= 100 and 0 <= data.value <= 100
    last = done.last()
    assert last.figure == "figures met" and last.target == 4 and last.agrees()
    # The attacks happened: a thousand idle connections each, most of them turned away.
    assert int(done.row("idle from one address")[1]) == 1000
    assert int(done.row("idle from one address")[4]) < 100  # open at the end
    kept = re.search(r"1000 idle data connections \((\d+) kept open by the peer\)", done.stdout)
    assert kept is not None and 0 < int(kept.group(1)) <= DATA_PER_SOURCE, done.stdout
    for category in ("valid", "bad JSON", "bad length", "token", "slow", "random bytes"):
        assert int(done.row(category)[1]) > 0, category


def test_the_generator_makes_every_category_and_valid_requests_parse(attack):
    from harness.peer.wire import Body, Request, RequestReader

    gen = attack.Generator(random.Random(3), "t" * 20, [1, 2])
    seen = set()
    for _ in range(2000):
        category, data, shut = gen.next()
        seen.add(category)
        if category == "valid":
            reader = RequestReader()
            reader.receive(data)
            assert isinstance(reader.next_event(), Request)
            assert isinstance(reader.next_event(), Body)
        if category == "slow":
            assert not shut and b"\r\n\r\n" not in data
    assert seen == {name for name, _ in attack.Generator.CATEGORIES}


def test_outcomes_are_judged(attack):
    assert attack.is_fine("200") and attack.is_fine("404") and attack.is_fine("503")
    assert attack.is_fine("closed")
    for bad in ("500", "502", "reset", "hang", "garbled"):
        assert not attack.is_fine(bad), bad


def test_bad_options_are_refused_without_a_traceback(bench, user_error):
    user_error(bench("peer_attack.py", "--idle", "0"), "--idle", "must be above 0")
