"""A batch of simulated modules certified at once, against one module alone, on this machine.

    .venv/bin/python bench/batch_wall.py [--profiles m95,mc60,m66,seeds] [-- modemcert run args]

Runs `modemcert run` once with the first profile alone, then once as a batch of every profile
(one process per module, all at once), each rig with its own seed and a temporary state
directory. Prints each module's exit code and wall time; the figure is the batch's wall time
over the single run's, measured in the same invocation. Every module must pass.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import run, table, verdict_line

from harness.clock import Clock, stamp

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0


def make_rig(folder: Path, profile: str, seed: int) -> Path:
    """rigs/sim.toml with another profile, seed, name and a state dir of its own."""
    text = (ROOT / "rigs" / "sim.toml").read_text()
    text = text.replace('name = "sim"', f'name = "sim-{profile}-{seed}"')
    text = text.replace(
        'state_dir = ".modemcert/state/sim"', f'state_dir = "{folder}/state-{seed}"'
    )
    text = text.replace('profile = "m95"', f'profile = "{profile}"').replace(
        "seed = 0", f"seed = {seed}"
    )
    path = folder / f"sim-{profile}-{seed}.toml"
    path.write_text(text)
    return path


def modemcert_run(rigs: list[Path], reports: Path, extra: list[str]) -> tuple[int, float, str]:
    cmd = [sys.executable, "-m", "harness.cli", "run", "--reports-dir", str(reports)]
    for rig in rigs:
        cmd += ["--rig", str(rig)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    start = stamp()
    done = subprocess.run(
        cmd + extra, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, Clock(1.0).since(start), done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profiles", default="m95,mc60,m66,seeds")
    p.add_argument("extra", nargs="*", help="more `modemcert run` options (after --)")
    args = p.parse_args(argv)
    profiles = [x for x in args.profiles.split(",") if x]
    if len(profiles) < 2:
        print("batch_wall: give at least two profiles", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="batch-wall-") as tmp:
        folder = Path(tmp)
        single_rig = make_rig(folder, profiles[0], 100)
        code1, single, out1 = modemcert_run([single_rig], folder / "single", args.extra)
        rigs = [make_rig(folder, prof, i + 1) for i, prof in enumerate(profiles)]
        code, wall, out = modemcert_run(rigs, folder / "batch", args.extra)
        (batch_dir,) = (folder / "batch").glob("batch-*")
        record = json.loads((batch_dir / "batch.json").read_text())
        problems = []
        for r in record["runs"]:
            if r["run"] is None:
                continue
            tests = json.loads((batch_dir / r["run"] / "timings.json").read_text())["tests"]
            problems += [
                f"{r['rig']}: {t['nodeid']} {t['outcome']} ({t['category']}): {t['message'][:160]}"
                for t in tests
                if t["outcome"] not in ("passed", "skipped")
            ]
    rows = [["single: " + profiles[0], code1, f"{single:.1f}"]]
    rows += [[f"batch: {r['rig']}", r["exit"], f"{r['wall']:.1f}"] for r in record["runs"]]
    rows.append(["batch (all at once)", code, f"{wall:.1f}"])
    print(table(["run", "exit", "wall s"], rows))
    for line in problems:
        print("  not passed:", line)
    if code1 != 0 or code != 0:
        print((out1 if code1 else out)[-1500:])
        print(
            f"batch-wall-ratio: nan (a run did not pass: exit {code1}/{code}) (target <= 2) MISSED"
        )
        return 1
    print(f"{len(profiles)} modules at once on {os.cpu_count()} cores")
    print(verdict_line("batch-wall-ratio", wall / single, "<=", TARGET_RATIO, digits=2))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
