"""bench/at_roundtrip.py --quick: every method measured on both lines, ratios from the table."""

import math

import pytest


def test_quick_run_measures_every_method_and_reports_harness_over_raw(bench):
    done = bench("at_roundtrip.py", "--quick")
    assert done.returncode == 0, done.stderr
    last = done.last()
    assert last.figure == "harness/raw median AT->OK, unpaced" and last.agrees()
    medians = {}
    for line in done.lines:
        cells = line.split()
        if len(cells) == 7 and cells[1] in ("harness", "raw", "pexpect"):
            pacing, method, n = cells[0], cells[1], int(cells[2])
            assert n == 60, line  # --quick: 60 timed round trips per method and pacing
            medians[pacing, method] = float(cells[3])
    assert set(medians) == {
        (p, m) for p in ("off", "115200") for m in ("harness", "raw", "pexpect")
    }
    assert all(math.isfinite(v) and v > 0 for v in medians.values())
    # The figures are the table's medians divided (to the table's 4 significant digits).
    assert last.value == pytest.approx(medians["off", "harness"] / medians["off", "raw"], rel=2e-3)
    (pexpect,) = [v for v in done.verdicts() if v.figure.startswith("harness/pexpect")]
    assert pexpect.agrees()
    assert pexpect.value == pytest.approx(
        medians["off", "harness"] / medians["off", "pexpect"], rel=2e-3
    )


def test_bad_rounds_are_refused_without_a_traceback(bench, user_error):
    user_error(bench("at_roundtrip.py", "--rounds", "0"), "--rounds", "must be above 0")
