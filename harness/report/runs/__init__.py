"""A run directory read into typed records: timings.json first, junit.xml and Allure beside it.

`find_run()` turns "latest", a run id or a path into a run directory; `load_run()` reads it.
A record that cannot be read at all is a `ReportError`: one line naming the file and the field.
A damaged entry in a readable record is skipped (or its bad field dropped) with a warning in
`Run.warnings`, so the rest of a long night's run still reports (docs/reporting.md).
Modules: `records` (the types), `reader` (`load_run`), `external` (junit.xml, Allure,
environment.properties), `finding` (`find_run`, `list_runs`).
"""

from harness.report.runs.external import (
    ALLURE_RESULTS,
    ENVIRONMENT,
    JUNIT,
    ExternalOutcome,
    allure_key,
    junit_key,
    read_allure_results,
    read_junit,
    read_properties,
)
from harness.report.runs.finding import (
    LATEST,
    REPORTS_DIR,
    find_run,
    is_run_dir,
    list_runs,
    safe_name,
)
from harness.report.runs.reader import WARNINGS_SHOWN, load_run
from harness.report.runs.records import (
    ABORTED,
    COMPLETE,
    INTERRUPTED,
    MAX_SECONDS,
    RUNNING,
    STATUSES,
    ModuleIdentity,
    ReportError,
    Run,
    RunInfo,
    SimInfo,
    TestRecord,
    TimingRecord,
)

__all__ = [
    "ABORTED",
    "ALLURE_RESULTS",
    "COMPLETE",
    "ENVIRONMENT",
    "INTERRUPTED",
    "JUNIT",
    "LATEST",
    "MAX_SECONDS",
    "REPORTS_DIR",
    "RUNNING",
    "STATUSES",
    "WARNINGS_SHOWN",
    "ExternalOutcome",
    "ModuleIdentity",
    "ReportError",
    "Run",
    "RunInfo",
    "SimInfo",
    "TestRecord",
    "TimingRecord",
    "allure_key",
    "find_run",
    "is_run_dir",
    "junit_key",
    "list_runs",
    "load_run",
    "read_allure_results",
    "read_junit",
    "read_properties",
    "safe_name",
]
