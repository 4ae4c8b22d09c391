"""bench/rough_seeds.py: its quick run (one seed, the RECV suite on a rough line), the per-seed
rig file it writes, its verdict line and its option errors."""

from __future__ import annotations

import tomllib


def test_quick_run_passes_one_seed_and_says_missed_against_the_bar(bench):
    done = bench("rough_seeds.py", "--quick")
    assert done.returncode == 1, (done.stdout, done.stderr)  # 1 seed is short of the bar of 10
    verdict = done.last()
    assert verdict.agrees() and (verdict.value, verdict.target) == (1.0, 10.0)
    row = done.row("1")
    assert row[3] == "0" and int(row[1]) == int(row[2]) > 0, done.stdout  # tests = passed
    assert "false failures: 0" in done.stdout


def test_each_seed_gets_the_rough_rig_with_its_seed(bench_module, tmp_path):
    rough = bench_module("rough_seeds")
    path = rough.rig_for(42, tmp_path)
    data = tomllib.loads(path.read_text())
    original = tomllib.loads(rough.ROUGH_RIG.read_text())
    assert data["sim"] == {**original["sim"], "seed": 42}
    assert {k: v for k, v in data.items() if k != "sim"} == {
        k: v for k, v in original.items() if k != "sim"
    }


def test_bad_options_are_one_line(bench, user_error):
    user_error(bench("rough_seeds.py", "--seeds", "0"), "--seeds")
