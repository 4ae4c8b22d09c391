"""Proof that every certification test can fail: each simulator mutation breaks one documented
behaviour, and the suite tests of that clause must fail against it — and pass without it.

Every mutant run is a separate pytest process (a mutation lives for the simulator's life); they
run two at a time from a session fixture, and each parametrized test awaits its own run.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from _child_runs import Outcome, run_suites

from harness.clauses import CLAUSES
from harness.sim.mutations import MUTATIONS

WORKERS = max(2, min(4, os.cpu_count() or 2))  # child runs at once


@pytest.fixture(scope="session")
def mutant_runs(request, tmp_path_factory) -> dict[str, Future[Outcome]]:
    """Start the selected mutants' runs, in the order their tests will ask for them."""
    selected = [
        item.callspec.params["name"]
        for item in request.session.items
        if item.originalname == "test_the_clause_tests_fail_against_the_mutant"
    ]
    base = tmp_path_factory.mktemp("mutants")
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="mutant")
    runs = {
        name: pool.submit(run_suites, base / name, [MUTATIONS[name].clause], name, True)
        for name in selected
    }
    yield runs
    pool.shutdown(wait=False, cancel_futures=True)


def test_every_clause_has_a_mutant():
    broken = {c for m in MUTATIONS.values() for c in m.clauses}
    assert sorted(set(CLAUSES) - broken) == []


def test_the_faithful_simulator_passes_every_clause(tmp_path):
    outcome = run_suites(tmp_path, [], None, first_failure=False)
    assert outcome.returncode == 0, outcome.output
    assert outcome.tests, "no certification test ran"
    assert not outcome.not_passed(), outcome.output
    walked = {c for t in outcome.tests if t["outcome"] == "passed" for c in t["clauses"]}
    assert sorted(set(CLAUSES) - walked) == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_clause_tests_fail_against_the_mutant(name, mutant_runs):
    mutation = MUTATIONS[name]
    outcome = mutant_runs[name].result()
    assert outcome.tests, f"no test of {mutation.clause} ran:\n{outcome.output}"
    caught = outcome.by_module(mutation.clause)
    assert caught, (
        f"the tests of {mutation.clause} survive mutation {name!r} ({mutation.description}); "
        f"it shows as: {mutation.shows}\n{outcome.output}"
    )
