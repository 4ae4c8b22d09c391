"""What junit.xml, Allure's results and environment.properties say beside timings.json: outcomes
by test, merged into the record's tests (timings.json wins; the others fill gaps)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.report.runs.records import TestRecord, short

#: What a run directory may hold beside timings.json.
ALLURE_RESULTS = "allure-results"
JUNIT = "junit.xml"
ENVIRONMENT = "environment.properties"


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
            return f"{key} is {short(data[key])}"
    details = data.get("statusDetails")
    if details is not None and not isinstance(details, dict):
        return f"statusDetails is {short(details)}, not an object"
    for key in ("message", "trace"):
        value = (details or {}).get(key)
        if value is not None and not isinstance(value, str):
            return f"statusDetails.{key} is {short(value)}"
    return ""


def merge_outcomes(
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
