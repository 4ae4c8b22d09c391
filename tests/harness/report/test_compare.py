"""The comparison: verdict regressions and fixes, and timing moves beyond run-to-run noise."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.limits import QIDEACT
from harness.report import compare as rule
from harness.report.compare import classify, compare_runs, noise_threshold
from harness.report.runs import load_run
from harness.report.stats import CommandStats

STEADY_SEEDS = range(1, 9)


def _stats(values, limit=QIDEACT.seconds):
    return CommandStats(
        "AT+QIDEACT",
        tuple(values),
        limit,
        QIDEACT.typical,
        ("PDP-DEACT",),
        tuple("pass" for _ in values),
    )


@pytest.mark.parametrize("seed", STEADY_SEEDS)
def test_run_to_run_noise_is_not_a_regression(shared_run, seed):
    old = load_run(shared_run("old", seed=0))
    new = load_run(shared_run("new", seed=seed))
    cmp = compare_runs(old, new)
    assert [s.command for s in cmp.shifts if s.kind != "steady"] == []
    assert not cmp.regressed
    assert cmp.clause_changes == ()


def test_a_slower_qideact_and_a_newly_failing_clause_are_regressions(shared_run):
    old = load_run(shared_run("old", seed=0))
    new = load_run(shared_run("new", seed=3, slower={"AT+QIDEACT": 6.0}, fail=("OPEN-TCP",)))
    cmp = compare_runs(old, new)
    assert cmp.regressed
    assert [(c.clause.clause.id, c.old, c.new) for c in cmp.regressions] == [
        ("OPEN-TCP", "pass", "fail")
    ]
    [slow] = cmp.slower
    assert slow.command == "AT+QIDEACT"
    assert slow.delta == pytest.approx(6.0, abs=slow.threshold)
    assert slow.limit == QIDEACT.seconds
    assert [s.command for s in cmp.shifts if s.kind == "steady"] == [
        "AT+QIACT",
        "AT+QICLOSE",
        "AT+QIOPEN",
        "AT+CGATT",
        "AT+CPIN",
    ]
    # The slower steps are above the typical band: PDP-DEACT goes marginal, reported apart.
    assert [c.clause.clause.id for c in cmp.margin] == ["PDP-DEACT"]


def test_regressions_come_before_fixes_and_coverage(shared_run):
    old = load_run(shared_run("old", seed=0, fail=("SEND-ACK",), skip=("PWR-ON",)))
    new = load_run(shared_run("new", seed=1, fail=("CLOSE",), omit=("FLOW-RECOVER",)))
    cmp = compare_runs(old, new)
    kinds = [(c.kind, c.clause.clause.id) for c in cmp.clause_changes]
    assert kinds == [
        ("regression", "CLOSE"),
        ("fix", "SEND-ACK"),
        ("coverage", "PWR-ON"),
        ("coverage", "FLOW-RECOVER"),
    ]
    assert cmp.regressed


def test_a_fix_alone_is_not_a_regression(shared_run):
    old = load_run(shared_run("old", seed=0, fail=("SEND-ACK",)))
    new = load_run(shared_run("new", seed=1))
    cmp = compare_runs(old, new)
    assert [c.clause.clause.id for c in cmp.fixes] == ["SEND-ACK"] and not cmp.regressed


def test_faster_is_reported_but_not_a_regression(shared_run):
    old = load_run(shared_run("old", seed=0, slower={"AT+QIDEACT": 6.0}))
    new = load_run(shared_run("new", seed=1))
    cmp = compare_runs(old, new)
    assert [s.command for s in cmp.faster] == ["AT+QIDEACT"] and not cmp.regressed


def test_commands_in_one_run_only(shared_run):
    old = load_run(shared_run("old", seed=0))
    new = load_run(shared_run("new", seed=1))
    cmp = compare_runs(old, new)
    assert cmp.only_old == () and cmp.only_new == ()


def test_threshold_takes_the_largest_of_its_parts():
    quiet = _stats([1.0, 1.0, 1.0])
    assert noise_threshold(quiet, quiet, (1.0,)) == rule.NOISE_FLOOR
    long = _stats([40.0, 40.0, 40.0])
    assert noise_threshold(long, long, (1.0,)) == pytest.approx(rule.RELATIVE_FLOOR * 40.0)
    # At a small time scale the host's scheduling jitter is many module seconds.
    assert noise_threshold(quiet, quiet, (0.001,)) == pytest.approx(rule.SCHEDULER_JITTER / 0.001)
    noisy = _stats([1.0, 3.0, 5.0, 7.0, 9.0])  # MAD 2
    assert noise_threshold(quiet, noisy, (1.0,)) == pytest.approx(rule.K * 2 * 1.4826)


def test_one_wild_value_does_not_move_the_median():
    old = _stats([3.0, 3.1, 2.9, 3.0, 3.2, 2.8, 3.0, 3.1])
    new = _stats([3.0, 3.1, 2.9, 3.0, 3.2, 2.8, 3.0, 80.0])
    assert classify(old, new, (0.02,)).kind == "steady"


values = st.lists(st.floats(0.05, 50.0, allow_nan=False), min_size=1, max_size=30)


@given(values, st.randoms(use_true_random=False))
def test_the_same_measurements_in_another_order_never_move(sample, rnd):
    shuffled = list(sample)
    rnd.shuffle(shuffled)
    assert classify(_stats(sample), _stats(shuffled), (0.02,)).kind == "steady"


@given(values, st.floats(1.01, 10.0))
def test_a_shift_beyond_the_threshold_is_always_seen(sample, factor):
    old = _stats(sample)
    shift = noise_threshold(old, old, (0.02,)) * factor
    moved = classify(old, _stats([v + shift for v in sample]), (0.02,))
    assert moved.kind == "slower"
    back = classify(_stats([v + shift for v in sample]), old, (0.02,))
    assert back.kind in ("faster", "steady")  # the relative floor is larger from above


def test_gaussian_noise_rarely_if_ever_flags():
    """200 pairs of 8 samples from one distribution: none beyond noise."""
    rnd = random.Random(7)
    flagged = 0
    for _ in range(200):
        a = [rnd.gauss(3.0, 0.3) for _ in range(8)]
        b = [rnd.gauss(3.0, 0.3) for _ in range(8)]
        flagged += classify(_stats(a), _stats(b), (0.02,)).kind != "steady"
    assert flagged == 0
