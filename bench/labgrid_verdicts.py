"""Certification through a labgrid place on loopback: the same clause verdicts as the plain sim rig.

    .venv/bin/python bench/labgrid_verdicts.py [--suite S ...] [--exporter-ser2net] [--quick]

Starts tests/harness/_labgrid_lab.py's lab (a simulated M95 exported by a real labgrid-exporter
through ser2net, a labgrid-coordinator, the place, a peer), runs the suites through the place
(rigs/labgrid-sim.toml), then twice on the plain sim rig without the tests the place cannot run
(they inject faults into the in-process simulator). Prints per clause the three verdicts, the
wall times, the place's acquire and line-switch times, and the AT round trips on both lines.

A clause counts as the same when both say pass-or-marginal, or both the same other verdict:
which draw of the simulator's one random generator a latency gets depends on how many commands
came before it, so pass and marginal trade places between two plain sim runs too (the second
sim run shows how often). `--exporter-ser2net` lets labgrid-exporter run ser2net (its default,
without TCP_NODELAY) instead of the lab's own. `--quick`: the pdp and close suites.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "harness"))

from _common import table, verdict_line  # noqa: E402
from _labgrid_lab import Lab, missing  # noqa: E402

from harness import labgrid as lg  # noqa: E402
from harness.clock import Clock, stamp  # noqa: E402
from harness.report.runs import load_run  # noqa: E402
from harness.report.verdicts import ClauseVerdict, clause_rows  # noqa: E402
from harness.rig import load_rig  # noqa: E402

#: Line switches timed through the place (each one HTTP PUT by labgrid's driver).
SWITCHES = 200
INSIDE = (ClauseVerdict.PASS, ClauseVerdict.MARGINAL)
NOT_RUN = (ClauseVerdict.SKIPPED, ClauseVerdict.NOT_RUN)


def same(a: ClauseVerdict, b: ClauseVerdict) -> bool:
    return a == b or (a in INSIDE and b in INSIDE) or (a in NOT_RUN and b in NOT_RUN)


def certify(rig: str, out: Path, suites: list[str], env: dict, *extra: str) -> tuple[int, float]:
    cmd = [sys.executable, "-m", "harness.cli", "run", "--rig", rig]
    for suite in suites:
        cmd += ["--suite", suite]
    cmd += ["--reports-dir", str(out / "reports"), "--state-dir", str(out / "state"), *extra]
    start = stamp()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = Clock(1.0).since(start)
    if done.returncode not in (0, 1):
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    return done.returncode, wall


def commands(run_dir: Path) -> dict[str, list[float]]:
    record = json.loads((run_dir / "timings.json").read_text())
    found: dict[str, list[float]] = {}
    for t in record["timings"]:
        found.setdefault(t["command"], []).append(t["measured"])
    return found


def place_figures(lab: Lab, root: Path) -> dict[str, float]:
    """Acquire and release the place, and switch a line SWITCHES times, in wall ms."""
    rig = load_rig(lab.rig(root / "figures.toml"))
    wall = Clock(1.0)
    start = stamp()
    place = lg.acquire_place(rig, root)
    acquired = wall.since(start)
    try:
        times = []
        for _ in range(SWITCHES):
            t = stamp()
            place.set_line("emerg_off", False)  # released (each one an HTTP PUT): the module rests
            times.append(wall.since(t) * 1e3)
    finally:
        start = stamp()
        place.release()
    released = wall.since(start)
    times.sort()
    return {
        "acquire s": acquired,
        "release s": released,
        "switch median ms": statistics.median(times),
        "switch p99 ms": times[int(len(times) * 0.99) - 1],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", action="append", default=[], help="a suite (default: all)")
    p.add_argument("--quick", action="store_true", help="the pdp and close suites only")
    p.add_argument("--exporter-ser2net", action="store_true", help="ser2net run by the exporter")
    args = p.parse_args(argv)
    suites = args.suite or (["pdp", "close"] if args.quick else [])
    lacking = missing()
    if lacking:
        print(f"labgrid_verdicts: cannot build the lab: missing {lacking}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="labgrid-verdicts-") as tmp:
        root = Path(tmp)
        start = stamp()
        lab = Lab(root / "lab", own_ser2net=not args.exporter_ser2net).start()
        lab_up = Clock(1.0).since(start)
        try:
            env = {**os.environ, **lab.env}
            os.environ.update(lab.env)
            figures = place_figures(lab, root)
            lab.fresh_module()
            rig = str(lab.rig(root / "labgrid-sim.toml"))
            code_lg, wall_lg = certify(rig, root / "labgrid", suites, env)
            free_after = lab.holder() is None
        finally:
            lab.stop()
        lg_dir = (root / "labgrid" / "reports" / "latest").resolve()
        lg_run = load_run(lg_dir)
        skipped = [t.nodeid for t in lg_run.tests if t.outcome == "skipped"]
        deselect = [a for nodeid in skipped for a in ("--deselect", nodeid)]
        deselect += ["--time-scale", f"{lab.scale:g}"]  # the same compression as the place's
        code_sim, wall_sim = certify("sim", root / "sim", suites, env, *deselect)
        code_sim2, wall_sim2 = certify("sim", root / "sim2", suites, env, *deselect)
        sim_run = load_run((root / "sim" / "reports" / "latest").resolve())
        sim2_run = load_run((root / "sim2" / "reports" / "latest").resolve())
        lg_rows = {r.clause.id: r for r in clause_rows(lg_run)}
        sim_rows = {r.clause.id: r for r in clause_rows(sim_run)}
        ours = {c: r.verdict for c, r in lg_rows.items()}
        theirs = {c: r.verdict for c, r in sim_rows.items()}
        again = {r.clause.id: r.verdict for r in clause_rows(sim2_run)}
        lg_cmds, sim_cmds = commands(lg_dir), commands(root / "sim" / "reports" / "latest")

    rows = [
        (c, ours[c], theirs[c], again[c], "" if same(ours[c], theirs[c]) else "DIFFERS")
        for c in ours
        if not (ours[c] in NOT_RUN and theirs[c] in NOT_RUN)
    ]
    print(table(["clause", "labgrid", "sim", "sim again", ""], rows))
    differ = sum(not same(ours[c], theirs[c]) for c in ours)
    strict = sum(ours[c] != theirs[c] and not {ours[c], theirs[c]} <= set(NOT_RUN) for c in ours)
    noise = sum(theirs[c] != again[c] and not {theirs[c], again[c]} <= set(NOT_RUN) for c in ours)
    ran = sum(ours[c] not in NOT_RUN for c in ours)
    print()
    serial = "ser2net run by labgrid-exporter" if args.exporter_ser2net else "own ser2net (nodelay)"
    print(f"suites: {', '.join(suites) or 'all'}; serial: {serial}")
    print(f"lab up {lab_up:.1f} s; tests left out on the place (sim faults): {len(skipped)}")
    print(table(["figure", "value"], [(k, f"{v:.3f}") for k, v in figures.items()]))
    print(table(
        ["run", "exit", "wall s"],
        [("labgrid place", code_lg, f"{wall_lg:.1f}"), ("sim rig", code_sim, f"{wall_sim:.1f}"),
         ("sim rig again", code_sim2, f"{wall_sim2:.1f}")],
    ))  # fmt: skip
    at_rows = []
    for cmd in ("AT", "AT+QISTAT", "AT+QICLOSE", "AT+QIREGAPP"):
        if cmd in lg_cmds and cmd in sim_cmds:
            a, b = statistics.median(lg_cmds[cmd]), statistics.median(sim_cmds[cmd])
            at_rows.append((cmd, f"{b:.3f}", f"{a:.3f}", f"{a - b:+.3f}"))
    print(table(["median module s", "sim rig", "labgrid", "difference"], at_rows))
    print(
        f"wall ratio labgrid/sim: {wall_lg / wall_sim:.2f}; place free after the run: "
        f"{free_after}; clauses run through the place: {ran}"
    )
    print(f"strict verdict differences: labgrid vs sim {strict}, sim vs sim again {noise}")
    for c in ours:
        if not same(ours[c], theirs[c]):
            for name, row in (("labgrid", lg_rows[c]), ("sim", sim_rows[c])):
                step, bad = row.deciding, [t for t in row.tests if t.outcome != "passed"]
                shown = f"{step.command} {step.measured:.3f} s ({step.note})" if step else "-"
                print(f"  {c} {name}: {row.verdict}: {shown}", *(t.message for t in bad))
    print(verdict_line("clauses whose verdict differs from the plain sim rig", differ, "<=", 0, 0))
    return 0 if differ == 0 and free_after and code_lg == code_sim else 1


if __name__ == "__main__":
    sys.exit(main())
