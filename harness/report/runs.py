"""A run directory read into typed records: timings.json first, junit.xml and Allure beside it.

`find_run()` turns "latest", a run id or a path into a run directory; `load_run()` reads it.
Every user error is a `ReportError` whose one line says what is wrong, where, and what to do.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.runrecord import FILENAME, RunRecordError, load

#: Where `modemcert run` writes runs, relative to the working directory.
REPORTS_DIR = Path("reports")
#: The symlink to the newest run inside REPORTS_DIR.
LATEST = "latest"

ALLURE_RESULTS = "allure-results"
JUNIT = "junit.xml"
ENVIRONMENT = "environment.properties"


class ReportError(Exception):
    """A user error (bad path, not a run, unreadable file): one line, no traceback."""


@dataclass(frozen=True)
class RunInfo:
    """The run header of timings.json."""

    id: str
    rig: str = ""
    rig_file: str = ""
    time_scale: float | None = None
    started: str = ""
    finished: str | None = None
    operator: str | None = None
    harness_version: str = ""
    host: str = ""


@dataclass(frozen=True)
class ModuleIdentity:
    """What the module said about itself (the IMEI as recorded: masked but its last 3 digits)."""

    model: str = ""
    revision: str = ""
    firmware: str = ""
    imei: str = ""
    iccid: str = ""


@dataclass(frozen=True)
class TimingRecord:
    """One measured step: module seconds against the documented limit."""

    test: str | None
    clause: str
    command: str
    measured: float
    limit: float | None
    typical: tuple[float, float] | None
    verdict: str
    note: str = ""
    at: float | None = None
    provoked: bool = False

    @property
    def margin(self) -> float | None:
        """Fraction of the limit left (1 = instant, 0 = at the limit, < 0 = exceeded)."""
        if not self.limit:
            return None
        return 1.0 - self.measured / self.limit


@dataclass(frozen=True)
class TestRecord:
    """One test's outcome; `trace` comes from junit.xml or Allure when they have it."""

    __test__ = False  # a record, not a test class for pytest to collect

    nodeid: str
    clauses: tuple[str, ...] = ()
    outcome: str = ""
    category: str | None = None
    message: str = ""
    duration: float | None = None
    transcript: str | None = None
    trace: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in ("failed", "error")


@dataclass(frozen=True)
class Run:
    """A loaded run directory."""

    path: Path
    info: RunInfo
    module: ModuleIdentity
    timings: tuple[TimingRecord, ...]
    tests: tuple[TestRecord, ...]
    environment: dict[str, str] = field(default_factory=dict)
    #: Steps a test made slow on purpose (an injected fault): shown, never judged.
    provoked: tuple[TimingRecord, ...] = ()

    @property
    def id(self) -> str:
        return self.info.id

    def transcript_text(self, test: TestRecord) -> str | None:
        """The test's transcript file, if it exists inside this run directory."""
        if not test.transcript:
            return None
        path = (self.path / test.transcript).resolve()
        if not path.is_relative_to(self.path.resolve()) or not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None


# -- finding runs -----------------------------------------------------------------------------
def is_run_dir(path: Path) -> bool:
    return (Path(path) / FILENAME).is_file()


def list_runs(reports_dir: Path = REPORTS_DIR) -> list[Path]:
    """Run directories under `reports_dir`, oldest first (by start time, then name)."""
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        return []
    found = []
    for child in reports_dir.iterdir():
        if child.is_symlink() or not child.is_dir() or not is_run_dir(child):
            continue
        found.append((_started(child), child.name, child))
    return [p for _, _, p in sorted(found)]


def _started(path: Path) -> str:
    try:
        return str(load(path).get("run", {}).get("started") or "")
    except RunRecordError:
        return ""


