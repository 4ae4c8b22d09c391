"""A session's socket and accounting on the module's loop: refused dials, hold/release, close
against abandon, nothing reported before start_reading()."""

from __future__ import annotations

import socket
import threading

import pytest

from harness.clock import Clock
from harness.sim.loop import Future, Loop
from harness.sim.net import Route
from harness.sim.session import Session

CLOCK = Clock(0.01)


@pytest.fixture
def loop():
    lp = Loop(CLOCK)
    lp.start()
    yield lp
    lp.stop()
    assert not lp.errors


class Events:
    """What a session reported, on the loop thread only."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.seen: list[tuple[str, bytes]] = []
        self.got = threading.Event()

    def __call__(self, _session: Session, kind: str, data: bytes) -> None:
        assert threading.current_thread().name == self.loop.name
        self.seen.append((kind, data))
        self.got.set()

    def wait_for(self, count: int) -> list[tuple[str, bytes]]:
        deadline = CLOCK.deadline(500)
        while len(self.seen) < count and not deadline.expired:
            self.got.clear()
            CLOCK.wait(self.got, deadline.remaining())
        return self.seen


def session(loop: Loop, port: int, events: Events, link: int = 0) -> Session:
    return Session(link, "TCP", Route("127.0.0.1", port, ("127.0.0.1", port)), CLOCK, loop, events)


def dial(loop: Loop, s: Session, read: bool = True) -> str:
    """Dial on the loop and wait for the outcome."""
    done = threading.Event()
    future: Future = loop.call(s.dial, read)
    future.then(done.set)
    assert CLOCK.wait(done, 500)
    return future.value


def test_refused_dial(loop):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    assert dial(loop, session(loop, port, Events(loop))) == "refused"
    closed.close()


def test_hold_counts_as_unacked_until_released(loop, peer):
    events = Events(loop)
    s = Session(0, "TCP", Route("9.9.9.9", 1, ("127.0.0.1", peer.port)), CLOCK, loop, events)
    assert dial(loop, s) == "ok"
    loop.call(s.hold, b"abc")
    assert loop.call(lambda: (s.sent, s.unacked())) == (3, 3)
    loop.call(s.release, 3)
    assert events.wait_for(1)[0] == ("data", b"abc")  # the echo peer sends it back
    loop.call(s.close)
    assert loop.call(s.unacked) == 0


def test_abandon_keeps_the_socket_open_and_close_sends_fin(loop, make_peer):
    a, b = make_peer("sink"), make_peer("sink")
    left, right = session(loop, a.port, Events(loop)), session(loop, b.port, Events(loop), 1)
    assert dial(loop, left) == dial(loop, right) == "ok"
    sock = loop.call(left.abandon)
    loop.call(right.close)
    assert b.wait_ended(CLOCK)
    assert not a.ended.is_set()  # power lost: the peer never hears of it
    sock.close()
    assert a.wait_ended(CLOCK)


def test_nothing_is_reported_before_start_reading(loop, make_peer):
    """A link the module has not reported yet reports neither data nor the peer's close (the
    host must see CONNECT OK first); start_reading() then delivers both, in order."""
    peer = make_peer("sink")
    events = Events(loop)
    s = session(loop, peer.port, events)
    assert dial(loop, s, read=False) == "ok"
    assert peer.wait_accepted(CLOCK)
    peer.send(b"early")
    peer.close_conn()
    assert not CLOCK.wait(events.got, 1.0)  # not reading: nothing may be reported
    loop.call(s.start_reading)
    assert events.wait_for(2) == [("data", b"early"), ("closed", b"")]
    loop.call(s.close)


def test_no_room_stops_reading_until_there_is(loop, peer):
    events = Events(loop)
    s = session(loop, peer.port, events)
    assert dial(loop, s) == "ok"
    loop.call(s.set_room, False)
    loop.call(s.send, b"ping")
    assert peer.wait_received(4, CLOCK) == b"ping"
    assert not CLOCK.wait(events.got, 1.0)  # echoed back, but the module takes nothing
    loop.call(s.set_room, True)
    assert events.wait_for(1) == [("data", b"ping")]
    loop.call(s.close)
