"""Hostile rig files: thousands through the loader, hundreds through the `modemcert` command.

    python bench/inputs_fuzz.py [--files 10000] [--cli 200] [--quick] [--seed N]

Rig files come from `rig_documents()` of tests/harness/test_rig_props.py (valid rigs with a few
values made hostile: huge integers, NaN, long or odd strings, wrong types, unknown keys). Each
must load into a Rig or be one RigError naming its file; through `modemcert run --rig FILE
--suite no-such-suite` each must end with exit 2 and one line on stderr (a rig that loads is
refused for the unknown suite instead). Reports tracebacks and hangs (an example over
HANG_WALL seconds); the last line is the count of both.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _common import positive, run, table, verdict_line
from hypothesis import HealthCheck, given, seed, settings

ROOT = Path(__file__).resolve().parent.parent
PROPS = ROOT / "tests" / "harness" / "test_rig_props.py"
TARGET_FILES = 10_000
HANG_WALL = 5


class Hang(Exception):
    """A rig file took longer than HANG_WALL seconds to load."""


def _props():
    spec = importlib.util.spec_from_file_location("rig_props", PROPS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _alarm(signum: int, frame: object) -> None:
    raise Hang(f"over {HANG_WALL} s")


def loader_run(n: int, folder: Path, seed_value: int) -> tuple[Counter, list[str], list[str]]:
    """Load `n` generated rig files; (outcomes, tracebacks, documents kept for the CLI run)."""
    props = _props()
    outcomes: Counter = Counter()
    problems: list[str] = []
    kept: list[str] = []

    @seed(seed_value)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(props.rig_documents())
    def one(text: str) -> None:
        signal.alarm(HANG_WALL)
        try:
            outcomes[props.check_rig_document(text, folder)] += 1
        except Hang as e:
            outcomes["hang"] += 1
            problems.append(f"hang: {e}: {text[:200]!r}")
        except Exception as e:  # every other exception is a finding
            outcomes["traceback"] += 1
            problems.append(f"{type(e).__name__}: {str(e)[:200]}: {text[:200]!r}")
        finally:
            signal.alarm(0)
        if len(kept) < 5000:
            kept.append(text)

    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        one()
    finally:
        signal.signal(signal.SIGALRM, previous)
    return outcomes, problems, kept


def cli_run(documents: list[str], folder: Path) -> tuple[Counter, list[str]]:
    """Each document through `modemcert run --rig FILE --suite no-such-suite`: exit 2, one line."""
    outcomes: Counter = Counter()
    problems: list[str] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for i, text in enumerate(documents):
        rig = folder / f"cli-{i}.toml"
        rig.write_text(text, encoding="utf-8")
        cmd = [sys.executable, "-m", "harness.cli", "run", "--rig", str(rig)]
        cmd += ["--suite", "no-such-suite", "--reports-dir", str(folder / "reports")]
        try:
            done = subprocess.run(
                cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=60, check=False
            )
        except subprocess.TimeoutExpired:
            outcomes["hang"] += 1
            problems.append(f"hang: {rig}")
            continue
        lines = done.stderr.strip().splitlines()
        if "Traceback" in done.stderr + done.stdout or done.returncode != 2 or len(lines) != 1:
            outcomes["traceback"] += 1
            problems.append(f"exit {done.returncode}: {done.stderr[-300:]!r}")
        else:
            outcomes["rig error" if "no suite" not in lines[0] else "loaded"] += 1
    return outcomes, problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=positive(int), default=TARGET_FILES)
    p.add_argument("--cli", type=positive(int), default=200, help="files through the CLI")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="300 files, 10 through the CLI")
    args = p.parse_args(argv)
    files, cli = (300, 10) if args.quick else (args.files, args.cli)
    with tempfile.TemporaryDirectory(prefix="inputs-fuzz-") as tmp:
        folder = Path(tmp)
        loaded, problems, kept = loader_run(files, folder, args.seed)
        step = max(1, len(kept) // cli)
        through, cli_problems = cli_run(kept[::step][:cli], folder)
    print(
        table(
            ["where", "files", "accepted", "refused (one RigError)", "tracebacks", "hangs"],
            [
                [
                    "load_rig",
                    sum(loaded.values()),
                    loaded["ok"],
                    loaded["refused"],
                    loaded["traceback"],
                    loaded["hang"],
                ],
                [
                    "modemcert run",
                    sum(through.values()),
                    through["loaded"],
                    through["rig error"],
                    through["traceback"],
                    through["hang"],
                ],
            ],
        )
    )
    for line in (problems + cli_problems)[:20]:
        print("  ", line)
    bad = loaded["traceback"] + loaded["hang"] + through["traceback"] + through["hang"]
    print(verdict_line("rig-files-tracebacks-and-hangs", bad, "<=", 0, digits=0))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(run(main))
