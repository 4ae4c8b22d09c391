"""`modemcert run`: the certification suites on a rig, a report directory, and a verdict.

Runs pytest on suites/ with the modemcert plugin into `reports/<run-id>/`, points
`reports/latest` at it, prints each clause's verdict (worst margins first) and exits 0 only when
every clause that ran passed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import harness
from harness.errors import Category, ExitCode

#: Any pytest option not known here goes on to pytest (`modemcert run -k OPEN -x`).
PASSTHROUGH = True
SUITES = Path(harness.__file__).resolve().parent.parent / "suites"

#: Exit codes (harness.errors.ExitCode; README and docs/plugin.md document them).
PASSED, FAILED, USAGE, RIG_FAULT, INTERRUPTED = (
    ExitCode.PASSED,
    ExitCode.MODULE_FAILED,
    ExitCode.USAGE,
    ExitCode.RIG_FAULT,
    ExitCode.INTERRUPTED,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rig",
        action="append",
        default=[],
        help="rig file path or name in rigs/ (default: sim); repeat it to certify several "
        "modules at once (a batch)",
    )
    p.add_argument(
        "--rigs", type=Path, default=None, metavar="DIR", help="a batch: every *.toml in DIR"
    )
    p.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="batch: at most N modules at a time"
    )
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


class _Outcome:
    """A pytest plugin that keeps the modemcert run's state when pytest is done with it."""

    def __init__(self) -> None:
        self.state = None

    def pytest_unconfigure(self, config) -> None:
        from fixtures.plugin import STATE_KEY

        self.state = config.stash.get(STATE_KEY, None)


def main(args: argparse.Namespace) -> int:
    import pytest

    from harness.batch import rig_files, run_batch
    from harness.files import StorageFault
    from harness.report.runs import ReportError, load_run
    from harness.rig import RigError, load_rig
    from harness.runrecord import new_run_dir

    try:
        rigs = rig_files(args.rig, args.rigs) or ["sim"]
    except RigError as e:
        print(f"modemcert run: {e}", file=sys.stderr)
        return USAGE
    if args.jobs is not None and args.jobs < 1:
        print("modemcert run: --jobs must be 1 or more", file=sys.stderr)
        return USAGE
    if any(a == "--report-dir" or a.startswith("--report-dir=") for a in args.extra):
        # pytest's own option would send the results past the run directory made here.
        print(
            "modemcert run: --report-dir is for plain `pytest suites/`; modemcert run makes "
            "its own run directory: use --reports-dir DIR (default reports/)",
            file=sys.stderr,
        )
        return USAGE
    if len(rigs) > 1:
        if any(a.startswith("--state-dir") for a in args.extra):
            print(
                "modemcert run: --state-dir cannot be shared by a batch: each rig keeps its "
                "own state_dir (set it in the rig files)",
                file=sys.stderr,
            )
            return USAGE
        try:
            suite_paths(args.suite)  # a bad suite name is refused before anything starts
            return run_batch(rigs, args.reports_dir.resolve(), _passthrough(args), args.jobs)
        except (RigError, ValueError) as e:
            print(f"modemcert run: {e}", file=sys.stderr)
            return USAGE
    args.rig = rigs[0]
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
    try:
        pytest_args = suite_paths(args.suite)
    except ValueError as e:
        print(f"modemcert run: {e}", file=sys.stderr)
        return USAGE
    reports_dir = args.reports_dir.resolve()
    try:
        run_dir = new_run_dir(reports_dir, rig.name)
    except (StorageFault, OSError) as e:
        print(f"modemcert run: no run directory in {reports_dir}: {e}", file=sys.stderr)
        return RIG_FAULT
    pytest_args += ["--rig", str(args.rig), "--report-dir", str(run_dir), "-p", "no:cacheprovider"]
    if args.operator:
        pytest_args += ["--operator", args.operator]
    if args.time_scale is not None:
        pytest_args += ["--time-scale", str(args.time_scale)]
    pytest_args += list(args.extra)
    outcome = _Outcome()
    code = int(pytest.main(pytest_args, plugins=[outcome]))
    state = outcome.state
    if code == pytest.ExitCode.USAGE_ERROR or state is None or state.log is None:
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing ran: no run to keep
        print(f"modemcert run: pytest ended with code {code} before a test ran", file=sys.stderr)
        return USAGE if code == pytest.ExitCode.USAGE_ERROR else INTERRUPTED
    if state.log.recorder.storage_fault is not None:
        print(f"modemcert run: {state.log.recorder.storage_fault}", file=sys.stderr)
        return RIG_FAULT
    try:
        run = load_run(run_dir)
    except ReportError as e:
        print(f"modemcert run: {e}", file=sys.stderr)
        return RIG_FAULT
    verdict = summarise(run, code, state.stopped)
    if _certified_something(run, state.stopped):
        point_latest(reports_dir, run_dir)
    else:
        print(f"modemcert run: reports/latest left as it was: {run_dir.name} certified nothing")
    return verdict


