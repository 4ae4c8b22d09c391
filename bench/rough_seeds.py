"""The whole certification suite on a rough line, over many seeds: a faithful module framed anyhow
must pass every time (0 false failures).

    .venv/bin/python bench/rough_seeds.py [--seeds N] [--first S] [--jobs J] [-- pytest args]

Each seed is one child `pytest suites/` against rigs/sim-rough.toml with `[sim] seed` set to it
(a copy of the rig file in a temporary directory), into its own report and state directories.
The rough profile keeps every answer, URC and time of the M95 and changes only how the bytes
are framed; every failed or errored test is therefore a false failure, of the suite or the
harness. The bar of the issue is 10 different seeds, all passing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _common import BenchError, positive, run, table, verdict_line

from harness.clock import Clock, stamp

ROOT = Path(__file__).resolve().parent.parent
ROUGH_RIG = ROOT / "rigs" / "sim-rough.toml"
#: Seeds that must all pass (the issue's bar).
BAR = 10
#: Wall seconds one child suite run may take before it counts as hung (a failure).
RUN_WALL = 900.0
_SEED = re.compile(r"^seed\s*=.*$", re.MULTILINE)


@dataclass(frozen=True)
class SeedRun:
    seed: int
    tests: int
    passed: int
    false_failures: list[str]  # "nodeid: category: message"
    wall: float
    returncode: int
    tail: str

    @property
    def ok(self) -> bool:
        return self.tests > 0 and not self.false_failures and self.returncode == 0


def rig_for(seed: int, folder: Path) -> Path:
    """rigs/sim-rough.toml with `[sim] seed = <seed>`, written into `folder`."""
    text = ROUGH_RIG.read_text()
    if not _SEED.search(text):
        raise BenchError(f"{ROUGH_RIG} has no `seed =` line under [sim]: put one back")
    path = folder / f"sim-rough-{seed}.toml"
    path.write_text(_SEED.sub(f"seed = {seed}", text, count=1))
    return path


def run_seed(seed: int, base: Path, extra: list[str]) -> SeedRun:
    folder = base / f"seed-{seed}"
    folder.mkdir()
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "suites"), "-q", "-p", "no:cacheprovider"]
    cmd += ["--rig", str(rig_for(seed, folder))]
    cmd += ["--report-dir", str(folder / "report"), "--state-dir", str(folder / "state")]
    cmd += extra
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    start = stamp()
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_WALL, check=False
        )
        returncode, tail = proc.returncode, (proc.stdout[-1500:] + proc.stderr[-800:])
    except subprocess.TimeoutExpired:
        returncode, tail = -1, f"hung: no end within {RUN_WALL:g} s of wall time"
    wall = Clock(1.0).since(start)
    record = folder / "report" / "timings.json"
    tests = json.loads(record.read_text())["tests"] if record.exists() else []
    bad = [
        f"{t['nodeid']}: {t['outcome']} ({t['category']}): {(t['message'] or '')[:300]}"
        for t in tests
        if t["outcome"] not in ("passed", "skipped")
    ]
    passed = sum(t["outcome"] == "passed" for t in tests)
    return SeedRun(seed, len(tests), passed, bad, wall, returncode, tail)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=positive(int), default=BAR, help=f"seeds to run ({BAR})")
    p.add_argument("--first", type=int, default=1, help="the first seed (1)")
    p.add_argument("--jobs", type=positive(int), default=1, help="suite runs at once (1)")
    p.add_argument("--quick", action="store_true", help="one seed, the RECV suite only")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args(argv)
    seeds = list(range(args.first, args.first + (1 if args.quick else args.seeds)))
    extra = list(args.pytest_args) + (["-k", "recv"] if args.quick else [])
    load_before = os.getloadavg()[0]  # timing tests suffer on a loaded machine: say how loaded
    start = stamp()
    with (
        tempfile.TemporaryDirectory(prefix="rough-seeds-") as tmp,
        ThreadPoolExecutor(args.jobs) as pool,
    ):
        runs = list(pool.map(lambda s: run_seed(s, Path(tmp), extra), seeds))
    wall = Clock(1.0).since(start)
    rows = [
        [r.seed, r.tests, r.passed, len(r.false_failures), round(r.wall, 1), r.returncode]
        for r in runs
    ]
    print(table(["seed", "tests", "passed", "false failures", "wall s", "exit"], rows))
    for r in runs:
        for line in r.false_failures:
            print(f"seed {r.seed}: {line}")
        if not r.tests or r.returncode not in (0, 1):
            print(f"seed {r.seed}: no usable run (exit {r.returncode}):\n{r.tail}")
    failures = sum(len(r.false_failures) for r in runs)
    print(
        f"\nseeds: {len(runs)}; tests run: {sum(r.tests for r in runs)}; false failures: {failures}"
    )
    print(f"wall: {wall:.1f} s for {len(runs)} suite runs, {args.jobs} at a time")
    print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    passing = sum(r.ok for r in runs)
    target = max(BAR, len(runs))
    print(verdict_line("rough seeds passing the whole suite", passing, ">=", target, digits=0))
    return 0 if passing >= target else 1


if __name__ == "__main__":
    sys.exit(run(main))
