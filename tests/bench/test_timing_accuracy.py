"""bench/timing_accuracy.py --quick: the injected delays were really seen by Reply.elapsed."""

import pytest


def test_quick_run_reports_the_error_of_each_injected_delay(bench):
    done = bench("timing_accuracy.py", "--quick")
    assert done.returncode == 0, done.stderr
    last = done.last()
    assert last.figure == "timing error p99 ms" and last.agrees()
    for injected in ("10", "50"):
        _, n, low, p50, p99, high = done.row(injected)
        assert int(n) == 3
        # The final came after the delay: had the fault not held it back, elapsed would be
        # about zero and the error about minus the delay.
        assert 0 <= float(low) <= float(p50) <= float(p99) <= float(high)
    _, n, *_, p99, _ = done.row("all")
    assert int(n) == 6
    assert float(p99) == pytest.approx(last.value, abs=1e-3)


def test_bad_repeats_are_refused_without_a_traceback(bench, user_error):
    user_error(bench("timing_accuracy.py", "--repeats", "x"), "--repeats", "not a int")
