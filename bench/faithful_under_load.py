"""The faithful simulator must pass the whole certification, run after run, on a busy machine.

    .venv/bin/python bench/faithful_under_load.py [--runs 20] [--load 2] [--rig sim] [--suite S]

`--quick`: one run of the pdp suite beside one busy loop (what tests/bench/ runs).

Starts `--load` CPU-bound processes (a busy loop each, as a compiler or another CI job would),
then runs `pytest suites/` against the faithful sim rig `--runs` times in a row, each into its
own report and state directory. A faithful module must never fail: every failed, errored or
interrupted test is a false verdict (a race in a suite, a fixture or the channel). Prints one
line per run with its wall time and what did not pass, then the verdict line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import positive, verdict_line

from harness.clock import Clock, stamp

ROOT = Path(__file__).resolve().parent.parent


def burn() -> None:
    """A CPU-bound load: spin until killed."""
    n = 0
    while True:
        n = (n * 1103515245 + 12345) & 0x7FFFFFFF


def one_run(base: Path, rig: str, index: int, suites: list[str]) -> tuple[float, int, list[str]]:
    """Run the suites once; (wall seconds, pytest exit code, tests that did not pass)."""
    out = base / f"run-{index:02d}"
    paths = [str(ROOT / "suites" / f"test_{s}.py") for s in suites] or [str(ROOT / "suites")]
    cmd = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider"]
    cmd += ["--rig", rig, "--report-dir", str(out / "report"), "--state-dir", str(out / "state")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    start = stamp()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = Clock(1.0).since(start)
    record = out / "report" / "timings.json"
    tests = json.loads(record.read_text())["tests"] if record.exists() else []
    bad = [f"{t['nodeid']} ({t['outcome']}: {t['category']})" for t in tests if _bad(t)]
    if not tests:
        bad = [f"no run recorded (pytest exit {proc.returncode}): {proc.stdout[-300:]}"]
    return wall, proc.returncode, bad


def _bad(test: dict) -> bool:
    """A faithful module's test that did not pass is a false verdict (skips are the rig's)."""
    return test["outcome"] not in ("passed", "skipped")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=positive(int), default=20, help="runs in a row (default 20)")
    p.add_argument("--load", type=int, default=2, help="CPU-bound processes (default 2)")
    p.add_argument("--rig", default="sim", help="a faithful sim rig (default: sim)")
    p.add_argument("--suite", action="append", default=[], help="a suite (default: all)")
    p.add_argument("--quick", action="store_true", help="one run of the pdp suite, one loop")
    args = p.parse_args(argv)
    if args.load < 0:
        p.error(f"--load must be 0 or more, not {args.load}")
    for suite in args.suite:
        if not (ROOT / "suites" / f"test_{suite}.py").is_file():
            p.error(f"--suite {suite}: no suites/test_{suite}.py")
    if args.quick:
        args.runs, args.load, args.suite = 1, min(args.load, 1), args.suite or ["pdp"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    loads = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.load)]
    for proc in loads:
        proc.start()
    passed = 0
    walls = []
    what = " ".join(args.suite) or "suites/"
    try:
        with tempfile.TemporaryDirectory(prefix="faithful-load-") as tmp:
            print(f"{args.runs} runs of {what} on rig {args.rig!r}, {args.load} busy loops")
            print(f"{'run':>4} {'wall s':>8} {'exit':>5}  not passed")
            for i in range(1, args.runs + 1):
                wall, code, bad = one_run(Path(tmp), args.rig, i, args.suite)
                walls.append(wall)
                passed += not bad and code == 0
                print(f"{i:>4} {wall:>8.1f} {code:>5}  {'; '.join(bad) or '-'}", flush=True)
    finally:
        for proc in loads:
            proc.kill()
    print(f"wall per run: min {min(walls):.1f} s, max {max(walls):.1f} s")
    print(verdict_line("faithful-runs-passed-under-load", passed, ">=", args.runs, digits=0))
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
