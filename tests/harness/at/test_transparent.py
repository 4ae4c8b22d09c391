"""The channel in transparent mode (TRANS-*): CONNECT, peer bytes both ways, CLOSED that may
be data, and the escape."""

import pytest
from _at_cases import frame
from _at_seeds import ABC, OPEN_TCP

from harness.at import SendRefused


def enter_data_mode(channel, responder):
    responder.on(b"AT+QIMODE=1\r", frame("OK"))
    channel.command("AT+QIMODE=1")
    responder.on(OPEN_TCP.encode() + b"\r", frame("OK"), frame("CONNECT"))
    reply = channel.command(OPEN_TCP)
    assert reply.final == "CONNECT" and channel.in_data_mode and channel.mode == 1


def test_data_mode_and_escape(at_channel, pty_responder):
    enter_data_mode(at_channel, pty_responder)
    with pytest.raises(SendRefused, match="data mode"):
        at_channel.command("AT")
    at_channel.write_data(ABC)
    assert pty_responder.wait_for(ABC)
    peer = b"abcdefghijklmnopqrstuvwxyz\r\nCLOSED\r\n1234567890"
    pty_responder.send(peer)
    got = b""
    while len(got) < len(peer):
        chunk = at_channel.read_data(100)
        assert chunk
        got += chunk
    assert got == peer
    assert [p.text for p in at_channel.possible_closed()] == ["CLOSED"]
    assert at_channel.read_data(1) == b""
    pty_responder.on(b"+++", frame("OK"))
    guard = 0.5
    result = at_channel.escape(guard=guard)
    assert result.ok and not result.echoed and not at_channel.in_data_mode
    tx = [e for e in at_channel.transcript.entries() if e.dir == "tx"]
    assert tx[-1].data == b"+++" and tx[-2].data == ABC
    assert at_channel.clock.module_between(tx[-2].t_ns, tx[-1].t_ns) >= guard
    pty_responder.on(b"AT+QICLOSE\r", frame("CLOSE OK"))
    assert at_channel.command("AT+QICLOSE").final == "CLOSE OK"


def test_escape_echoed_means_the_module_had_left_data_mode(at_channel, pty_responder):
    enter_data_mode(at_channel, pty_responder)
    pty_responder.send(frame("CLOSED"))
    pty_responder.on(b"+++", b"+++")
    result = at_channel.escape(guard=0.1)
    assert not result.ok and result.echoed and not at_channel.in_data_mode
    assert [p.text for p in at_channel.possible_closed()] == ["CLOSED"]
    pty_responder.on(b"AT+QIDEACT\r", frame("DEACT OK"))
    assert at_channel.command("AT+QIDEACT").final == "DEACT OK"


def test_silent_escape_leaves_data_mode_to_the_caller(at_channel, pty_responder):
    enter_data_mode(at_channel, pty_responder)
    pty_responder.on(b"+++", b"more peer data")
    result = at_channel.escape(guard=0.1)
    assert (result.ok, result.echoed) == (False, False) and at_channel.in_data_mode
    assert at_channel.read_data(100) == b"more peer data"
    at_channel.leave_data_mode()
    pty_responder.on(b"AT\r", frame("OK"))
    assert at_channel.command("AT").ok


def test_data_calls_outside_data_mode_are_refused(at_channel):
    with pytest.raises(SendRefused, match="data mode"):
        at_channel.write_data(b"x")
    with pytest.raises(SendRefused, match="outside data mode"):
        at_channel.escape()


def test_reset_state_forgets_data_mode(at_channel, pty_responder):
    enter_data_mode(at_channel, pty_responder)
    at_channel.reset_state()
    assert not at_channel.in_data_mode and at_channel.mode == 0
