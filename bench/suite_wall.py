"""The whole certification suite on the sim rig: wall time, and the module time it covered.

    .venv/bin/python bench/suite_wall.py [--rig sim] [--time-scale X] [-- pytest args]

Runs `pytest suites/` in a child process into a temporary report directory, then prints per
suite file the tests, wall seconds and the module seconds of the steps measured in it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from harness.clock import Clock, stamp

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 120.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rig", default="sim")
    p.add_argument("--time-scale", type=float, default=None)
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="suite-wall-") as tmp:
        report = Path(tmp) / "report"
        cmd = [sys.executable, "-m", "pytest", str(ROOT / "suites"), "-q", "-p", "no:cacheprovider"]
        cmd += ["--rig", args.rig, "--report-dir", str(report), "--state-dir", f"{tmp}/state"]
        if args.time_scale is not None:
            cmd += ["--time-scale", str(args.time_scale)]
        cmd += args.pytest_args
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        start = stamp()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        wall = Clock(1.0).since(start)
        record = json.loads((report / "timings.json").read_text())
    scale = float(record["run"]["time_scale"])
    files: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for test in record["tests"]:
        f = files[test["nodeid"].split("::")[0]]
        f["tests"] += 1
        f["wall"] += test["duration"]
        f["failed"] += test["outcome"] in ("failed", "error")
    for timing in record["timings"]:
        if timing["test"]:
            files[timing["test"].split("::")[0]]["measured"] += timing["measured"]
    print(f"{'suite file':<32} {'tests':>5} {'failed':>6} {'wall s':>8} {'measured module s':>18}")
    for name in sorted(files):
        f = files[name]
        print(
            f"{name:<32} {int(f['tests']):>5} {int(f['failed']):>6} {f['wall']:>8.1f} "
            f"{f['measured']:>18.1f}"
        )
    tests = len(record["tests"])
    print(f"\npytest exit code {proc.returncode}; {tests} tests; time scale {scale:g}")
    print(f"module time covered (wall / scale): {wall / scale:.0f} s = {wall / scale / 3600:.2f} h")
    if proc.returncode not in (0, 1):
        print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n")
    verdict = "MET" if wall <= TARGET_SECONDS and proc.returncode == 0 else "MISSED"
    print(f"suite-wall: {wall:.1f} s (target <= {TARGET_SECONDS:g} s) {verdict}")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
