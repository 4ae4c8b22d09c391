"""bench/timing_accuracy.py: the injected delays were really seen by Reply.elapsed, and the
simulator's stamps split the error into parts that add up."""

import pytest


def test_quick_run_reports_the_error_of_each_injected_delay(bench):
    done = bench("timing_accuracy.py", "--quick")
    assert done.returncode == 0, done.stderr
    last = done.last()
    assert last.figure == "timing error p99 ms" and last.agrees()
    harness = done.verdicts()[-2]  # the harness's own part, on the line before
    assert harness.figure == "harness timing error p99 ms" and harness.agrees()
    for injected in ("10", "50"):
        _, n, low, p50, p99, high = done.row(injected)
        assert int(n) == 3
        assert float(low) <= float(p50) <= float(p99) <= float(high)
    _, n, *_, p99, _ = done.row("all")
    assert int(n) == 6
    assert float(p99) == pytest.approx(last.value, abs=1e-3)
    _, n, *_, p99, _ = done.row("harness")
    assert int(n) == 6 and float(p99) == pytest.approx(harness.value, abs=1e-3)
    for part in ("line in", "simulator hold", "end to end"):
        assert int(done.row(part)[1]) == 6
    _, n, low, p50, p99, high = done.row("(bare PTY reader)")
    assert int(n) == 20 and 0 < float(low) <= float(p50) <= float(p99) <= float(high)
    assert "in a process of its own" in done.stdout


def test_the_bare_pty_baseline_stamps_every_final_after_it_was_written(bench_module):
    ta = bench_module("timing_accuracy")
    delays = ta.bare_pty(10)
    assert len(delays) == 10 and all(0 < d < 1000 for d in delays)


def test_the_parts_add_up_and_no_one_answers_early(bench_module):
    """Each sample: line in + hold + harness = end to end; the simulator never answered
    before the delay (hold >= 0) and the harness never saw the final before it was written."""
    ta = bench_module("timing_accuracy")
    samples = ta.measure((0.01, 0.03), 2)
    samples.update(ta.measure((0.02,), 1, same_process=True))
    every = [s for values in samples.values() for s in values]
    assert len(every) == 5
    for s in every:
        assert s.line_in + s.hold + s.harness == pytest.approx(s.end_to_end, abs=1e-6)
        assert s.hold >= 0 and s.harness > 0


def test_bad_repeats_are_refused_without_a_traceback(bench, user_error):
    user_error(bench("timing_accuracy.py", "--repeats", "x"), "--repeats", "not a int")
