"""`modemcert clauses`: which tests walk which clause, what rig they need, the last verdict.

The suites are collected in-process (`pytest --collect-only`) with a small plugin reading the
`clause(*ids)` and `requires(*caps)` markers. Exits 1 if any clause has no test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness.clauses import CLAUSES, UnknownClause, clause
from harness.report.runs import REPORTS_DIR, ReportError, find_run, load_run

SUITES = Path("suites")
RIGS = Path("rigs")
COMPLETE, MISSING_TESTS, USAGE = 0, 1, 2


@dataclass(frozen=True)
class CollectedTest:
    nodeid: str
    clauses: tuple[str, ...]
    requires: tuple[str, ...]


@dataclass
class Collector:
    """A pytest plugin object: registers the markers and records what each item names."""

    tests: list[CollectedTest] = field(default_factory=list)

    def pytest_configure(self, config) -> None:
        # The modemcert plugin registers these too; registering twice is harmless.
        config.addinivalue_line("markers", "clause(*ids): PROCESS.md clause IDs this test walks")
        config.addinivalue_line("markers", "requires(*caps): rig capabilities this test needs")

    def pytest_collection_finish(self, session) -> None:
        for item in session.items:
            clauses = [str(a) for m in item.iter_markers("clause") for a in m.args]
            caps = [str(a) for m in item.iter_markers("requires") for a in m.args]
            self.tests.append(
                CollectedTest(
                    item.nodeid, tuple(dict.fromkeys(clauses)), tuple(dict.fromkeys(caps))
                )
            )


def collect(suites: Path) -> list[CollectedTest]:
    """Every test under `suites` with its clause and requires markers (nothing is run)."""
    import pytest

    if not suites.is_dir():
        raise ReportError(
            f"no suites directory at {suites} (run from the repository root or pass --suites DIR)"
        )
    collector = Collector()
    out = io.StringIO()
    args = [
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:modemcert",  # the certification plugin would open a run; the Collector suffices
        "--import-mode=importlib",
        str(suites),
    ]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pytest.main(args, plugins=[collector])
    finally:
        _forget_modules_under(suites)
    # 5: no tests collected — an empty suites directory is a matrix with no tests, not an error.
    if code not in (0, 5):
        tail = "\n".join(out.getvalue().strip().splitlines()[-15:])
        raise ReportError(f"collecting {suites} failed (pytest exit {int(code)}):\n{tail}")
    return collector.tests


def _forget_modules_under(directory: Path) -> None:
    """Drop the suite modules collection imported, so collecting again (another directory
    with the same file names, or edited files) imports them afresh."""
    root = directory.resolve()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(root):
            del sys.modules[name]


def rig_capabilities(name: str) -> tuple[str, set[str]]:
    """(rig name, capabilities) through harness.rig.load_rig (a rig name or a TOML path)."""
    try:
        from harness.rig import RigError, load_rig
    except ImportError:  # a checkout without the rig layer: read the TOML's list directly
        return _toml_capabilities(name)
    try:
        rig = load_rig(name)
    except RigError as e:
        raise ReportError(str(e))
    return rig.name, set(rig.capabilities)


def _toml_capabilities(name: str) -> tuple[str, set[str]]:
    path = Path(name)
    if not path.is_file():
        path = RIGS / f"{name}.toml"
    if not path.is_file():
        raise ReportError(f"no rig {name!r}: not a file and not {RIGS}/{name}.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ReportError(f"{path}: unreadable rig file: {e}")
    caps = data.get("capabilities", data.get("rig", {}).get("capabilities", []))
    if not isinstance(caps, list):
        raise ReportError(f"{path}: 'capabilities' is not a list of names")
    return path.stem, {str(c) for c in caps}


@dataclass(frozen=True)
class MatrixRow:
    clause: str
    tests: tuple[CollectedTest, ...]
    needs: tuple[str, ...]
    verdict: str = ""
    measured: str = ""


def matrix_rows(tests: list[CollectedTest], run=None) -> list[MatrixRow]:
    """One row per clause in document order; verdicts from `run` when given."""
    from harness.report.html import seconds
    from harness.report.verdicts import clause_rows

    last = {r.clause.id: r for r in clause_rows(run)} if run is not None else {}
    rows = []
    for cid in CLAUSES:
        named = tuple(t for t in tests if cid in t.clauses)
        needs = tuple(dict.fromkeys(c for t in named for c in t.requires))
        verdict = measured = ""
        if cid in last:
            verdict = str(last[cid].verdict)
            step = last[cid].tightest or last[cid].slowest
            if step is not None:
                measured = seconds(step.measured)
                if step.limit:
                    measured += f" / {seconds(step.limit)}"
        rows.append(MatrixRow(cid, named, needs, verdict, measured))
    return rows


def unknown_markers(tests: list[CollectedTest]) -> list[str]:
    """Lines naming tests whose clause marker has an ID harness.clauses does not know."""
    lines = []
    for t in tests:
        for cid in t.clauses:
            try:
                clause(cid)
            except UnknownClause as e:
                lines.append(f"{t.nodeid}: {e}")
    return lines


def format_matrix(rows: list[MatrixRow], caps: set[str] | None = None) -> str:
    """The matrix as fixed-width text; with `caps`, capabilities the rig lacks end in '!'."""

    def need_text(needs: tuple[str, ...]) -> str:
        if not needs:
            return "-"
        return ",".join(n + ("!" if caps is not None and n not in caps else "") for n in needs)

    table = [("CLAUSE", "TESTS", "NEEDS", "VERDICT", "MEASURED")]
    for r in rows:
        names = [t.nodeid for t in r.tests] or ["(no test)"]
        for i, name in enumerate(names):
            first = i == 0
            table.append(
                (
                    r.clause if first else "",
                    name,
                    need_text(r.needs) if first else "",
                    r.verdict if first else "",
                    r.measured if first else "",
                )
            )
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
        for row in table
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run", help="show verdicts from this run (default: reports/latest, if there is one)"
    )
    parser.add_argument("--rig", help="mark capabilities this rig (name or TOML file) lacks")
    parser.add_argument(
        "--suites", type=Path, default=SUITES, help="the suites to collect (default: suites)"
    )
    parser.add_argument(
        "--reports-dir", type=Path, default=REPORTS_DIR, help="where runs live (default: reports)"
    )


def main(args: argparse.Namespace) -> int:
    try:
        run = None
        if args.run is not None or (args.reports_dir / "latest").exists():
            run = load_run(find_run(args.run, args.reports_dir))
        caps = rig = None
        if args.rig:
            rig, caps = rig_capabilities(args.rig)
        tests = collect(args.suites)
    except ReportError as e:
        print(f"modemcert clauses: {e}", file=sys.stderr)
        return USAGE
    for line in run.warnings if run is not None else ():
        print(f"modemcert clauses: warning: {line}", file=sys.stderr)
    rows = matrix_rows(tests, run)
    untested = [r.clause for r in rows if not r.tests]
    lines = [format_matrix(rows, caps), ""]
    if run is not None:
        lines.append(f"verdicts from run {run.id}")
    if caps is not None:
        short = [r.clause for r in rows if any(n not in caps for n in r.needs)]
        lines.append(
            f"rig {rig}: {len(short)} clause(s) have tests needing capabilities it lacks (!)"
            + (f": {', '.join(short)}" if short else "")
        )
    bad = unknown_markers(tests)
    lines += [f"unknown clause marker: {line}" for line in bad]
    lines.append(
        f"{len(rows)} clauses, {len(rows) - len(untested)} with tests, {len(untested)} without"
        + (f": {', '.join(untested)}" if untested else "")
    )
    print("\n".join(lines))  # one write: `| head` closing the pipe early cannot interleave
    return MISSING_TESTS if untested or bad else COMPLETE
