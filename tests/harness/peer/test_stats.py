"""Per-connection records: digests of each direction, the first end wins, JSON round trip."""

from __future__ import annotations

from harness.clock import Clock, stamp
from harness.peer.stats import ConnStats, Ended, Record, sha256_hex


def test_record_counts_digests_and_times():
    clock = Clock(0.5)
    r = Record(7, "tcp", ("127.0.0.1", 5000), ("127.0.0.1", 7007), "echo", clock)
    r.received(b"ab", stamp())
    r.received(b"c", stamp())
    r.sent(b"xyz", stamp())
    s = r.snapshot(unread=4, unsent=1)
    assert (s.bytes_in, s.bytes_out) == (3, 3)
    assert s.sha256_in == sha256_hex(b"abc") and s.sha256_out == sha256_hex(b"xyz")
    assert s.opened <= s.first_byte <= s.last_byte
    assert s.opened_module <= s.first_byte_module <= s.last_byte_module
    assert (s.unread, s.unsent, s.open) == (4, 1, True)


def test_the_first_end_wins():
    r = Record(1, "tcp", ("h", 1), ("h", 2), "echo", Clock())
    assert r.end(Ended.WE_CLOSED)
    assert not r.end(Ended.RESET)
    s = r.snapshot()
    assert s.ended is Ended.WE_CLOSED and not s.open and s.closed is not None


def test_json_round_trip_ignores_unknown_fields():
    r = Record(3, "udp", ("127.0.0.1", 4000), ("127.0.0.1", 7007), "sink", Clock())
    r.received(b"d", stamp(), datagram=True)
    s = r.snapshot()
    d = s.as_json()
    d["added_later"] = 1  # a newer server may send more fields
    assert ConnStats.from_json(d) == s
    assert d["ended"] == "still open" and d["remote"] == ["127.0.0.1", 4000]
