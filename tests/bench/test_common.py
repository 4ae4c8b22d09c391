"""bench/_common.py: the verdict line, statistics, the table, argument checks."""

import argparse
import math

import pytest


@pytest.fixture
def common(bench_module):
    return bench_module("_common")


@pytest.mark.parametrize(
    ("value", "op", "target", "met"),
    [
        (1.2, "<=", 1.3, True),
        (1.4, "<=", 1.3, False),
        (0.95, ">=", 0.9, True),
        (0.0, "<", 0.0, False),
    ],
)
def test_verdict_line_reads_back_and_agrees(common, verdict, value, op, target, met):
    line = common.verdict_line("some figure", value, op, target)
    v = verdict(line)
    assert v is not None, line
    assert (v.figure, v.value, v.op, v.target, v.met) == ("some figure", value, op, target, met)
    assert v.agrees()


def test_a_value_that_is_not_a_number_is_missed(common):
    assert common.verdict_line("x", math.nan, "<=", 1.0).endswith("(target <= 1) MISSED")
    assert common.verdict_line("x", math.inf, ">=", 1.0).endswith("MISSED")


def test_an_unknown_operator_is_refused(common):
    with pytest.raises(ValueError, match="verdict operator"):
        common.verdict_line("x", 1.0, "==", 1.0)


def test_percentiles_and_summary(common):
    values = [float(x) for x in range(1, 101)]
    assert common.percentile(values, 50) == 50.0
    assert common.percentile(values, 99) == 99.0
    assert common.percentile(values, 100) == 100.0
    assert math.isnan(common.percentile([], 50))
    s = common.Summary.of([3.0, 1.0, 2.0])
    assert (s.n, s.median, s.low, s.high) == (3, 2.0, 1.0, 3.0)
    assert math.isnan(common.Summary.of([]).median)


def test_ratio_guards_against_zero_and_nan(common):
    assert common.ratio(3.0, 2.0) == 1.5
    assert math.isnan(common.ratio(1.0, 0.0))
    assert math.isnan(common.ratio(math.nan, 1.0))


def test_table_aligns_columns(common):
    text = common.table(("name", "n"), [("a", 1), ("longer", 1234.5), ("c", math.nan)])
    lines = text.splitlines()
    assert lines[0].startswith("name") and set(lines[1]) <= {"-", " "}
    assert len({len(line) for line in lines[2:4]}) == 1  # numbers right-aligned
    assert lines[-1].endswith("n/a")


def test_positive_refuses_zero_and_words(common):
    parse = common.positive(int)
    assert parse("3") == 3
    for bad in ("0", "-1", "many"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


def test_bench_profile_keeps_the_order_of_latencies(common):
    from harness.sim import Profile

    fast, m95 = common.bench_profile(), Profile()
    assert fast.lat_plain == (0.0, 0.0) and fast.lat_send_ok == (0.0, 0.0)
    assert fast.lat_call_ready == tuple(x * common.BRING_UP_FACTOR for x in m95.lat_call_ready)
    assert common.bench_profile(pace_output=True).pace_output
