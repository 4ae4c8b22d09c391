"""URC subscriptions: one append-only log, a cursor per reader; no reader takes another's URC."""

from __future__ import annotations

import threading

import pytest
from _at_cases import frame

from harness.at import ATTimeout, Urc, UrcKind, UrcLog
from harness.clock import Clock

SCALE = 0.01
PATIENCE = 1000.0  # module seconds (10 s of wall time): only a broken channel waits this long


@pytest.fixture
def log() -> UrcLog:
    return UrcLog(threading.Condition(), Clock(SCALE), keep=5)


def urc(text: str, kind: UrcKind, t_ns: int) -> Urc:
    return Urc(text, t_ns, kind)


def add(log: UrcLog, *urcs: Urc) -> None:
    with log.cond:
        for u in urcs:
            log.append(u)
        log.cond.notify_all()


RDY = urc("RDY", UrcKind.RDY, 1)
DEACT = urc("+PDP DEACT", UrcKind.PDP_DEACT, 2)
CLOSED = urc("CLOSED", UrcKind.CLOSED, 3)
DEACT2 = urc("+PDP DEACT", UrcKind.PDP_DEACT, 4)


# -- the log and its cursors -------------------------------------------------------------------
def test_every_reader_reads_every_urc_of_its_kinds(log):
    everything, deacts = log.subscribe(), log.subscribe({UrcKind.PDP_DEACT})
    add(log, RDY, DEACT, CLOSED)
    assert deacts.wait(0) is DEACT
    assert everything.take() == [RDY, DEACT, CLOSED]  # the other reader's wait took nothing
    assert deacts.take() == [] and everything.take() == []


def test_a_wait_takes_the_oldest_match_and_leaves_the_rest_unread(log):
    sub = log.subscribe()
    add(log, RDY, DEACT, CLOSED, DEACT2)
    assert sub.wait(0, UrcKind.CLOSED) is CLOSED
    assert sub.wait(0, r"^\+PDP") is DEACT
    assert sub.pending() == [RDY, DEACT2]  # pending() only looks
    assert sub.take(UrcKind.PDP_DEACT) == [DEACT2]
    assert sub.take() == [RDY]


def test_a_reader_starts_now_or_at_a_stamp(log):
    add(log, RDY, DEACT)
    assert log.subscribe().take() == []  # only what comes from now on
    assert log.subscribe(since_ns=2).take() == [DEACT]
    assert log.subscribe(since_ns=0).take() == [RDY, DEACT]
    assert log.subscribe(since_ns=99).take() == []


def test_skip_forgets_for_one_reader_only(log):
    a, b = log.subscribe(), log.subscribe()
    add(log, RDY, DEACT)
    assert a.skip() == 2 and a.take() == []
    assert b.take() == [RDY, DEACT]


def test_the_log_is_bounded_and_a_reader_that_fell_behind_is_told(log):
    slow, fast = log.subscribe(), log.subscribe()
    for n in range(8):
        add(log, urc(f"+CREG: {n}", UrcKind.CREG, n))
        assert fast.take()[0].text == f"+CREG: {n}"
    assert len(log) == 5 and log.first == 3
    assert [u.text for u in slow.take()] == [f"+CREG: {n}" for n in range(3, 8)]
    assert slow.missed == 3 and fast.missed == 0


def test_a_wait_with_nothing_unread_times_out(log):
    sub = log.subscribe({UrcKind.PDP_DEACT})
    add(log, RDY)
    with pytest.raises(ATTimeout, match="URC matching"):
        sub.wait(0.5, "DEACT")


def test_a_waiting_reader_wakes_when_its_urc_is_logged(log):
    sub = log.subscribe({UrcKind.PDP_DEACT})
    got: list[Urc] = []
    reader = threading.Thread(target=lambda: got.append(sub.wait(PATIENCE)))
    reader.start()
    add(log, RDY, DEACT)
    reader.join(PATIENCE * SCALE)
    assert got == [DEACT]


# -- through the channel -----------------------------------------------------------------------
def test_two_readers_waiting_for_the_same_urc_both_get_it(at_channel, pty_responder):
    """The issue's case: a Process and a test both wait for +PDP DEACT; neither swallows it."""
    process = at_channel.subscribe({UrcKind.PDP_DEACT})
    got: dict[str, Urc] = {}
    readers = [
        threading.Thread(target=lambda: got.update(process=process.wait(PATIENCE))),
        threading.Thread(
            target=lambda: got.update(test=at_channel.wait_urc(UrcKind.PDP_DEACT, PATIENCE))
        ),
    ]
    for r in readers:
        r.start()
    pty_responder.send(frame("+PDP DEACT"))
    for r in readers:
        r.join(PATIENCE * SCALE)
    assert got["process"].text == "+PDP DEACT" and got["test"] is got["process"]
    with pytest.raises(ATTimeout):  # each took it for itself: once
        process.wait(0)
    with pytest.raises(ATTimeout):
        at_channel.wait_urc(UrcKind.PDP_DEACT, 0)


def test_drain_and_urcs_are_the_channel_readers_own(at_channel, pty_responder):
    late = at_channel.subscribe()
    pty_responder.send(frame("Call Ready", "+CPIN: READY"))
    assert at_channel.wait_urc(UrcKind.CPIN, PATIENCE).text == "+CPIN: READY"
    assert at_channel.drain() == 1  # Call Ready, unread by the channel's own reader
    assert at_channel.urcs() == []
    assert [u.text for u in late.take()] == ["Call Ready", "+CPIN: READY"]
    held = at_channel.held()
    assert held["urcs logged"] == 2 and held["urcs unread"] == 0
