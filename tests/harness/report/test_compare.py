"""The comparison: verdict regressions and fixes, and timing moves beyond run-to-run noise."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ExitCode
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
        ("lost", "FLOW-RECOVER"),
        ("gained", "PWR-ON"),
    ]
    assert cmp.regressed and [c.clause.clause.id for c in cmp.lost] == ["FLOW-RECOVER"]
    assert cmp.exit_code == ExitCode.MODULE_FAILED  # a regression outranks lost coverage


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


values = st.lists(st.floats(0.05, 50.0, allow_nan=False), min_size=rule.MIN_SAMPLES, max_size=30)


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


def test_too_few_samples_are_never_slower():
    """One measurement on each side (the issue's n = 1): reported, never called slower."""
    assert classify(_stats([1.0]), _stats([80.0]), (0.02,)).kind == rule.TOO_FEW
    few = [3.0] * (rule.MIN_SAMPLES - 1)
    assert classify(_stats(few), _stats([v + 50 for v in few]), (0.02,)).kind == rule.TOO_FEW


def test_the_rule_and_the_tests_that_decided_a_slower_command(shared_run):
    old = load_run(shared_run("old", seed=0))
    new = load_run(shared_run("new", seed=3, slower={"AT+QIDEACT": 6.0}))
    [slow] = compare_runs(old, new).slower
    assert slow.rule in (rule.RULE_SPREAD, rule.RULE_RELATIVE, rule.RULE_FLOOR, rule.RULE_JITTER)
    assert slow.threshold == pytest.approx(rule.noise_parts(slow.old, slow.new, (0.02,))[slow.rule])
    assert slow.deciding_tests == ("suites/test_pdp.py::test_pdp_deact",)


def test_a_spread_decides_when_the_runs_are_noisy():
    noisy = _stats([1.0, 3.0, 5.0, 7.0, 9.0, 4.0, 6.0])
    shifted = _stats([v + 30 for v in noisy.values])
    moved = classify(noisy, shifted, (1.0,))
    assert (moved.kind, moved.rule) == (rule.SLOWER, rule.RULE_SPREAD)


def test_runs_of_another_rig_kind_model_or_time_scale_are_not_comparable(new_run):
    base = new_run("a").test("suites/test_pdp.py::test_a", ["PDP-ACT"]).write(latest=False)
    other = new_run("b", rig="uart-only", time_scale=1.0)
    other.module["model"] = "Quectel_M66"
    other.test("suites/test_pdp.py::test_a", ["PDP-ACT"])
    cmp = compare_runs(load_run(base), load_run(other.write(latest=False)))
    assert [d.what for d in cmp.blocking] == ["rig kind", "model", "time scale"]
    assert not cmp.comparable and cmp.exit_code == ExitCode.USAGE


def test_a_firmware_change_is_named_but_is_what_is_compared(shared_run):
    cmp = compare_runs(
        load_run(shared_run("old", seed=0)), load_run(shared_run("new", seed=1, firmware="A05"))
    )
    assert [(d.what, d.blocking) for d in cmp.differences] == [("firmware", False)]
    assert cmp.comparable and cmp.exit_code == ExitCode.PASSED


def test_a_full_run_against_a_one_test_run_loses_coverage_and_is_not_comparable(
    shared_run, new_run
):
    full = load_run(shared_run("full", seed=0))
    one = new_run("one", rig="uart-only", time_scale=1.0)
    one.test("suites/test_init.py::test_init_sync", ["INIT-SYNC"])
    cmp = compare_runs(full, load_run(one.write(latest=False)))
    assert len(cmp.lost) == len(full.tests) - 1
    assert not cmp.comparable and cmp.exit_code == ExitCode.USAGE
    assert not cmp.regressed  # nothing that ran in both got worse


def test_lost_coverage_alone_has_its_own_exit_code(shared_run):
    cmp = compare_runs(
        load_run(shared_run("old", seed=0)), load_run(shared_run("new", seed=1, omit=("ORDER",)))
    )
    assert cmp.comparable and not cmp.regressed
    assert [c.clause.clause.id for c in cmp.lost] == ["ORDER"]
    assert cmp.exit_code == ExitCode.INTERRUPTED


def test_a_run_compared_with_itself_is_flagged(shared_run):
    run = load_run(shared_run("old", seed=0))
    cmp = compare_runs(run, run)
    assert cmp.same_run and cmp.clause_changes == () and cmp.exit_code == ExitCode.PASSED


def test_the_regressions_are_grouped_by_cause_and_the_mutation_named(new_run, slow_qiclose_run):
    torn_down = slow_qiclose_run.clauses
    old = new_run("old", mutations=[])
    for cid in (*torn_down, "CLOSE", "SEND-ACK"):
        old.test(f"suites/test_old.py::test_{cid.lower()}", [cid])
    new = slow_qiclose_run()
    cmp = compare_runs(load_run(old.write(latest=False)), new)
    assert [(d.what, d.old, d.new) for d in cmp.differences] == [("mutations", "—", "qiclose_100s")]
    [cause] = [c for c in cmp.causes if c.cause.module]
    assert cause.cause.command == "AT+QICLOSE" and cause.mutation == "qiclose_100s"
    assert sorted(cause.clauses) == sorted((*torn_down, "CLOSE"))
    assert {c.clause.clause.id for c in cmp.regressions} == set(cause.clauses)
    # the rig fault hid SEND-ACK's verdict: coverage lost, not a regression
    assert [c.clause.clause.id for c in cmp.lost] == ["SEND-ACK"]
