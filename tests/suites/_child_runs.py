"""The certification suites run in a child pytest, and what its timings.json says.

tests/suites/test_mutants.py, test_rough.py and test_uart_only.py run the suites against a
simulated module this way: one child per mutation or rig, so a mutation lives for exactly one
simulator's life.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
#: A module's failures that are its own (not the rig's or the harness's).
MODULE_FAULTS = ("limit exceeded", "protocol deviation")
RUN_SECONDS = 600  # a wall-clock guard on one child run; a hang is a failure of the test


@dataclass
class Outcome:
    returncode: int
    tests: list[dict]
    output: str

    def failed(self) -> list[dict]:
        return [t for t in self.tests if t["outcome"] == "failed"]

    def not_passed(self) -> list[dict]:
        """Tests that did not pass and were not skipped (failed, error, interrupted)."""
        return [t for t in self.tests if t["outcome"] not in ("passed", "skipped")]

    def by_module(self, clause: str) -> list[dict]:
        """Failed tests naming `clause` whose failure is the module's."""
        return [
            t for t in self.failed() if clause in t["clauses"] and t["category"] in MODULE_FAULTS
        ]


def run_suites(
    out: Path,
    clauses: list[str],
    mutation: str | None,
    first_failure: bool,
    rig: Path | None = None,
) -> Outcome:
    """Run the suites' tests of `clauses` (all if none) in a child pytest on `rig` (sim)."""
    cmd = [sys.executable, "-m", "pytest", str(SUITES), "-q", "-p", "no:cacheprovider"]
    if rig is not None:
        cmd += ["--rig", str(rig)]
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
