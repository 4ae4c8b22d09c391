"""Clause verdicts: the worst of tests and steps, in document order; groups and the run."""

import pytest

from harness.clauses import CLAUSES, GROUPS
from harness.limits import QIACT, QIDEACT, Timing, Verdict
from harness.report.console import verdict_table
from harness.report.report_html import render_report
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


@pytest.mark.parametrize(
    ("outcome", "category", "expected"),
    [
        ("interrupted", "interrupted", V.INTERRUPTED),
        ("interrupted", None, V.INTERRUPTED),
        ("error", "interrupted", V.INTERRUPTED),
        ("error", "rig fault", V.ERROR),
        ("error", "usage error", V.ERROR),
        ("failed", "usage error", V.ERROR),
        ("failed", None, V.FAIL),  # records older than categories: a failure judged the module
    ],
)
def test_the_error_taxonomy(outcome, category, expected):
    assert outcome_verdict(TestRecord("t", (), outcome, category)) == expected


def test_an_interrupted_test_is_never_a_pass(new_run):
    b = new_run("r1").test("suites/test_pdp.py::test_a", ["PDP-ACT"])
    b.test("suites/test_pdp.py::test_b", ["PDP-ACT"], "interrupted", category="interrupted")
    run = load_run(b.write())
    rows = {r.clause.id: r for r in clause_rows(run)}
    assert rows["PDP-ACT"].verdict == V.INTERRUPTED
    assert run_verdict(run, list(rows.values())) == RunVerdict.INTERRUPTED


def test_a_run_that_stopped_early_is_interrupted_even_if_all_it_ran_passed(new_run):
    from harness.clauses import CLAUSES as ALL

    def every_clause(run_id: str, status: str):
        b = new_run(run_id, status=status, stop_reason="SIGTERM", planned=len(ALL))
        for cid in ALL:
            b.test(f"suites/test_x.py::test_{cid.lower()}", [cid])
        return load_run(b.write())

    run = every_clause("r1", "interrupted")
    assert run_verdict(run, clause_rows(run)) == RunVerdict.INTERRUPTED
    full = every_clause("r2", "complete")  # the same record, complete, passes
    assert not full.interrupted and run_verdict(full, clause_rows(full)) == RunVerdict.PASS


def test_a_clause_whose_other_tests_never_ran_is_interrupted_not_passed(new_run):
    """Ctrl-C after the first of OPEN-FAIL's three tests: that one passed, the clause did not."""
    planned = {"OPEN-FAIL": 3, "OPEN-TCP": 1, "PDP-ACT": 2}
    b = new_run("r1", status="interrupted", planned=6, planned_clauses=planned)
    b.test("suites/test_flow.py::test_connect_fail", ["OPEN-FAIL"])
    b.test("suites/test_open.py::test_tcp", ["OPEN-TCP"])
    run = load_run(b.write())
    rows = {r.clause.id: r for r in clause_rows(run)}
    assert rows["OPEN-FAIL"].verdict == V.INTERRUPTED and rows["OPEN-FAIL"].unfinished == 2
    assert rows["OPEN-TCP"].verdict == V.PASS  # every test of it ran
    assert rows["PDP-ACT"].verdict == V.NOT_RUN  # none of it started: not run, not interrupted
    assert "1 of its 3 tests ran before the run stopped" in verdict_table(run)
    assert "1 of its 3 tests ran before the run stopped" in render_report(run)
    done = new_run("r2", status="complete", planned=1, planned_clauses={"OPEN-FAIL": 3})
    done.test("suites/test_flow.py::test_connect_fail", ["OPEN-FAIL"])  # judged as run: complete
    complete = {r.clause.id: r for r in clause_rows(load_run(done.write()))}
    assert complete["OPEN-FAIL"].verdict == V.PASS


def test_damaged_planned_clauses_are_ignored_with_a_warning(new_run):
    b = new_run("r1", status="complete", planned=1, planned_clauses={"OPEN-FAIL": "x"})
    run = load_run(b.test("suites/test_open.py::test_a", ["OPEN-FAIL"]).write())
    assert run.info.planned_clauses == {}
    assert any("run.planned_clauses" in w for w in run.warnings)


def test_a_run_that_recorded_fewer_tests_than_planned_is_interrupted(new_run):
    b = new_run("r1", status="complete", planned=5).test("suites/test_pdp.py::test_a", ["PDP-ACT"])
    assert load_run(b.write()).interrupted


def test_an_invalid_time_gives_no_verdict_and_a_target_has_no_margin(new_run):
    from harness.limits import TCFG_WAIT

    b = new_run("r1").test("suites/test_init.py::test_tcfg", ["OPT-TCFG"])
    b.timings.append((Timing("OPT-TCFG", "batch", 0.203, TCFG_WAIT.seconds, None,
                             Verdict.PASS), None))  # fmt: skip
    b.timing(QIDEACT, float("nan"), "AT+QIDEACT")
    run = load_run(b.write())
    rows = {r.clause.id: r for r in clause_rows(run)}
    assert rows["PDP-DEACT"].verdict == V.ERROR
    assert rows["OPT-TCFG"].verdict == V.PASS
    [target] = rows["OPT-TCFG"].timings
    assert target.margin is None and rows["OPT-TCFG"].tightest is None  # never "−1.5 %"
    assert tightest_steps(run) == []
