"""bench/fuzz.py: runs every property of PROPERTIES, counts examples, sorts failures."""

import threading

import pytest

from harness.clock import Clock
from harness.protocol import ProtocolError


@pytest.fixture
def fuzz(bench_module):
    return bench_module("fuzz")


def test_a_short_run_covers_every_property(bench, fuzz):
    done = bench("fuzz.py", "--examples", "80", "--seed", "1")
    assert done.returncode == 0, done.stderr
    names = [p.__name__.removeprefix("test_") for p in fuzz.load_properties()]
    assert len(names) >= 8  # chunking, URCs, framed payloads, garbage, truncation, channel ...
    each = -(-80 // len(names))  # 80 examples shared out, rounded up
    for name in names:
        cells = done.row(name)
        assert int(cells[1]) == each, cells
    total = done.row("total")
    assert int(total[1]) == each * len(names)
    examples, failures = done.verdicts()[-2:]
    assert examples.value == each * len(names) and examples.agrees()
    assert done.last() == failures and failures.agrees()
    assert failures.figure == "hangs + untyped exceptions + misattributed lines"


def test_failures_are_sorted(fuzz):
    outcome = fuzz.Outcome("p")
    group = ExceptionGroup(
        "several",
        [AssertionError("reply changed"), KeyError("x"), ProtocolError("misuse"), fuzz.Hang("t")],
    )
    fuzz.classify(group, outcome)
    assert outcome.misattributed == ["AssertionError: reply changed"]
    assert outcome.untyped == ["KeyError: 'x'"]
    assert outcome.typed == ["ProtocolError: misuse"]
    assert outcome.hangs == 1 and outcome.failures == 4


def test_the_watchdog_ends_an_example_that_hangs(fuzz):
    never = threading.Event()
    with pytest.raises(fuzz.Hang), fuzz.watchdog(0.05):
        Clock(1.0).wait(never, 10.0)


def test_examples_are_counted_and_rejections_apart(fuzz):
    from hypothesis.errors import UnsatisfiedAssumption

    outcome = fuzz.Outcome("p")

    def inner(reject):
        if reject:
            raise UnsatisfiedAssumption()

    example = fuzz.counted(inner, outcome)
    example(False)
    with pytest.raises(UnsatisfiedAssumption):
        example(True)
    assert (outcome.examples, outcome.rejected) == (1, 1)


def test_bad_example_count_is_refused_without_a_traceback(bench, user_error):
    user_error(bench("fuzz.py", "--examples", "0"), "--examples", "must be above 0")
