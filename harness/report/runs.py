"""A run directory read into typed records: timings.json first, junit.xml and Allure beside it.

`find_run()` turns "latest", a run id or a path into a run directory; `load_run()` reads it.
A record that cannot be read at all is a `ReportError`: one line naming the file and the field.
A damaged entry in a readable record is skipped (or its bad field dropped) with a warning in
`Run.warnings`, so the rest of a long night's run still reports (docs/reporting.md).
"""

from __future__ import annotations

import json
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import Category, Outcome, UsageFault
from harness.runrecord import FILENAME, RunRecordError, load

#: Where `modemcert run` writes runs, relative to the working directory.
REPORTS_DIR = Path("reports")
#: The symlink to the newest run inside REPORTS_DIR.
LATEST = "latest"

ALLURE_RESULTS = "allure-results"
JUNIT = "junit.xml"
ENVIRONMENT = "environment.properties"

#: run.status values (harness/runrecord.py writes them).
RUNNING, COMPLETE, INTERRUPTED, ABORTED = "running", "complete", "interrupted", "aborted"
STATUSES = (RUNNING, COMPLETE, INTERRUPTED, ABORTED)
#: A measured step longer than this (module seconds, ~116 days) is a damaged number, not a time.
MAX_SECONDS = 1e7
#: Warnings about one kind of damage listed one by one before they are counted instead.
WARNINGS_SHOWN = 8


class ReportError(UsageFault):
    """A user error (bad path, not a run, unreadable record): one line, no traceback."""


@dataclass(frozen=True)
class SimInfo:
    """How a simulated module was set up (run.sim): its profile, seed and mutations."""

    profile: str = ""
    seed: int | None = None
    mutations: tuple[str, ...] = ()


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
    status: str = COMPLETE
    stop_reason: str | None = None
    stop_category: Category | None = None  # why the run stopped early (rig fault, interrupted…)
    planned: int | None = None  # tests selected for the run
    rig_kind: str = ""  # "sim" or the rig's kind; "" in records older than the field
    sim: SimInfo | None = None
    mutations: tuple[str, ...] = ()

    @property
    def simulated(self) -> bool:
        """A simulated module: nothing it did certifies a real one."""
        if self.rig_kind:  # a labgrid place may hold a simulated module too (run.sim)
            return self.rig_kind == "sim" or self.sim is not None
        return self.sim is not None or self.rig == "sim"

    @property
    def all_mutations(self) -> tuple[str, ...]:
        """Every documented behaviour the simulator broke on purpose in this run."""
        sim = self.sim.mutations if self.sim is not None else ()
        return tuple(dict.fromkeys((*self.mutations, *sim)))

    @property
    def kind(self) -> str:
        """The rig kind, for records older than run.rig_kind: `sim` for the sim rig."""
        return self.rig_kind or ("sim" if self.simulated else self.rig or "unknown")


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
    def valid(self) -> bool:
        """A time that can be judged and plotted: finite, not negative, not absurd."""
        return math.isfinite(self.measured) and 0 <= self.measured <= MAX_SECONDS

    @property
    def margin(self) -> float | None:
        """Fraction of the limit left (1 = instant, 0 = at the limit, < 0 = exceeded).

        None when there is no limit, the time is invalid, or the sign would contradict the
        recorded verdict (a limit that is a target with a tolerance, like OPT-TCFG's 200 ms,
        is not a ceiling: its step may pass a little above it).
        """
        if not self.limit or not self.valid:
            return None
        left = 1.0 - self.measured / self.limit
        if (left < 0) != (self.verdict == "fail"):
            return None
        return left

    @property
    def ceiling(self) -> bool:
        """Is the limit a ceiling this step is judged against (margins mean something)?"""
        return self.margin is not None


