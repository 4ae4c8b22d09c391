"""bench/soak.py --quick: heartbeats went round, RSS was sampled, the buffers were watched."""

import pytest

from harness import limits


def test_quick_run_sends_heartbeats_and_samples_memory(bench):
    done = bench("soak.py", "--quick")
    assert done.returncode == 0, done.stderr
    last = done.last()
    assert last.figure == "RSS growth after warm-up MB" and last.agrees()
    row = done.row("heartbeats / echoes read / late")[1]
    beats, echoes, late = (int(x) for x in row.split(" / "))
    assert beats >= 1 and echoes >= 1 and echoes + late <= beats
    commands, _ = (int(x) for x in done.row("commands / timeouts")[1].split(" / "))
    # 0.5 module hours of AT+QISACK every QISACK_POLL: a command per tick, plus the heartbeats.
    assert commands >= 0.5 * 3600 / limits.QISACK_POLL.seconds
    kept, bound = done.row("transcript entries kept / bound")[1].split(" / ")
    assert 0 < int(kept) <= int(bound)
    assert float(done.row("RSS MB at start")[1]) > 0
    assert float(done.row("RSS growth MB after warm-up: peak")[1]) == pytest.approx(
        last.value, abs=1e-3
    )


def test_rss_is_read_from_proc_or_getrusage(bench_module):
    soak = bench_module("soak")
    assert soak.rss_mb() > 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--hours", "1", "--warmup", "2"), ("--warmup", "shorter than --hours")),
        (("--scale", "5"), ("--scale", "outside")),
    ],
)
def test_bad_settings_are_refused_without_a_traceback(bench, user_error, args, words):
    user_error(bench("soak.py", *args), *words)
