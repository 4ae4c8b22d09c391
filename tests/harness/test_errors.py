"""The one error taxonomy: every exception the project raises has a category by type, a failed
assert is the module's only when a test (not our code) made it, and exit codes rank causes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import harness
from harness.errors import (
    Category,
    ExitCode,
    HarnessBug,
    Interrupted,
    LimitFault,
    ModemcertError,
    ModuleFault,
    RigFault,
    UsageFault,
    category_of,
    category_of_name,
    exit_code_for,
    outcome_for,
    stops_run,
)
from harness.limits import LimitExceeded


def test_each_base_class_has_its_category():
    assert LimitFault("x").category is Category.LIMIT_EXCEEDED
    assert ModuleFault("x").category is Category.PROTOCOL_DEVIATION
    assert RigFault("x").category is Category.RIG_FAULT
    assert UsageFault("x").category is Category.USAGE_ERROR
    assert HarnessBug("x").category is Category.HARNESS_ERROR
    assert Interrupted("x").category is Category.INTERRUPTED
    assert {c for c in Category if c.is_module} == {
        Category.LIMIT_EXCEEDED,
        Category.PROTOCOL_DEVIATION,
    }


def test_the_category_is_decided_by_type_not_by_name():
    class ATTimeout(Exception):  # a look-alike name that is not ours
        pass

    class RigError(Exception):
        pass

    assert category_of(ATTimeout("no final")) is Category.HARNESS_ERROR
    assert category_of(RigError("bad")) is Category.HARNESS_ERROR
    assert category_of(LimitExceeded("PDP-DEACT: 100 s")) is Category.LIMIT_EXCEEDED


def _raise_here(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_a_failed_assert_in_a_test_is_a_deviation_but_in_the_harness_a_harness_bug():
    in_test = _raise_here(AssertionError("the module answered ERROR"))  # this file is a test
    assert category_of(in_test) is Category.PROTOCOL_DEVIATION

    from harness import modem

    source = "def check():\n    assert False, 'an internal invariant'\n"
    namespace: dict = {}
    exec(compile(source, modem.__file__, "exec"), namespace)  # as if raised in harness/modem.py
    try:
        namespace["check"]()
    except AssertionError as e:
        in_harness = e
    assert category_of(in_harness) is Category.HARNESS_ERROR


def test_pytest_fail_in_a_test_is_a_deviation_and_a_timeout_is_an_interruption():
    failed = _raise_here(pytest.fail.Exception("OPEN-TCP: CONNECT FAIL"))
    assert category_of(failed) is Category.PROTOCOL_DEVIATION
    timeout = _raise_here(pytest.fail.Exception("Timeout (>1.0s) from pytest-timeout."))
    assert category_of(timeout) is Category.INTERRUPTED
    assert category_of(KeyboardInterrupt()) is Category.INTERRUPTED


def test_an_unexpected_exception_is_a_harness_error():
    assert category_of(_raise_here(ZeroDivisionError())) is Category.HARNESS_ERROR
    assert category_of(None) is None


def test_outcomes_never_make_an_interruption_or_a_rig_fault_a_pass_or_a_module_failure():
    assert outcome_for(Category.INTERRUPTED) == "interrupted"
    assert outcome_for(Category.LIMIT_EXCEEDED) == "failed"
    assert outcome_for(Category.PROTOCOL_DEVIATION) == "failed"
    for category in (Category.RIG_FAULT, Category.USAGE_ERROR, Category.HARNESS_ERROR):
        assert outcome_for(category) == "error"


@pytest.mark.parametrize(
    ("categories", "interrupted", "code"),
    [
        (set(), False, ExitCode.PASSED),
        ({Category.LIMIT_EXCEEDED}, False, ExitCode.MODULE_FAILED),
        ({Category.LIMIT_EXCEEDED}, True, ExitCode.MODULE_FAILED),
        ({Category.HARNESS_ERROR}, False, ExitCode.INTERRUPTED),
        (set(), True, ExitCode.INTERRUPTED),
        ({Category.RIG_FAULT, Category.PROTOCOL_DEVIATION}, False, ExitCode.RIG_FAULT),
        ({Category.USAGE_ERROR, Category.RIG_FAULT}, False, ExitCode.USAGE),
    ],
)
def test_exit_codes_rank_the_causes(categories, interrupted, code):
    assert exit_code_for(categories, interrupted) is code


def test_recorded_names_come_back_as_categories():
    assert category_of_name("limit exceeded") is Category.LIMIT_EXCEEDED
    assert category_of_name(None) is None
    assert category_of_name("no such category") is None


def test_rig_and_usage_faults_stop_the_run_module_faults_do_not():
    assert stops_run(RigFault("port gone")) and stops_run(UsageFault("bad option"))
    assert not stops_run(LimitFault("slow")) and not stops_run(ValueError())


def _project_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(harness.__path__, "harness."):
        if ".sim" in info.name or info.name.endswith(("__main__", ".cli", ".labgrid_agent")):
            continue  # the module under test; entry points; a script run by labgrid's Python
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional backend (RPi.GPIO, gpiod) not installed here
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Exception)
                and obj.__module__ == info.name
                and not obj.__name__.startswith("_")
            ):
                found.append(obj)
    return found


def test_every_exception_the_harness_raises_belongs_to_the_taxonomy():
    """Every public exception class in harness/ (outside the simulator, which is the module
    under test) inherits one of harness.errors' classes."""
    outside = sorted(
        f"{cls.__module__}.{cls.__name__}"
        for cls in _project_exceptions()
        if not issubclass(cls, ModemcertError)
    )
    assert outside == []