@dataclass(frozen=True)
class TestRecord:
    """One test's outcome; `trace` comes from junit.xml or Allure when they have it."""

    __test__ = False  # a record, not a test class for pytest to collect

    nodeid: str
    clauses: tuple[str, ...] = ()
    outcome: str = ""
    category: Category | None = None
    message: str = ""
    duration: float | None = None
    transcript: str | None = None
    trace: str = ""

    @property
    def failed(self) -> bool:
        """Did it fail or error (any category)?"""
        return self.outcome in (Outcome.FAILED, Outcome.ERROR, Outcome.INTERRUPTED)

    @property
    def module_fault(self) -> bool:
        """Did the module fail it (a module category, or a failure older records left
        uncategorised)?"""
        if self.outcome not in (Outcome.FAILED, Outcome.XFAILED):
            return False
        return self.category is None or self.category.is_module


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
    #: Steps whose time is NaN, infinite, negative or absurd: shown as invalid, never plotted.
    invalid: tuple[TimingRecord, ...] = ()
    #: What was wrong in the record and skipped, one line each.
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def interrupted(self) -> bool:
        """Did the run stop before every selected test finished?"""
        if self.info.status != COMPLETE:
            return True
        if any(t.outcome == Outcome.INTERRUPTED for t in self.tests):
            return True
        return self.info.planned is not None and len(self.tests) < self.info.planned

    def transcript_text(self, test: TestRecord) -> str | None:
        """The test's transcript file, if it exists inside this run directory."""
        if not test.transcript:
            return None
        try:
            path = (self.path / test.transcript).resolve()
            if not path.is_relative_to(self.path.resolve()) or not path.is_file():
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None


# -- finding runs -----------------------------------------------------------------------------
def is_run_dir(path: Path) -> bool:
    try:
        return (Path(path) / FILENAME).is_file()
    except (OSError, ValueError):
        return False


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
        run = load(path).get("run")
    except (RunRecordError, RecursionError, ValueError):
        return ""
    started = run.get("started") if isinstance(run, dict) else None
    return started if isinstance(started, str) else ""


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


def safe_name(text: str) -> str:
    """A run id as a file name part: no path separators, no leading dot, not empty."""
    name = re.sub(r"[^A-Za-z0-9_.+-]+|\.{2,}", "_", text).lstrip("._")[:120]
    return name or "run"


