"""A session's socket and accounting: refused connects, hold/release, close against abandon."""

from __future__ import annotations

import socket
import threading

from harness.clock import Clock
from harness.sim.net import Route
from harness.sim.session import Session

CLOCK = Clock(0.01)


def events() -> tuple[list[tuple[str, bytes]], threading.Event, object]:
    seen: list[tuple[str, bytes]] = []
    got = threading.Event()

    def post(_session, kind, data):
        seen.append((kind, data))
        got.set()

    return seen, got, post


def test_refused_connect():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    _, _, post = events()
    s = Session(0, "TCP", Route("127.0.0.1", port, ("127.0.0.1", port)), CLOCK, post)
    assert s.connect() == "refused"
    closed.close()


def test_hold_counts_as_unacked_until_released(peer):
    seen, got, post = events()
    s = Session(0, "TCP", Route("9.9.9.9", 1, ("127.0.0.1", peer.port)), CLOCK, post)
    assert s.connect() == "ok"
    s.hold(b"abc")
    assert (s.sent, s.unacked()) == (3, 3)
    s.release(3)
    assert CLOCK.wait(got, 500)  # the echo peer sends it back
    assert seen[0] == ("data", b"abc")
    s.close()
    assert s.unacked() == 0


def test_abandon_keeps_the_socket_open_and_close_sends_fin(make_peer):
    a, b = make_peer("sink"), make_peer("sink")
    _, _, post = events()
    left = Session(0, "TCP", Route("127.0.0.1", a.port, ("127.0.0.1", a.port)), CLOCK, post)
    right = Session(1, "TCP", Route("127.0.0.1", b.port, ("127.0.0.1", b.port)), CLOCK, post)
    assert left.connect() == right.connect() == "ok"
    sock = left.abandon()
    right.close()
    assert b.wait_ended(CLOCK)
    assert not a.ended.is_set()  # power lost: the peer never hears of it
    sock.close()
    assert a.wait_ended(CLOCK)


def test_nothing_is_posted_before_start_reading(make_peer):
    """A link the module has not reported yet posts neither data nor the peer's close (the
    host must see CONNECT OK first); start_reading() then delivers both, in order."""
    peer = make_peer("sink")
    seen, got, post = events()
    s = Session(0, "TCP", Route("127.0.0.1", peer.port, ("127.0.0.1", peer.port)), CLOCK, post)
    assert s.connect(read=False) == "ok"
    assert peer.wait_accepted(CLOCK)
    peer.send(b"early")
    peer.close_conn()
    assert not CLOCK.wait(got, 1.0)  # the reader is not running: nothing may be posted
    s.start_reading()
    deadline = CLOCK.deadline(500)
    while len(seen) < 2 and not deadline.expired:
        got.clear()
        CLOCK.wait(got, deadline.remaining())
    assert seen == [("data", b"early"), ("closed", b"")]
    s.close()
