"""bench/secrets_leak.py: plants secrets in a sim rig, runs, and counts where they show."""

from pathlib import Path


def test_a_quick_run_scans_every_field_and_finds_none(bench):
    done = bench("secrets_leak.py", "--quick")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    for field in ("network.user", "network.password_env", "peer.token", "module IMEI (full)"):
        assert done.row(field)[2] == "0", done.row(field)
    last = done.last()
    assert last.figure == "secret-occurrences" and last.value == 0 and last.agrees()


def test_an_occurrence_is_found_plain_and_hex(bench_module, tmp_path: Path):
    leak = bench_module("secrets_leak")
    (tmp_path / "a.json").write_text('{"hex": "' + b"s3cret".hex() + '"}')
    (tmp_path / "b.txt").write_text("password s3cret")
    found = leak.occurrences("s3cret", "console says s3cret", tmp_path)
    assert found == ["console (1x)", "a.json (1x)", "b.txt (1x)"]
