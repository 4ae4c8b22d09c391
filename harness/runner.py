"""`modemcert run`: the certification suites on a rig, a report directory, and a verdict.

Runs pytest on suites/ with the modemcert plugin into `reports/<run-id>/`, points
`reports/latest` at it, prints each clause's verdict (worst margins first) and exits 0 only when
every clause that ran passed.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import harness

#: Any pytest option not known here goes on to pytest (`modemcert run -k OPEN -x`).
PASSTHROUGH = True
SUITES = Path(harness.__file__).resolve().parent.parent / "suites"

#: Exit codes.
PASSED, FAILED, NOT_CERTIFIED, USAGE = 0, 1, 3, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rig", default="sim", help="rig file path or name in rigs/ (default: sim)")
    p.add_argument(
        "--suite",
        action="append",
        default=[],
        metavar="S",
        help="a suite by chapter name (open, send, …) or path; repeatable (default: all)",
    )
    p.add_argument("--reports-dir", type=Path, default=Path("reports"), help="default: reports/")
    p.add_argument("--operator", default=None, help="who runs the acceptance test")
    p.add_argument("--time-scale", type=float, default=None, help="sim rig only")
    p.epilog = "Other options (-k, -x, --clause ID, --sim-mutation NAME, …) are passed to pytest."


def suite_paths(names: list[str]) -> list[str]:
    """suites/test_<name>.py for chapter names, paths as given; all suites by default."""
    if not names:
        return [str(SUITES)]
    paths = []
    for name in names:
        candidate = SUITES / f"test_{name}.py"
        if Path(name).exists():
            paths.append(name)
        elif candidate.exists():
            paths.append(str(candidate))
        else:
            known = ", ".join(
                sorted(p.stem.removeprefix("test_") for p in SUITES.glob("test_*.py"))
            )
            raise ValueError(f"no suite {name!r}; suites: {known}")
    return paths


def point_latest(reports_dir: Path, run_dir: Path) -> None:
    """reports/latest → the newest run (replaced atomically)."""
    link = reports_dir / "latest"
    tmp = reports_dir / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name, target_is_directory=True)
    os.replace(tmp, link)


def main(args: argparse.Namespace) -> int:
    import pytest

    from harness.report.runs import ReportError, load_run
    from harness.rig import RigError, load_rig

    try:
        rig = load_rig(args.rig)
    except RigError as e:
        print(f"modemcert run: {e}", file=sys.stderr)
        return USAGE
    if not SUITES.is_dir():
        print(
            f"modemcert run: no suites at {SUITES}; run from a modemcert checkout", file=sys.stderr
        )
        return USAGE
    reports_dir = args.reports_dir.resolve()
    run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{rig.name}"
    run_dir = reports_dir / run_id
    try:
        pytest_args = suite_paths(args.suite)
    except ValueError as e:
        print(f"modemcert run: {e}", file=sys.stderr)
        return USAGE
    pytest_args += ["--rig", str(args.rig), "--report-dir", str(run_dir), "-p", "no:cacheprovider"]
    if args.operator:
        pytest_args += ["--operator", args.operator]
    if args.time_scale is not None:
        pytest_args += ["--time-scale", str(args.time_scale)]
    pytest_args += list(getattr(args, "extra", []))
    code = int(pytest.main(pytest_args))
    if not (run_dir / "timings.json").exists():
        print(
            f"modemcert run: pytest ended with code {code} before recording a run", file=sys.stderr
        )
        return USAGE if code in (2, 4) else FAILED
    point_latest(reports_dir, run_dir)
    try:
        run = load_run(run_dir)
    except ReportError as e:
        print(f"modemcert run: {e}", file=sys.stderr)
        return FAILED
    return summarise(run, code)


def summarise(run, pytest_code: int) -> int:
    """Print clause verdicts, worst margins first; the exit code for the run."""
    from harness.report.verdicts import WORST_FIRST, ClauseVerdict, clause_rows

    rows = [r for r in clause_rows(run) if r.verdict is not ClauseVerdict.NOT_RUN]

    def margin(row) -> float:
        tight = row.tightest
        return tight.margin if tight is not None and tight.margin is not None else 2.0

    rows.sort(key=lambda r: (WORST_FIRST.index(r.verdict), margin(r)))
    print()
    print(f"{'clause':<16} {'verdict':<9} {'tightest step':<34} {'measured':>10} {'limit':>8}")
    for row in rows:
        tight = row.tightest
        step = tight.command[:34] if tight is not None else ""
        measured = f"{tight.measured:.2f} s" if tight is not None else ""
        limit = f"{tight.limit:g} s" if tight is not None and tight.limit else ""
        print(f"{row.clause.id:<16} {row.verdict.value:<9} {step:<34} {measured:>10} {limit:>8}")
    bad = [r for r in rows if r.verdict in (ClauseVerdict.FAIL, ClauseVerdict.ERROR)]
    ran = [r for r in rows if r.verdict is not ClauseVerdict.SKIPPED]
    print(f"\n{len(ran)} clauses ran, {len(bad)} did not pass; report: {run.path}")
    print(f"  modemcert report {run.id}    # HTML report with plots and the traceability matrix")
    if bad:
        return FAILED
    if pytest_code not in (0, 5):
        return FAILED if pytest_code == 1 else USAGE
    return PASSED
