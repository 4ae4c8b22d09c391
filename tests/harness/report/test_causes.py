"""Causes: each failing test traced to its first failing step, clauses grouped under it."""

import pytest

from harness.limits import QICLOSE, QIDEACT
from harness.report.causes import DEVIATION, LIMIT, RIG, describe, findings
from harness.report.runs import load_run
from harness.report.verdicts import clause_rows


def test_one_slow_qiclose_is_one_cause_for_every_clause_it_broke(slow_qiclose_run):
    run = slow_qiclose_run()
    causes = findings(run, clause_rows(run))
    first = causes[0]
    assert (first.cause.kind, first.cause.command, first.cause.clause, first.cause.limit) == (
        LIMIT,
        "AT+QICLOSE",
        "CLOSE",
        QICLOSE.seconds,
    )
    torn_down = slow_qiclose_run.clauses
    assert sorted(first.clauses) == sorted((*torn_down, "CLOSE"))
    assert len(first.tests) == len(torn_down) + 1
    assert first.mutation == "qiclose_100s" and first.no_answer
    assert describe(first) == "AT+QICLOSE gave no final answer within its 90 s limit (CLOSE)"
    assert "最终结果" in describe(first, "zh") and "AT+QICLOSE" in describe(first, "zh")
    # the rig fault is a cause of its own, last, and no mutation explains it
    assert [c.cause.kind for c in causes] == [LIMIT, RIG]
    assert causes[-1].mutation is None and "no verdict on the module" in describe(causes[-1])


def test_a_deviation_is_its_own_cause_named_by_its_command(slow_qiclose_run):
    run = slow_qiclose_run(deviation=True)
    kinds = {c.cause.kind: c for c in findings(run, clause_rows(run))}
    assert kinds[DEVIATION].clauses == ["OPEN-TCP"] and kinds[DEVIATION].cause.command == (
        "AT+QIOPEN"
    )
    assert describe(kinds[DEVIATION]) == (
        "the module answered AT+QIOPEN in a way OPEN-TCP does not allow"
    )


def test_without_the_mutation_nothing_is_named(slow_qiclose_run):
    run = slow_qiclose_run(mutations=())
    assert findings(run, clause_rows(run))[0].mutation is None


def test_a_limit_failure_without_its_step_takes_the_documented_limit(new_run, slow_qiclose_run):
    """The step was provoked (or not recorded): the message's command and its limit."""
    b = new_run("r1").test("suites/test_send.py::test_w", ["SEND-WINDOW"], "failed",
                           message=slow_qiclose_run.message, category="limit exceeded")  # fmt: skip
    run = load_run(b.write())
    [cause] = findings(run, clause_rows(run))
    assert (cause.cause.command, cause.cause.clause, cause.cause.limit) == (
        "AT+QICLOSE",
        "CLOSE",
        QICLOSE.seconds,
    )
    assert cause.clauses == ["SEND-WINDOW"]


@pytest.mark.parametrize("when", ["first", "second"])
def test_the_first_failing_step_of_a_test_is_its_cause(new_run, when):
    b = new_run("r1").test("suites/test_x.py::test_a", ["FLOW-HAPPY"], "failed",
                           message="several steps over", category="limit exceeded")  # fmt: skip
    slow_deact = (QIDEACT.check(95.0, "AT+QIDEACT"), "suites/test_x.py::test_a")
    slow_close = (QICLOSE.check(95.0, "AT+QICLOSE"), "suites/test_x.py::test_a")
    b.timings += [slow_deact, slow_close] if when == "first" else [slow_close, slow_deact]
    run = load_run(b.write())
    flow = [f for f in findings(run, clause_rows(run)) if "FLOW-HAPPY" in f.clauses]
    assert flow[0].cause.command == ("AT+QIDEACT" if when == "first" else "AT+QICLOSE")
    assert "took 95 s, over its 90 s limit" in describe(flow[0])
