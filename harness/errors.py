"""Whose fault it is: the one error taxonomy every layer raises into, and the exit codes.

A certification verdict is only worth something if a failure is blamed on the module only when
the module did what the document forbids. Every exception the project raises inherits one of the
classes below, so its category is decided by type (`category_of`), never by name or message.
This module is the bottom layer (stdlib only): the peer and the simulator may import it too.
"""

from __future__ import annotations

import sysconfig
from enum import IntEnum, StrEnum
from pathlib import Path
from types import TracebackType
from typing import ClassVar


class Category(StrEnum):
    """What a failure says (timings.json `category`, the Allure categories)."""

    LIMIT_EXCEEDED = "limit exceeded"  # the module: a documented time was overrun
    PROTOCOL_DEVIATION = "protocol deviation"  # the module: an answer the document forbids
    RIG_FAULT = "rig fault"  # port, GPIO, peer, network or configuration found at run time
    USAGE_ERROR = "usage error"  # a bad option, rig file or API call by the person running it
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM, a test's wall-clock budget: not finished
    HARNESS_ERROR = "harness error"  # our own bug: never the module's

    @property
    def is_module(self) -> bool:
        """Is this the module's fault (the only categories that may fail a certification)?"""
        return self in MODULE_FAULTS


MODULE_FAULTS = frozenset({Category.LIMIT_EXCEEDED, Category.PROTOCOL_DEVIATION})


class Outcome(StrEnum):
    """A test's outcome in timings.json; `interrupted` is never a pass."""

    PASSED = "passed"
    FAILED = "failed"  # the module failed it (a module category)
    ERROR = "error"  # the rig, the harness or the usage failed it: no verdict on the module
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    XFAILED = "xfailed"
    XPASSED = "xpassed"


class ExitCode(IntEnum):
    """`modemcert run` (and doctor, report, …) exit codes, documented in README and plugin.md."""

    PASSED = 0  # every clause that ran passed
    MODULE_FAILED = 1  # the module failed a clause
    USAGE = 2  # usage or configuration error (bad option, rig file, record)
    RIG_FAULT = 3  # the rig could not certify (port, GPIO, peer, disk): nothing blamed on it
    INTERRUPTED = 4  # interrupted or incomplete: some tests did not finish


# -- the classes every raised exception inherits from ----------------------------------------
class ModemcertError(Exception):
    """Base of every error the project raises on purpose; `category` says whose fault it is.

    `stops_run`: no later test can give a verdict either (a dead port, a bad rig file), so
    the run stops once with this message instead of failing every test the same way.
    """

    category: ClassVar[Category] = Category.HARNESS_ERROR
    stops_run: ClassVar[bool] = False


class ModuleFault(ModemcertError):
    """The module did something the document forbids (only these fail a certification)."""

    category: ClassVar[Category] = Category.PROTOCOL_DEVIATION


class LimitFault(ModuleFault):
    """A documented time limit was overrun by the module."""

    category: ClassVar[Category] = Category.LIMIT_EXCEEDED


class DeviationFault(ModuleFault):
    """The module answered what the document does not allow."""

    category: ClassVar[Category] = Category.PROTOCOL_DEVIATION


class RigFault(ModemcertError):
    """The rig cannot certify (port, GPIO, peer, network, state dir, disk): stop the run once.

    The message names the rig file (where known) and what to check.
    """

    category: ClassVar[Category] = Category.RIG_FAULT
    stops_run: ClassVar[bool] = True


class UsageFault(ModemcertError):
    """A bad option, rig file or API call: the person running it must change something."""

    category: ClassVar[Category] = Category.USAGE_ERROR
    stops_run: ClassVar[bool] = True


class HarnessBug(ModemcertError):
    """An internal invariant of modemcert broke: our bug, reported as such, never the module's."""

    category: ClassVar[Category] = Category.HARNESS_ERROR


class Interrupted(ModemcertError):
    """The run was stopped (SIGTERM, a wall-clock budget) before the test finished."""

    category: ClassVar[Category] = Category.INTERRUPTED


# -- classification -------------------------------------------------------------------------
#: Our own code: a failed `assert` or an unexpected exception raised here is a harness bug.
HARNESS_DIRS = (
    Path(__file__).resolve().parent,
    Path(__file__).resolve().parent.parent / "fixtures",
)
#: Libraries (the stdlib, site-packages): never where a judgement is made.
LIBRARY_DIRS = tuple(
    Path(p).resolve() for p in {sysconfig.get_path(k) for k in ("stdlib", "purelib", "platlib")}
)


def _raised_in_harness(tb: TracebackType | None) -> bool:
    """Was the exception raised in our own code (harness/, fixtures/), rather than in a test
    (suites/ or any test file) judging the module? Library frames (pytest.fail) are skipped."""
    ours = False
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename).resolve()
        if any(path.is_relative_to(d) for d in HARNESS_DIRS):
            ours = True
        elif not any(path.is_relative_to(d) for d in LIBRARY_DIRS):
            ours = False
        tb = tb.tb_next
    return ours


def category_of_name(name: str | None) -> Category | None:
    """A recorded category (timings.json) back as a Category; None for none or an unknown one."""
    try:
        return Category(name) if name else None
    except ValueError:
        return None


def stops_run(exc: BaseException | None) -> bool:
    """Does this failure make every later test meaningless (the run stops once)?"""
    return isinstance(exc, ModemcertError) and exc.stops_run


def category_of(exc: BaseException | None) -> Category | None:
    """The category of an exception, by its type; None for no exception.

    A failed `assert` (or `pytest.fail`) raised in a test (suites/, or any test file) is a
    protocol deviation: the test judged the module's answer. The same raised inside harness/
    or fixtures/, and any exception the project did not raise on purpose, is a harness error.
    """
    if exc is None:
        return None
    if isinstance(exc, ModemcertError):
        return exc.category
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return Category.INTERRUPTED
    if _is_timeout(exc):
        return Category.INTERRUPTED
    if isinstance(exc, AssertionError) or type(exc).__name__ == "Failed":
        if _raised_in_harness(exc.__traceback__):
            return Category.HARNESS_ERROR
        return Category.PROTOCOL_DEVIATION
    return Category.HARNESS_ERROR


def _is_timeout(exc: BaseException) -> bool:
    """pytest-timeout's signal method fails the test with `Failed("Timeout (>N s) from
    pytest-timeout.")`: the wall-clock budget ran out, so the test did not finish."""
    return type(exc).__name__ == "Failed" and str(exc).startswith("Timeout (")


def outcome_for(category: Category | None) -> Outcome:
    """A failed phase's outcome: module faults fail the test, everything else errors it."""
    if category is Category.INTERRUPTED:
        return Outcome.INTERRUPTED
    if category is not None and category.is_module:
        return Outcome.FAILED  # in a fixture too: it saw the module misbehave (QIACT ERROR)
    return Outcome.ERROR


def exit_code_for(categories: set[Category], interrupted: bool) -> ExitCode:
    """The run's exit code from what went wrong, worst cause first: a usage error or a rig
    fault make every verdict doubtful; a module failure stands even if the run was cut short."""
    if Category.USAGE_ERROR in categories:
        return ExitCode.USAGE
    if Category.RIG_FAULT in categories:
        return ExitCode.RIG_FAULT
    if categories & MODULE_FAULTS:
        return ExitCode.MODULE_FAILED
    if interrupted or Category.INTERRUPTED in categories:
        return ExitCode.INTERRUPTED
    if Category.HARNESS_ERROR in categories:
        return ExitCode.INTERRUPTED  # a harness bug hid verdicts: the run is incomplete
    return ExitCode.PASSED