def find_run(arg: str | os.PathLike | None, reports_dir: Path = REPORTS_DIR) -> Path:
    """A run directory from a path, a run id under `reports_dir`, or None/"latest"."""
    reports_dir = Path(reports_dir)
    name = LATEST if arg is None else os.fspath(arg)
    candidate = Path(name)
    if candidate.is_dir():
        path = candidate
    elif name and "/" not in name and (reports_dir / name).is_dir():
        path = reports_dir / name
    elif name == LATEST:
        raise ReportError(
            f"no runs yet: {reports_dir / LATEST} does not exist "
            "(run `modemcert run` first, or name a run directory)"
        )
    else:
        newest = [p.name for p in list_runs(reports_dir)][-3:]
        there = f" (newest there: {', '.join(newest)})" if newest else ""
        raise ReportError(
            f"no run {name!r}: not a directory, and not a run id under {reports_dir}/{there}"
        )
    if not is_run_dir(path):
        raise ReportError(
            f"{path} is not a modemcert run directory (it has no {FILENAME}); "
            f"pass a {reports_dir}/<run-id> directory"
        )
    return path.resolve()


# -- loading ----------------------------------------------------------------------------------
def load_run(path: str | os.PathLike) -> Run:
    """Read a run directory; timings.json is required, the rest is used when present."""
    path = Path(path).resolve()
    try:
        data = load(path)
    except RunRecordError as e:
        raise ReportError(str(e)) from None
    where = path / FILENAME
    run = _obj(data.get("run"), where, "run")
    module = _obj(data.get("module"), where, "module")
    info = RunInfo(
        id=str(run.get("id") or path.name),
        rig=str(run.get("rig") or ""),
        rig_file=str(run.get("rig_file") or ""),
        time_scale=_num(run.get("time_scale"), where, "run.time_scale", optional=True),
        started=str(run.get("started") or ""),
        finished=run.get("finished") or None,
        operator=run.get("operator") or None,
        harness_version=str(run.get("harness_version") or ""),
        host=str(run.get("host") or ""),
    )
    identity = ModuleIdentity(
        **{k: str(module.get(k) or "") for k in ("model", "revision", "firmware", "imei", "iccid")}
    )
    measured = [
        _timing(row, where, i) for i, row in enumerate(_list(data.get("timings"), where, "timings"))
    ]
    timings = tuple(t for t in measured if not t.provoked)
    provoked = tuple(t for t in measured if t.provoked)
    tests = [_test(row, where, i) for i, row in enumerate(_list(data.get("tests"), where, "tests"))]
    junit = read_junit(path / JUNIT)
    allure = read_allure_results(path / ALLURE_RESULTS)
    tests = _merge_outcomes(tests, junit, allure)
    environment = read_properties(path / ALLURE_RESULTS / ENVIRONMENT)
    return Run(path, info, identity, timings, tuple(tests), environment, provoked)


