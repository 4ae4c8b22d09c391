"""Batch acceptance: several modules certified at once on one host, one process per rig.

`modemcert run --rig A.toml --rig B.toml [--rigs DIR] [--jobs N]` refuses rigs that would share a
serial port, a GPIO line or a state directory (exit 2 naming both files) before anything starts,
then runs `modemcert run` for each rig in its own process (its own port, lines, peer connection,
state dir and run directory) into one batch directory, at most N at a time. A module that fails,
or whose rig faults, never stops the others. Progress is one line per module; the batch's exit
code is the worst of its runs; `batch.json` records every run and `modemcert report BATCH`
renders the summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from harness.clock import Clock, stamp
from harness.errors import ExitCode
from harness.files import atomic_write
from harness.rig import Rig, RigError, load_rig
from harness.runrecord import new_dated_dir

BATCH_FILE = "batch.json"
BATCH_FORMAT = "modemcert-batch/1"
#: Worst first: the batch's exit code is the worst of its runs' (docs/plugin.md).
WORST_EXIT = (
    ExitCode.USAGE,
    ExitCode.RIG_FAULT,
    ExitCode.MODULE_FAILED,
    ExitCode.INTERRUPTED,
    ExitCode.PASSED,
)
#: Wall seconds between two looks at the runs' progress.
POLL_WALL = 2.0


class BatchConflict(RigError):
    """Two rigs of a batch would share a port, a GPIO line or a state directory."""


def rig_files(rigs: list[str], rigs_dir: Path | None) -> list[str]:
    """The rigs named with --rig, then every *.toml of --rigs DIR (sorted), each once."""
    names = list(rigs)
    if rigs_dir is not None:
        if not rigs_dir.is_dir():
            raise RigError(rigs_dir, None, "--rigs needs a directory of rig files")
        found = sorted(str(p) for p in rigs_dir.glob("*.toml"))
        if not found:
            raise RigError(rigs_dir, None, "no *.toml rig files in this directory")
        names += found
    unique: list[str] = []
    for name in names:
        if name not in unique:
            unique.append(name)
    return unique


def _port_identity(rig: Rig) -> str | None:
    """The serial device a rig opens, resolved (two by-id links to one adapter are one port)."""
    port = rig.serial.port
    if port is None:  # a sim rig: its own pseudo-terminal
        return None
    if "://" in port:
        return port.lower()
    try:
        return str(Path(port).resolve())
    except OSError:
        return port


def check_conflicts(rigs: list[Rig]) -> None:
    """Refuse two rigs sharing a port, a GPIO line (same backend and chip) or a state dir."""
    seen: dict[tuple, Rig] = {}
    for rig in rigs:
        keys: list[tuple[tuple, str]] = [
            (("state", str(rig.state_dir.resolve())), f"state_dir {rig.state_dir}"),
            (("name", rig.name), f"name {rig.name!r} (run directories would mix)"),
        ]
        port = _port_identity(rig)
        if port is not None:
            keys.append((("port", port), f"serial port {rig.serial.port}"))
        if rig.gpio.backend not in ("sim", "none"):
            for line in rig.gpio.lines().values():
                where = (rig.gpio.backend, rig.gpio.chip or "", line.pin)
                keys.append((("pin", *where), f"GPIO {line.pin} ({line.name})"))
        for key, what in keys:
            other = seen.get(key)
            if other is not None and other.file != rig.file:
                raise BatchConflict(
                    rig.file,
                    None,
                    f"shares {what} with {other.file}: give each module its own (a batch runs "
                    "them at the same time)",
                )
            seen[key] = rig


@dataclass
class Member:
    """One module of the batch: its rig, its child process and how far it got."""

    rig: Rig
    rig_arg: str
    reports: Path
    log: Path
    process: subprocess.Popen | None = None
    code: int | None = None
    started_ns: int | None = None
    wall: float = 0.0
    shown: str = ""
    run_dir: Path | None = field(default=None)

    def progress(self) -> str:
        """`done/planned tests, N failed` from the run's timings.json (as far as written)."""
        run_dir = self.find_run()
        if run_dir is None:
            return "starting"
        try:
            data = json.loads((run_dir / "timings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "starting"
        tests = data.get("tests", [])
        planned = data.get("run", {}).get("planned") or "?"
        failed = sum(t.get("outcome") == "failed" for t in tests)
        errors = sum(t.get("outcome") in ("error", "interrupted") for t in tests)
        text = f"{len(tests)}/{planned} tests"
        if failed:
            text += f", {failed} failed"
        if errors:
            text += f", {errors} not finished"
        return text

    def find_run(self) -> Path | None:
        if self.run_dir is None and self.reports.is_dir():
            runs = [p for p in self.reports.iterdir() if p.is_dir() and not p.is_symlink()]
            self.run_dir = runs[0] if len(runs) == 1 else None
        return self.run_dir


def new_batch_dir(reports_dir: Path) -> Path:
    """`reports/batch-<UTC time to the ms>`, created here (a `-2` suffix if it exists)."""
    return new_dated_dir(reports_dir, "batch-{time}")


def run_batch(
    rig_args: list[str],
    reports_dir: Path,
    passthrough: list[str],
    jobs: int | None = None,
    out=sys.stdout,
) -> int:
    """Certify every rig at once (at most `jobs` at a time); the worst run's exit code."""
    rigs = [load_rig(a) for a in rig_args]  # RigError: exit 2 at the caller
    check_conflicts(rigs)
    batch = new_batch_dir(reports_dir)
    members = [
        Member(
            rig,
            arg,
            batch / rig.name,
            batch / f"{rig.name}.log",
        )
        for rig, arg in zip(rigs, rig_args, strict=True)
    ]
    limit = max(1, min(jobs or len(members), len(members)))
    print(f"batch {batch.name}: {len(members)} modules, {limit} at a time", file=out)
    waiting = list(members)
    running: list[Member] = []
    wall = Clock(1.0)
    tick = threading.Event()
    _write_batch(batch, members, done=False)
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                member = waiting.pop(0)
                _start(member, passthrough)
                running.append(member)
            for member in list(running):
                if member.process is not None and member.process.poll() is not None:
                    member.code = member.process.returncode
                    member.wall = wall.since(member.started_ns or stamp())
                    running.remove(member)
            _show(members, out)
            _write_batch(batch, members, done=False)
            if running:
                tick.wait(POLL_WALL)
    except KeyboardInterrupt:
        for member in running:
            if member.process is not None:
                member.process.send_signal(2)  # each run stops as on Ctrl-C: its safe state
        for member in running:
            if member.process is not None:
                member.code = member.process.wait()
        raise
    finally:
        _write_batch(batch, members, done=True)
    codes = [ExitCode(m.code) if m.code in set(ExitCode) else ExitCode.INTERRUPTED for m in members]
    worst = min(codes, key=WORST_EXIT.index)
    print(f"\nbatch {batch}: worst exit {int(worst)}", file=out)
    print(f"  modemcert report {batch}    # the modules × clauses summary", file=out)
    return int(worst)


def _start(member: Member, passthrough: list[str]) -> None:
    cmd = [sys.executable, "-m", "harness.cli", "run", "--rig", member.rig_arg]
    cmd += ["--reports-dir", str(member.reports), *passthrough]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    member.reports.mkdir(parents=True, exist_ok=True)
    log = member.log.open("w", encoding="utf-8")
    member.started_ns = stamp()
    member.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()  # the child holds its own descriptor


def _show(members: list[Member], out) -> None:
    """One line per module whose state changed since it was last shown."""
    for m in members:
        if m.process is None:
            state = "waiting"
        elif m.code is None:
            state = f"running: {m.progress()}"
        else:
            state = f"done: {m.progress()}; exit {m.code} ({m.wall:.0f} s)"
        if state != m.shown:
            m.shown = state
            print(f"  {m.rig.name:<20} {state}", file=out, flush=True)


def _write_batch(batch: Path, members: list[Member], done: bool) -> None:
    data = {
        "format": BATCH_FORMAT,
        "id": batch.name,
        "done": done,
        "runs": [
            {
                "rig": m.rig.name,
                "rig_file": str(m.rig.file),
                "run": os.path.relpath(run, batch) if (run := m.find_run()) else None,
                "log": m.log.name,
                "exit": m.code,
                "wall": round(m.wall, 1),
            }
            for m in members
        ],
    }
    atomic_write(batch / BATCH_FILE, json.dumps(data, indent=1))
