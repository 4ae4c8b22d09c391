"""Clause verdicts: the worst of tests and steps, in document order; groups and the run."""

import pytest

from harness.clauses import CLAUSES, GROUPS
from harness.limits import QIACT, QIDEACT
from harness.report.runs import TestRecord, load_run
from harness.report.verdicts import (
    ClauseVerdict,
    RunVerdict,
    clause_rows,
    combine,
    group_rows,
    outcome_verdict,
    run_verdict,
    tightest_steps,
    unknown_clauses,
    worst,
)

V = ClauseVerdict


@pytest.mark.parametrize(
    ("outcome", "category", "expected"),
    [
        ("passed", None, V.PASS),
        ("xpassed", None, V.PASS),
        ("failed", "limit exceeded", V.FAIL),
        ("failed", "protocol deviation", V.FAIL),
        ("xfailed", None, V.FAIL),
        ("failed", "rig fault", V.ERROR),
        ("failed", "harness error", V.ERROR),
        ("error", None, V.ERROR),
        ("skipped", None, V.SKIPPED),
        ("weird", None, V.ERROR),
    ],
)
def test_outcomes(outcome, category, expected):
    assert outcome_verdict(TestRecord("t", (), outcome, category)) == expected


def test_worst_prefers_failure_then_error_then_marginal_and_any_run_over_skipped():
    assert worst([V.PASS, V.FAIL, V.ERROR]) == V.FAIL
    assert worst([V.PASS, V.ERROR]) == V.ERROR
    assert worst([V.PASS, V.MARGINAL]) == V.MARGINAL
    assert worst([V.SKIPPED, V.PASS]) == V.PASS
    assert worst([V.SKIPPED]) == V.SKIPPED
    assert worst([]) == V.NOT_RUN


def test_combine():
    assert combine([V.PASS, V.PASS]) == RunVerdict.PASS
    assert combine([V.PASS, V.MARGINAL]) == RunVerdict.MARGINAL
    assert combine([V.PASS, V.NOT_RUN, V.MARGINAL]) == RunVerdict.INCOMPLETE
    assert combine([V.PASS, V.ERROR, V.NOT_RUN]) == RunVerdict.INCONCLUSIVE
    assert combine([V.ERROR, V.FAIL]) == RunVerdict.FAIL
    assert combine([]) == RunVerdict.INCOMPLETE


def test_every_clause_in_document_order_with_tests_and_steps(new_run):
    b = new_run("r1")
    b.test("suites/test_pdp.py::test_deact", ["PDP-DEACT", "CLOSE-DEACT"])
    b.test("suites/test_pdp.py::test_act", ["PDP-ACT"], "failed", message="no IP")
    b.test("suites/test_pwr.py::test_on", ["PWR-ON"], "skipped", message="rig lacks power")
    b.timing(QIDEACT, QIDEACT.typical[1] + 1, "AT+QIDEACT", "suites/test_pdp.py::test_deact")
    b.timing(QIACT, 1.0, "AT+QIACT", "suites/test_pdp.py::test_act")
    rows = {r.clause.id: r for r in clause_rows(load_run(b.write()))}
    assert list(rows) == list(CLAUSES)
    assert rows["PDP-DEACT"].verdict == V.MARGINAL  # test passed, step above typical
    assert rows["CLOSE-DEACT"].verdict == V.PASS
    assert rows["PDP-ACT"].verdict == V.FAIL  # step fine, test failed
    assert rows["PWR-ON"].verdict == V.SKIPPED
    assert rows["INIT-SYNC"].verdict == V.NOT_RUN and rows["INIT-SYNC"].tests == ()
    assert [t.nodeid for t in rows["PDP-DEACT"].tests] == ["suites/test_pdp.py::test_deact"]
    assert rows["PDP-DEACT"].tightest.command == "AT+QIDEACT"


def test_a_step_over_its_limit_fails_the_clause_even_if_the_test_passed(new_run):
    b = new_run("r1").test("suites/test_pdp.py::test_deact", ["PDP-DEACT"])
    b.timing(QIDEACT, QIDEACT.seconds + 1, "AT+QIDEACT")
    rows = {r.clause.id: r for r in clause_rows(load_run(b.write()))}
    assert rows["PDP-DEACT"].verdict == V.FAIL


def test_a_clause_only_measured_gets_the_steps_verdict(new_run):
    run = load_run(new_run("r1").timing(QIACT, 2.0, "AT+QIACT").write())
    row = next(r for r in clause_rows(run) if r.clause.id == "PDP-ACT")
    assert row.tests == () and row.verdict == V.PASS and len(row.timings) == 1


def test_run_verdict_counts_failures_outside_any_clause(new_run, shared_run):
    ok = load_run(shared_run("full"))
    assert run_verdict(ok, clause_rows(ok)) == RunVerdict.PASS
    b = new_run("r2")
    for cid in CLAUSES:
        b.test(f"suites/test_x.py::test_{cid}", [cid])
    b.test("suites/test_x.py::test_helper", [], "failed", message="oops")
    run = load_run(b.write())
    assert run_verdict(run, clause_rows(run)) == RunVerdict.FAIL


def test_incomplete_and_inconclusive_runs(shared_run):
    run = load_run(shared_run("a", skip=("PWR-ON",)))
    assert run_verdict(run, clause_rows(run)) == RunVerdict.INCOMPLETE
    run = load_run(shared_run("b", omit=("FLOW-RECOVER",)))
    assert run_verdict(run, clause_rows(run)) == RunVerdict.INCOMPLETE


def test_groups_follow_harness_groups(shared_run):
    run = load_run(shared_run("a", fail=("OPEN-TCP",), skip=("PWR-ON",)))
    groups = group_rows(clause_rows(run))
    assert [g.group for g in groups] == list(GROUPS)
    by = {g.group: g for g in groups}
    assert by["OPEN"].verdict == RunVerdict.FAIL and by["OPEN"].counts["fail"] == 1
    assert by["PWR"].verdict == RunVerdict.INCOMPLETE
    assert by["SEND"].verdict == RunVerdict.PASS
    assert sum(len(g.clauses) for g in groups) == len(CLAUSES)


def test_tightest_steps_one_per_command(new_run):
    b = new_run("r1")
    for measured in (3.0, 4.0, QIDEACT.seconds * 0.7):
        b.timing(QIDEACT, measured, "AT+QIDEACT")
    b.timing(QIACT, 10.0, "AT+QIACT")
    steps = tightest_steps(load_run(b.write()), n=5)
    assert [(s.command, s.measured) for s in steps] == [
        ("AT+QIDEACT", QIDEACT.seconds * 0.7),
        ("AT+QIACT", 10.0),
    ]


def test_unknown_clause_ids_are_reported(new_run):
    b = new_run("r1").test("suites/test_pdp.py::test_a", ["PDP-DEAKT"])
    assert unknown_clauses(load_run(b.write())) == ["PDP-DEAKT"]