def _passthrough(args: argparse.Namespace) -> list[str]:
    """The options every run of a batch gets (all but the rig)."""
    out: list[str] = []
    for suite in args.suite:
        out += ["--suite", suite]
    if args.operator:
        out += ["--operator", args.operator]
    if args.time_scale is not None:
        out += ["--time-scale", str(args.time_scale)]
    return out + list(args.extra)


def _certified_something(run, stopped) -> bool:
    """reports/latest only ever points at a run that judged the module at least once and was
    not stopped by a rig fault or a usage error."""
    if stopped is not None and stopped[0] is not Category.INTERRUPTED:
        return False
    return any(t.outcome in ("passed", "failed") for t in run.tests)


def summarise(run, pytest_code: int, stopped: tuple[Category, str] | None = None) -> int:
    """Print clause verdicts, worst margins first, and how the run ended; its exit code."""
    from harness.errors import category_of_name, exit_code_for
    from harness.report.console import verdict_table
    from harness.report.verdicts import ClauseVerdict, clause_rows

    rows = [r for r in clause_rows(run) if r.verdict is not ClauseVerdict.NOT_RUN]
    print()
    print(verdict_table(run))
    good = (ClauseVerdict.PASS, ClauseVerdict.MARGINAL, ClauseVerdict.SKIPPED)
    bad = [r for r in rows if r.verdict not in good]
    ran = [r for r in rows if r.verdict is not ClauseVerdict.SKIPPED]
    print(f"\n{len(ran)} clauses ran, {len(bad)} did not pass; report: {run.path}")
    categories = {c for c in (category_of_name(t.category) for t in run.tests) if c is not None}
    if stopped is not None:
        categories.add(stopped[0])
    interrupted = pytest_code == 2 or any(t.outcome == "interrupted" for t in run.tests)
    code = exit_code_for(categories, interrupted)
    planned = run.info.planned if getattr(run.info, "planned", None) else len(run.tests)
    done = [t for t in run.tests if t.outcome != "interrupted"]
    if stopped is not None and done and done[-1].category == str(stopped[0]):
        done.pop()  # the test that met the fault did not finish either
    finished = len(done)
    if stopped is not None and stopped[0] is Category.INTERRUPTED:
        print(f"INTERRUPTED after {finished} of {planned} tests: {stopped[1]}")
    elif stopped is not None:
        print(f"STOPPED ({stopped[0]}) after {finished} of {planned} tests: {stopped[1]}")
        print("  nothing was certified against the module after this; fix the rig and run again")
    elif pytest_code not in (0, 1, 5) and code is PASSED:
        code = INTERRUPTED  # pytest itself failed to finish (internal error)
    print(f"  modemcert report {run.id}    # HTML report with plots and the traceability matrix")
    print(f"exit {int(code)}: {EXIT_MEANING[code]}")
    return int(code)


EXIT_MEANING = {
    ExitCode.PASSED: "every clause that ran passed",
    ExitCode.MODULE_FAILED: "the module failed a clause",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.RIG_FAULT: "rig fault: nothing was blamed on the module",
    ExitCode.INTERRUPTED: "interrupted or incomplete: some tests did not finish",
}