def _obj(value: Any, where: Path, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReportError(f"{where}: {key!r} is not an object; the run record is damaged")
    return value


def _list(value: Any, where: Path, key: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError(f"{where}: {key!r} is not a list; the run record is damaged")
    return value


def _num(value: Any, where: Path, key: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportError(f"{where}: {key} is {value!r}, not a number; the run record is damaged")
    return float(value)


def _timing(row: Any, where: Path, i: int) -> TimingRecord:
    key = f"timings[{i}]"
    row = _obj(row, where, key)
    typical = row.get("typical")
    if typical is not None:
        if not (isinstance(typical, list | tuple) and len(typical) == 2):
            raise ReportError(f"{where}: {key}.typical is {typical!r}, not [low, high]")
        typical = (
            _num(typical[0], where, f"{key}.typical[0]"),
            _num(typical[1], where, f"{key}.typical[1]"),
        )
    return TimingRecord(
        test=row.get("test"),
        clause=str(row.get("clause") or ""),
        command=str(row.get("command") or ""),
        measured=_num(row.get("measured"), where, f"{key}.measured"),
        limit=_num(row.get("limit"), where, f"{key}.limit", optional=True),
        typical=typical,
        verdict=str(row.get("verdict") or ""),
        note=str(row.get("note") or ""),
        at=_num(row.get("at"), where, f"{key}.at", optional=True),
        provoked=bool(row.get("provoked", False)),
    )


def _test(row: Any, where: Path, i: int) -> TestRecord:
    key = f"tests[{i}]"
    row = _obj(row, where, key)
    if not row.get("nodeid"):
        raise ReportError(f"{where}: {key} has no nodeid; the run record is damaged")
    clauses = row.get("clauses") or []
    if isinstance(clauses, str):
        clauses = [clauses]
    return TestRecord(
        nodeid=str(row["nodeid"]),
        clauses=tuple(str(c) for c in clauses),
        outcome=str(row.get("outcome") or ""),
        category=row.get("category") or None,
        message=str(row.get("message") or ""),
        duration=_num(row.get("duration"), where, f"{key}.duration", optional=True),
        transcript=row.get("transcript") or None,
    )


# -- junit.xml and Allure results -------------------------------------------------------------
@dataclass(frozen=True)
class ExternalOutcome:
    """A test outcome as junit.xml or Allure saw it."""

    outcome: str
    message: str = ""
    trace: str = ""


def junit_key(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest's junitxml writes a node id."""
    path, *names = nodeid.split("::")
    module = path.replace("/", ".")
    module = module[:-3] if module.endswith(".py") else module
    parts = [module, *names]
    return ".".join(parts[:-1]), parts[-1]


def read_junit(path: Path) -> dict[tuple[str, str], ExternalOutcome]:
    """Outcomes by (classname, name); an absent or unreadable file gives nothing."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}
    found = {}
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        outcome, message, trace = "passed", "", ""
        for tag, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            el = case.find(tag)
            if el is not None:
                outcome, message, trace = name, el.get("message", ""), (el.text or "")
                break
        found[key] = ExternalOutcome(outcome, message, trace)
    return found


def allure_key(nodeid: str) -> tuple[str, str]:
    """(fullName, name) as allure-pytest writes a node id."""
    path, *names = nodeid.split("::")
    package = path.rsplit(".", 1)[0].replace("/", ".")
    classes = "".join(f".{n}" for n in names[:-1])
    test = names[-1] if names else path
    return f"{package}{classes}#{test.split('[')[0]}", test


def read_allure_results(directory: Path) -> dict[tuple[str, str], ExternalOutcome]:
    """Outcomes by (fullName, name) from `*-result.json`; the last retry of a test wins."""
    if not directory.is_dir():
        return {}
    found: dict[tuple[str, str], tuple[int, ExternalOutcome]] = {}
    for path in directory.glob("*-result.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(data, dict):
            continue
        details = data.get("statusDetails") or {}
        status = {"broken": "error"}.get(str(data.get("status")), str(data.get("status")))
        key = (str(data.get("fullName", "")), str(data.get("name", "")))
        stop = data.get("stop") if isinstance(data.get("stop"), int) else 0
        outcome = ExternalOutcome(
            status, str(details.get("message") or ""), str(details.get("trace") or "")
        )
        if key not in found or stop >= found[key][0]:
            found[key] = (stop, outcome)
    return {k: v for k, (_, v) in found.items()}


def _merge_outcomes(
    tests: list[TestRecord],
    junit: dict[tuple[str, str], ExternalOutcome],
    allure: dict[tuple[str, str], ExternalOutcome],
) -> list[TestRecord]:
    """timings.json is the record; the others fill a missing message or trace, or a test a
    killed run never wrote to timings.json (only junit names it then, without clauses)."""
    merged = []
    seen = set()
    for test in tests:
        seen.add(junit_key(test.nodeid))
        other = junit.get(junit_key(test.nodeid)) or allure.get(allure_key(test.nodeid))
        if other is not None:
            test = replace(
                test,
                outcome=test.outcome or other.outcome,
                message=test.message or other.message,
                trace=other.trace,
            )
        merged.append(test)
    for (classname, name), other in junit.items():
        if (classname, name) in seen:
            continue
        nodeid = f"{classname.replace('.', '/')}.py::{name}"
        merged.append(TestRecord(nodeid, (), other.outcome, None, other.message, None, None, ""))
    return merged


def read_properties(path: Path) -> dict[str, str]:
    """A Java-style .properties file (`key=value` or `key: value`, `#`/`!` comments)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut < 0:
            out[line] = ""
        else:
            out[line[:cut].strip()] = line[cut + 1 :].strip()
    return out
