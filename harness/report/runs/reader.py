"""Reading one timings.json: each field checked, a damaged entry skipped (or its bad field
dropped) with a warning, so the rest of a long night's run still reports."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from harness.errors import Category, Outcome
from harness.report.runs.external import (
    ALLURE_RESULTS,
    ENVIRONMENT,
    JUNIT,
    merge_outcomes,
    read_allure_results,
    read_junit,
    read_properties,
)
from harness.report.runs.records import (
    COMPLETE,
    INTERRUPTED,
    STATUSES,
    ModuleIdentity,
    ReportError,
    Run,
    RunInfo,
    SimInfo,
    TestRecord,
    TimingRecord,
    as_float,
    short,
)
from harness.runrecord import FILENAME, RunRecordError, load

#: Warnings about one kind of damage listed one by one before they are counted instead.
WARNINGS_SHOWN = 8


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
            raise self.fatal(key, f"is {short(value)}, not an object")
        return value

    def list(self, value: Any, key: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fatal(key, f"is {short(value)}, not a list")
        return value

    def text(self, row: dict, key: str, where: str, default: str = "") -> str:
        value = row.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        self.warn(f"{where}.{key} is {short(value)}, not text; ignored")
        return default

    def opt_text(self, row: dict, key: str, where: str) -> str | None:
        return self.text(row, key, where) or None

    def number(self, row: dict, key: str, where: str) -> float | None:
        """A finite number, or None (with a warning when the value was there but wrong)."""
        value = row.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.warn(f"{where}.{key} is {short(value)}, not a number; ignored")
            return None
        number = as_float(value)
        if not math.isfinite(number):
            self.warn(f"{where}.{key} is {short(value)}, not a finite number; ignored")
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
    tests = merge_outcomes(tests, junit, allure)
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
        r.warn(f"run.status is {short(status)}, not one of {', '.join(STATUSES)}; ignored")
        status = ""
    if not status:
        # Records older than run.status: a run that wrote its end finished.
        status = COMPLETE if finished else INTERRUPTED
    planned = run.get("planned")
    if planned is not None and (
        isinstance(planned, bool) or not isinstance(planned, int) or not 0 <= planned < 10**9
    ):
        r.warn(f"run.planned is {short(planned)}, not a count of tests; ignored")
        planned = None
    per_clause = run.get("planned_clauses") or {}
    if not isinstance(per_clause, dict) or not all(
        isinstance(k, str) and type(v) is int and 0 <= v < 10**9 for k, v in per_clause.items()
    ):
        r.warn(f"run.planned_clauses is {short(per_clause)}, not clause → test count; ignored")
        per_clause = {}
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
        planned_clauses=per_clause,
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
        r.warn(f"{where} is {short(value)}, not a list of names; ignored")
        return ()
    return tuple(value)


def _sim(r: _Reader, value: Any) -> SimInfo | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        r.warn(f"run.sim is {short(value)}, not an object; ignored")
        return None
    seed = value.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or abs(seed) >= 2**64
    ):
        r.warn(f"run.sim.seed is {short(seed)}, not an integer; ignored")
        seed = None
    return SimInfo(
        profile=r.text(value, "profile", "run.sim"),
        seed=seed,
        mutations=_names(r, value.get("mutations"), "run.sim.mutations"),
    )


def _timing(r: _Reader, row: Any, key: str) -> TimingRecord | None:
    if not isinstance(row, dict):
        r.warn(f"{key} is {short(row)}, not an object; skipped")
        return None
    measured = row.get("measured")
    if isinstance(measured, bool) or not isinstance(measured, int | float):
        r.warn(f"{key}.measured is {short(measured)}, not a number; skipped")
        return None
    typical = row.get("typical")
    if typical is not None:
        ok = (
            isinstance(typical, list | tuple)
            and len(typical) == 2
            and all(
                isinstance(v, int | float)
                and not isinstance(v, bool)
                and math.isfinite(as_float(v))
                for v in typical
            )
            and 0 <= typical[0] <= typical[1]
        )
        if not ok:
            r.warn(f"{key}.typical is {short(typical)}, not [low, high]; ignored")
            typical = None
        else:
            typical = (float(typical[0]), float(typical[1]))
    limit = r.number(row, "limit", key)
    if limit is not None and limit <= 0:
        r.warn(f"{key}.limit is {limit:g}, not a positive time; ignored")
        limit = None
    test = row.get("test")
    if test is not None and not isinstance(test, str):
        r.warn(f"{key}.test is {short(test)}, not a node id; ignored")
        test = None
    timing = TimingRecord(
        test=test or None,
        clause=r.text(row, "clause", key),
        command=r.text(row, "command", key),
        measured=as_float(measured),
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
        r.warn(f"{where} is {short(value)}, not a known category; ignored")
        return None


def _test(r: _Reader, row: Any, key: str) -> TestRecord | None:
    if not isinstance(row, dict):
        r.warn(f"{key} is {short(row)}, not an object; skipped")
        return None
    nodeid = row.get("nodeid")
    if not isinstance(nodeid, str) or not nodeid:
        r.warn(f"{key} has no nodeid (it is {short(nodeid)}); skipped")
        return None
    clauses = _names(r, row.get("clauses") or None, f"{key}.clauses")
    outcome = r.text(row, "outcome", key)
    if outcome and outcome not in set(Outcome):
        r.warn(f"{key}.outcome is {short(outcome)}, not a known outcome; counted as an error")
    cat = _category(r, r.text(row, "category", key), f"{key}.category")
    duration = r.number(row, "duration", key)
    return TestRecord(
        nodeid=nodeid,
        clauses=clauses,
        outcome=outcome,
        category=cat,
        message=r.text(row, "message", key),
        duration=duration,
        transcript=r.opt_text(row, "transcript", key),
    )
