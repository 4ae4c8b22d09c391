"""bench/inputs_fuzz.py: generated rig files through the loader and the CLI, none crashing."""


def test_a_short_run_counts_files_and_ends_met(bench):
    done = bench("inputs_fuzz.py", "--quick")
    assert done.returncode == 0, done.stderr
    loader = done.row("load_rig")
    assert int(loader[1]) == 300 and int(loader[2]) > 0 and int(loader[3]) > 0, loader
    assert int(done.row("modemcert run")[1]) == 10
    last = done.last()
    assert last.figure == "rig-files-tracebacks-and-hangs" and last.value == 0 and last.agrees()


def test_a_traceback_is_counted(bench_module, tmp_path, monkeypatch):
    fuzz = bench_module("inputs_fuzz")
    props = fuzz._props()

    def broken(text, folder):
        raise KeyError("boom")

    monkeypatch.setattr(fuzz, "_props", lambda: props)
    monkeypatch.setattr(props, "check_rig_document", broken)
    outcomes, problems, _ = fuzz.loader_run(5, tmp_path, 0)
    assert outcomes["traceback"] == 5 and problems[0].startswith("KeyError")
