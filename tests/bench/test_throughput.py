"""bench/throughput.py --quick: every byte reached the sink peer, the ratio is payload/line."""

import pytest

from harness import limits

QUICK_BYTES = 4 * limits.SEND_MAX


def test_quick_run_delivers_every_byte_and_reports_the_ratio(bench):
    done = bench("throughput.py", "--quick")
    assert done.returncode == 0, done.stderr
    last = done.last()
    assert last.figure == "payload rate / line rate" and last.agrees()
    assert int(done.row("payload bytes")[1]) == QUICK_BYTES
    assert int(done.row(f"AT+QISEND ({limits.SEND_MAX} B each)")[1]) == 4
    assert int(done.row("peer received, SHA-256 equal")[1]) == QUICK_BYTES
    acked, nacked = (int(x) for x in done.row("acked / nAcked at the end")[1].split(" / "))
    assert (acked, nacked) == (QUICK_BYTES, 0)
    rate = float(done.row("payload bytes/s")[1])
    line = float(done.row("line rate bytes/s")[1])
    assert line == limits.IPR_DEFAULT_RATE / 10
    assert last.value == pytest.approx(rate / line, rel=2e-3)


def test_bad_byte_count_is_refused_without_a_traceback(bench, user_error):
    user_error(bench("throughput.py", "--bytes", "-5"), "--bytes", "must be above 0")
