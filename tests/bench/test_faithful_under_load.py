"""bench/faithful_under_load.py: the faithful sim rig, run after run beside busy loops."""


def test_a_quick_run_passes_and_says_so_in_the_verdict_line(bench):
    done = bench("faithful_under_load.py", "--quick")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert done.row("1")[2:] == ["0", "-"], done.stdout
    last = done.last()
    assert last.figure == "faithful-runs-passed-under-load" and last.value == 1 and last.agrees()


def test_every_outcome_but_passed_and_skipped_is_a_false_verdict(bench_module):
    runs = bench_module("faithful_under_load")
    outcomes = ["passed", "skipped", "interrupted", "failed", "error", "xfailed"]
    bad = [o for o in outcomes if runs._bad({"outcome": o})]
    assert bad == ["interrupted", "failed", "error", "xfailed"]


def test_bad_options_are_one_line_and_exit_2(bench, user_error):
    user_error(bench("faithful_under_load.py", "--suite", "nope"), "suites/test_nope.py")
    user_error(bench("faithful_under_load.py", "--runs", "0"), "--runs")