# -- reading the record -----------------------------------------------------------------------
def _float(value: int | float) -> float:
    """A JSON number as a float; an integer too large for one (JSON allows any) is infinite."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _short(value: Any) -> str:
    """A bad value for a one-line message: its repr, clipped."""
    try:
        text = repr(value)
    except ValueError:  # an integer with more digits than Python will print
        return "a number too long to print"
    return text if len(text) <= 40 else text[:37] + "..."


class _Reader:
    """Reads one timings.json, collecting what it had to skip as warnings."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(f"{self.where}: {text}")

    def fatal(self, key: str, what: str) -> ReportError:
        return ReportError(f"{self.where}: {key} {what}; the run record is damaged")

    def obj(self, value: Any, key: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fatal(key, f"is {_short(value)}, not an object")
        return value

    def list(self, value: Any, key: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fatal(key, f"is {_short(value)}, not a list")
        return value

    def text(self, row: dict, key: str, where: str, default: str = "") -> str:
        value = row.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        self.warn(f"{where}.{key} is {_short(value)}, not text; ignored")
        return default

    def opt_text(self, row: dict, key: str, where: str) -> str | None:
        return self.text(row, key, where) or None

    def number(self, row: dict, key: str, where: str) -> float | None:
        """A finite number, or None (with a warning when the value was there but wrong)."""
        value = row.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.warn(f"{where}.{key} is {_short(value)}, not a number; ignored")
            return None
        number = _float(value)
        if not math.isfinite(number):
            self.warn(f"{where}.{key} is {_short(value)}, not a finite number; ignored")
            return None
        return number


def load_run(path: str | os.PathLike) -> Run:
    """Read a run directory; timings.json is required, the rest is used when present."""
    path = Path(path).resolve()
    try:
        data = load(path)
    except RunRecordError as e:
        raise ReportError(str(e)) from None
    except RecursionError:
        raise ReportError(f"{path / FILENAME}: nested too deeply to be a run record") from None
    except ValueError as e:  # an integer of more digits than Python reads, and the like
        raise ReportError(f"{path / FILENAME}: unreadable run record: {e}") from None
    r = _Reader(path / FILENAME)
    info = _run_info(r, r.obj(data.get("run"), "'run'"), path)
    module = r.obj(data.get("module"), "'module'")
    identity = ModuleIdentity(
        **{
            k: r.text(module, k, "module")
            for k in ("model", "revision", "firmware", "imei", "iccid")
        }
    )
    timings, provoked, invalid = [], [], []
    for i, row in enumerate(r.list(data.get("timings"), "'timings'")):
        timing = _timing(r, row, f"timings[{i}]")
        if timing is None:
            continue
        if timing.provoked:
            provoked.append(timing)
        elif not timing.valid:
            invalid.append(timing)
        else:
            timings.append(timing)
    tests = []
    for i, row in enumerate(r.list(data.get("tests"), "'tests'")):
        test = _test(r, row, f"tests[{i}]")
        if test is not None:
            tests.append(test)
    junit = read_junit(path / JUNIT, r.warnings)
    allure = read_allure_results(path / ALLURE_RESULTS, r.warnings)
    tests = _merge_outcomes(tests, junit, allure)
    environment = read_properties(path / ALLURE_RESULTS / ENVIRONMENT)
    return Run(
        path,
        info,
        identity,
        tuple(timings),
        tuple(tests),
        environment,
        tuple(provoked),
        tuple(invalid),
        _fold(r.warnings),
    )


def _fold(warnings: list[str]) -> tuple[str, ...]:
    """At most WARNINGS_SHOWN warnings, then how many more there were."""
    if len(warnings) <= WARNINGS_SHOWN:
        return tuple(warnings)
    more = len(warnings) - WARNINGS_SHOWN
    return (*warnings[:WARNINGS_SHOWN], f"… and {more} more damaged entries like these")


def _run_info(r: _Reader, run: dict, path: Path) -> RunInfo:
    where = "run"
    scale = r.number(run, "time_scale", where)
    if scale is not None and scale <= 0:
        r.warn(f"run.time_scale is {scale:g}, not a positive number; ignored")
        scale = None
    finished = r.opt_text(run, "finished", where)
    status = r.text(run, "status", where)
    if status and status not in STATUSES:
        r.warn(f"run.status is {_short(status)}, not one of {', '.join(STATUSES)}; ignored")
        status = ""
    if not status:
        # Records older than run.status: a run that wrote its end finished.
        status = COMPLETE if finished else INTERRUPTED
    planned = run.get("planned")
    if planned is not None and (
        isinstance(planned, bool) or not isinstance(planned, int) or not 0 <= planned < 10**9
    ):
        r.warn(f"run.planned is {_short(planned)}, not a count of tests; ignored")
        planned = None
    return RunInfo(
        id=r.text(run, "id", where) or path.name,
        rig=r.text(run, "rig", where),
        rig_file=r.text(run, "rig_file", where),
        time_scale=scale,
        started=r.text(run, "started", where),
        finished=finished,
        operator=r.opt_text(run, "operator", where),
        harness_version=r.text(run, "harness_version", where),
        host=r.text(run, "host", where),
        status=status,
        stop_reason=r.opt_text(run, "stop_reason", where),
        stop_category=_category(r, r.text(run, "stop_category", where), "run.stop_category"),
        planned=planned,
        rig_kind=r.text(run, "rig_kind", where),
        sim=_sim(r, run.get("sim")),
        mutations=_names(r, run.get("mutations"), "run.mutations"),
    )


def _names(r: _Reader, value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.warn(f"{where} is {_short(value)}, not a list of names; ignored")
        return ()
    return tuple(value)


def _sim(r: _Reader, value: Any) -> SimInfo | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        r.warn(f"run.sim is {_short(value)}, not an object; ignored")
        return None
    seed = value.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or abs(seed) >= 2**64
    ):
        r.warn(f"run.sim.seed is {_short(seed)}, not an integer; ignored")
        seed = None
    return SimInfo(
        profile=r.text(value, "profile", "run.sim"),
        seed=seed,
        mutations=_names(r, value.get("mutations"), "run.sim.mutations"),
    )


def _timing(r: _Reader, row: Any, key: str) -> TimingRecord | None:
    if not isinstance(row, dict):
        r.warn(f"{key} is {_short(row)}, not an object; skipped")
        return None
    measured = row.get("measured")
    if isinstance(measured, bool) or not isinstance(measured, int | float):
        r.warn(f"{key}.measured is {_short(measured)}, not a number; skipped")
        return None
    typical = row.get("typical")
    if typical is not None:
        ok = (
            isinstance(typical, list | tuple)
            and len(typical) == 2
            and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(_float(v))
                for v in typical
            )
            and 0 <= typical[0] <= typical[1]
        )
        if not ok:
            r.warn(f"{key}.typical is {_short(typical)}, not [low, high]; ignored")
            typical = None
        else:
            typical = (float(typical[0]), float(typical[1]))
    limit = r.number(row, "limit", key)
    if limit is not None and limit <= 0:
        r.warn(f"{key}.limit is {limit:g}, not a positive time; ignored")
        limit = None
    test = row.get("test")
    if test is not None and not isinstance(test, str):
        r.warn(f"{key}.test is {_short(test)}, not a node id; ignored")
        test = None
    timing = TimingRecord(
        test=test or None,
        clause=r.text(row, "clause", key),
        command=r.text(row, "command", key),
        measured=_float(measured),
        limit=limit,
        typical=typical,
        verdict=r.text(row, "verdict", key),
        note=r.text(row, "note", key),
        at=r.number(row, "at", key),
        provoked=row.get("provoked") is True,
    )
    if not timing.valid:
        r.warn(f"{key}.measured is {measured!r}: not a time; shown as invalid, not plotted")
    return timing


def _category(r: _Reader, value: str, where: str) -> Category | None:
    if not value:
        return None
    try:
        return Category(value)
    except ValueError:
        r.warn(f"{where} is {_short(value)}, not a known category; ignored")
        return None


def _test(r: _Reader, row: Any, key: str) -> TestRecord | None:
    if not isinstance(row, dict):
        r.warn(f"{key} is {_short(row)}, not an object; skipped")
        return None
    nodeid = row.get("nodeid")
    if not isinstance(nodeid, str) or not nodeid:
        r.warn(f"{key} has no nodeid (it is {_short(nodeid)}); skipped")
        return None
    clauses = row.get("clauses") or []
    if isinstance(clauses, str):
        clauses = [clauses]
    if not isinstance(clauses, list) or not all(isinstance(c, str) for c in clauses):
        r.warn(f"{key}.clauses is {_short(clauses)}, not a list of clause IDs; ignored")
        clauses = []
    outcome = r.text(row, "outcome", key)
    if outcome and outcome not in set(Outcome):
        r.warn(f"{key}.outcome is {_short(outcome)}, not a known outcome; counted as an error")
    cat = _category(r, r.text(row, "category", key), f"{key}.category")
    duration = r.number(row, "duration", key)
    return TestRecord(
        nodeid=nodeid,
        clauses=tuple(clauses),
        outcome=outcome,
        category=cat,
        message=r.text(row, "message", key),
        duration=duration,
        transcript=r.opt_text(row, "transcript", key),
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


def read_junit(
    path: Path, warnings: list[str] | None = None
) -> dict[tuple[str, str], ExternalOutcome]:
    """Outcomes by (classname, name); an absent file gives nothing, an unreadable one a
    warning."""
    if not path.is_file():
        return {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError, RecursionError, ValueError) as e:
        if warnings is not None:
            warnings.append(f"{path}: unreadable ({e}); test outcomes from timings.json only")
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


#: Allure statuses as test outcomes.
_ALLURE_OUTCOMES = {"passed": "passed", "failed": "failed", "broken": "error", "skipped": "skipped"}


def read_allure_results(
    directory: Path, warnings: list[str] | None = None
) -> dict[tuple[str, str], ExternalOutcome]:
    """Outcomes by (fullName, name) from `*-result.json`; the last retry of a test wins. A file
    that is not an Allure result is skipped (with one warning for all of them)."""
    if not directory.is_dir():
        return {}
    found: dict[tuple[str, str], tuple[int, ExternalOutcome]] = {}
    bad: list[str] = []
    for path in sorted(directory.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            bad.append(f"{path.name} (not JSON)")
            continue
        problem = _allure_problem(data)
        if problem:
            bad.append(f"{path.name} ({problem})")
            continue
        details = data.get("statusDetails") or {}
        status = str(data.get("status") or "")
        key = (str(data.get("fullName") or ""), str(data.get("name") or ""))
        stop = data.get("stop")
        stop = stop if isinstance(stop, int) and not isinstance(stop, bool) else 0
        outcome = ExternalOutcome(
            _ALLURE_OUTCOMES.get(status, status),
            str(details.get("message") or ""),
            str(details.get("trace") or ""),
        )
        if key not in found or stop >= found[key][0]:
            found[key] = (stop, outcome)
    if bad and warnings is not None:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        warnings.append(f"{directory}: {len(bad)} Allure result file(s) skipped: {shown}")
    return {k: v for k, (_, v) in found.items()}


def _allure_problem(data: Any) -> str:
    """What makes this JSON not an Allure result ("" when it is one)."""
    if not isinstance(data, dict):
        return "not an object"
    for key in ("name", "fullName", "status"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key} is {_short(data[key])}"
    details = data.get("statusDetails")
    if details is not None and not isinstance(details, dict):
        return f"statusDetails is {_short(details)}, not an object"
    for key in ("message", "trace"):
        value = (details or {}).get(key)
        if value is not None and not isinstance(value, str):
            return f"statusDetails.{key} is {_short(value)}"
    return ""


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
    except (OSError, ValueError):
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
