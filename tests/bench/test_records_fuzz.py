"""bench/records_fuzz.py: damaged records through the five commands, every outcome counted."""

import random


def test_a_short_run_counts_every_command(bench):
    done = bench("records_fuzz.py", "--records", "6", "--seed", "3")
    assert done.returncode == 0, done.stderr
    for command in ("report", "certificate", "compare", "clauses", "trend"):
        ok, clear, unclear, tracebacks, hangs = (int(c) for c in done.row(command)[1:6])
        assert ok + clear == 6 and unclear == tracebacks == hangs == 0
    runs, failures = done.verdicts()[-2:]
    assert runs.value == 30 and runs.figure == "records × commands run"
    assert done.last() == failures and failures.agrees() and failures.met
    assert failures.figure == "tracebacks + hangs + unclear errors"


def test_every_kind_of_damage_leaves_a_run_directory(bench_module, tmp_path):
    fuzz = bench_module("records_fuzz")
    base = fuzz.write_base(tmp_path / "base", "r")
    for n, kind in enumerate(fuzz.KINDS):
        copy = tmp_path / f"c{n}"
        import shutil

        shutil.copytree(base, copy)
        kind(copy, random.Random(n))
        assert (copy / "timings.json").exists(), kind.__name__


def test_a_traceback_is_counted_not_raised(bench_module, tmp_path, monkeypatch):
    fuzz = bench_module("records_fuzz")
    tally = fuzz.Tally()

    def boom(_argv):
        raise KeyError("x")

    monkeypatch.setattr(fuzz, "modemcert", boom)
    fuzz.run_command(["report"], tmp_path, tally, "r")
    assert tally.tracebacks == ["r: KeyError: 'x'"]
    monkeypatch.setattr(
        fuzz, "modemcert", lambda _argv: print("two\nlines", file=__import__("sys").stderr) or 2
    )
    fuzz.run_command(["report"], tmp_path, tally, "r")
    assert len(tally.unclear) == 1
