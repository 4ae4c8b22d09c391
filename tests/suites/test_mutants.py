"""Proof that every certification test can fail: each simulator mutation breaks one documented
behaviour, and the suite tests of that clause must fail against it — and pass without it.

Every mutant run is a separate pytest process (a mutation lives for the simulator's life); they
run two at a time from a session fixture, and each parametrized test awaits its own run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.clauses import CLAUSES
from harness.sim.mutations import MUTATIONS

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
#: A module's failures that are its own (not the rig's or the harness's).
MODULE_FAULTS = ("limit exceeded", "protocol deviation")
WORKERS = max(2, min(4, os.cpu_count() or 2))  # child runs at once
RUN_SECONDS = 600  # a wall-clock guard on one child run; a hang is a failure of this test


@dataclass
class Outcome:
    returncode: int
    tests: list[dict]
    output: str

    def failed(self) -> list[dict]:
        return [t for t in self.tests if t["outcome"] == "failed"]

    def by_module(self, clause: str) -> list[dict]:
        """Failed tests naming `clause` whose failure is the module's."""
        return [
            t for t in self.failed() if clause in t["clauses"] and t["category"] in MODULE_FAULTS
        ]


def run_suites(out: Path, clauses: list[str], mutation: str | None, first_failure: bool) -> Outcome:
    """Run the suites' tests of `clauses` in a child pytest against the sim rig."""
    cmd = [sys.executable, "-m", "pytest", str(SUITES), "-q", "-p", "no:cacheprovider"]
    cmd += ["--report-dir", str(out / "report"), "--state-dir", str(out / "state")]
    for c in clauses:
        cmd += ["--clause", c]
    if mutation:
        cmd += ["--sim-mutation", mutation]
    if first_failure:
        cmd.append("-x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_SECONDS, check=False
    )
    record = out / "report" / "timings.json"
    tests = json.loads(record.read_text())["tests"] if record.exists() else []
    return Outcome(proc.returncode, tests, proc.stdout[-4000:] + proc.stderr[-2000:])


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
    assert not outcome.failed(), outcome.output
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
