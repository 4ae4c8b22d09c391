"""Chapter 8 of the GSM TCPIP Recommended Process: transparent (data) mode.

With AT+QIMODE=1 the open answers CONNECT and the UART carries raw bytes both ways; `+++`
between guard times returns to command mode with OK; `CLOSED` or `+PDP DEACT` in the stream
may be peer data, and only the answer to `+++` tells a live session from a dropped one.
"""

from __future__ import annotations

import pytest

from harness import limits
from harness.at import ATChannel, EscapeResult
from harness.modem import IpState, Modem, OpenResult, ResultCode
from harness.peer import ConnStats, PeerError, PeerUnreachable
from harness.peer import sha256_hex as sha
from harness.station import Station

#: Module seconds we give peer bytes to reach the UART (the document sets no limit).
ARRIVAL = 20.0
#: Host bytes with no '+' in them, so no escape can hide inside (every other value is there).
NO_PLUS = bytes(b for b in range(256) if b != ord("+"))


def activate(modem: Modem, station: Station) -> None:
    """PDP-ACT: QIFGCNT, QICSGP, QIREGAPP, QIACT, QILOCIP (after AT+QIMODE=1 at IP INITIAL)."""
    modem.configure(*station.rig.network.credentials())
    modem.activate()


@pytest.fixture
def transparent(modem: Modem, network, module: Station) -> Modem:
    """AT+QIMODE=1 and AT+QITCFG=3,2,512,1 at IP INITIAL (OPT-MODE, OPT-TCFG), then the
    context active: the next AT+QIOPEN enters data mode."""
    modem.ate(True)  # chapter 8.2 tells the two `+++` outcomes apart by the echo
    modem.qimode(1)
    modem.qitcfg(*limits.TCFG)
    activate(modem, module)
    return modem


def open_transparent(modem: Modem, peer) -> tuple[OpenResult, int]:
    """AT+QIOPEN="TCP" in transparent mode: OK, then CONNECT; the peer's connection id."""
    at = modem.channel
    at.possible_closed()  # an earlier test's leftovers
    while at.read_data(0):
        pass
    mark = peer.mark()
    opened = modem.qiopen("TCP", peer.host, peer.port)
    assert opened.first_ok and opened.outcome is ResultCode.CONNECT, (
        f"TRANS-OPEN: with AT+QIMODE=1 AT+QIOPEN answered "
        f"{[s.text for s in opened.reply.stages]}; the document says OK, then CONNECT "
        "(not CONNECT OK)"
    )
    assert at.in_data_mode, "TRANS-OPEN: CONNECT did not put the UART in data mode"
    return opened, peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark).id


def read_exactly(at: ATChannel, n: int, timeout: float = ARRIVAL) -> bytes:
    """Peer bytes from data mode until `n` came, or what came by `timeout` of silence."""
    got = b""
    while len(got) < n:
        more = at.read_data(timeout, n - len(got))
        if not more:
            break
        got += more
    return got


def read_until(at: ATChannel, text: bytes, timeout: float = ARRIVAL) -> bytes:
    """Peer bytes from data mode until `text` is among them (or `timeout` of silence)."""
    got = b""
    while text not in got:
        more = at.read_data(timeout)
        if not more:
            break
        got += more
    return got


def peer_view(peer, conn: int, n: int, timeout: float = ARRIVAL) -> ConnStats:
    """The peer's record of `conn` once `n` bytes arrived, or as it stands if they never did."""
    try:
        return peer.wait_bytes(conn, n, timeout)
    except PeerUnreachable:
        raise
    except PeerError:
        return peer.stats(conn)


def escape(at: ATChannel, opened: OpenResult) -> EscapeResult:
    """`+++` with the guard silence counted from CONNECT as well as from our last byte: the
    module was not in data mode before CONNECT, so earlier silence may not count (§12)."""
    connected = opened.reply.final_ns
    assert connected is not None
    at.clock.sleep(max(0.0, limits.ESCAPE_GUARD - at.clock.since(connected)))
    return at.escape()


def escape_ok(at: ATChannel, opened: OpenResult, clause: str) -> None:
    result = escape(at, opened)
    assert result.ok and not result.echoed, (
        f"{clause}: +++ after {limits.ESCAPE_GUARD:g} s of silence got "
        f"{'OK' if result.ok else 'no OK'}{' and +++ back' if result.echoed else ''}; the "
        "document says OK alone (back in command mode, the session still up)"
    )
    assert not at.in_data_mode


# -- TRANS-OPEN ---------------------------------------------------------------------------------
@pytest.mark.clause("TRANS-OPEN")
def test_open_answers_connect_and_enters_data_mode(transparent, peer, at):
    """With AT+QIMODE=1, AT+QIOPEN answers OK then CONNECT and the UART is in data mode:
    bytes typed go to the peer, the peer's bytes come back raw."""
    opened, conn = open_transparent(transparent, peer)
    at.write_data(b"ping")
    back = read_exactly(at, 4)
    assert back == b"ping", f"TRANS-OPEN: the echo peer's answer came back as {back!r}"
    assert peer.stats(conn).sha256_in == sha(b"ping"), "TRANS-OPEN: the peer did not get ping"
    escape_ok(at, opened, "TRANS-OPEN")


# -- TRANS-DATA ---------------------------------------------------------------------------------
@pytest.mark.clause("TRANS-DATA")
@pytest.mark.requires("peer.push")
def test_data_mode_carries_every_byte_both_ways(transparent, peer, at):
    """In data mode every input byte goes to the peer without echo, in 512-byte packets and a
    short one after 200 ms; every byte the peer sends comes out on the UART unchanged."""
    peer.set_mode("sink", proto="tcp", count=1)  # nothing comes back unless the module echoes
    opened, conn = open_transparent(transparent, peer)
    data = NO_PLUS * 8  # 2040 bytes: three full 512-byte packets and a short one
    at.write_data(data)
    seen = peer_view(peer, conn, len(data))
    assert (seen.bytes_in, seen.sha256_in) == (len(data), sha(data)), (
        f"TRANS-DATA: the peer received {seen.bytes_in} of {len(data)} bytes, or other bytes"
    )
    stray = at.read_data(limits.TCFG_WAIT.seconds)
    assert stray == b"", (
        f"TRANS-DATA: {len(stray)} bytes came back on the UART from a peer that sends nothing; "
        "the document says input is not echoed in data mode"
    )
    pushed = bytes(range(256)) * 4
    peer.push(conn, pushed)
    got = read_exactly(at, len(pushed))
    assert got == pushed, f"TRANS-DATA: {len(got)} bytes came out, not the {len(pushed)} pushed"
    assert peer.stats(conn).sha256_out == sha(got), "TRANS-DATA: digest differs from the peer's"
    escape_ok(at, opened, "TRANS-DATA")


# -- TRANS-ESC ----------------------------------------------------------------------------------
@pytest.mark.clause("TRANS-ESC")
def test_escape_returns_to_command_mode(transparent, peer, at):
    """`+++` with a second of silence around it answers OK; the session stays up in command
    mode (AT+QISTAT: CONNECT OK), and AT+QICLOSE then closes it (CLOSE OK)."""
    opened, conn = open_transparent(transparent, peer)
    at.write_data(b"before")
    assert read_exactly(at, 6) == b"before", "TRANS-ESC: the echo peer's answer differs"
    escape_ok(at, opened, "TRANS-ESC")
    assert transparent.qistat() is IpState.CONNECT_OK, (
        "TRANS-ESC: after +++ the session should still be up (STATE: CONNECT OK)"
    )
    seen = peer.stats(conn)
    assert (seen.bytes_in, seen.sha256_in, seen.open) == (6, sha(b"before"), True), (
        f"TRANS-ESC: the peer holds {seen.bytes_in} bytes ({seen.ended}); +++ must not be data"
    )
    reply = transparent.qiclose()
    assert reply.code is ResultCode.CLOSE_OK, f"TRANS-ESC: AT+QICLOSE answered {reply.final!r}"
    assert not peer.wait_ended(conn, ARRIVAL).open


# -- TRANS-CLOSED -------------------------------------------------------------------------------
@pytest.mark.clause("TRANS-CLOSED", "TRANS-DATA")
@pytest.mark.requires("peer.push")
def test_closed_text_from_the_peer_is_data(transparent, peer, at):
    """The peer sends the text CLOSED and +PDP DEACT: they may be data, so `+++`; OK means
    the session is still there and the text was the peer's."""
    opened, conn = open_transparent(transparent, peer)
    text = b"\r\nCLOSED\r\n+PDP DEACT\r\n"
    peer.push(conn, text)
    got = read_exactly(at, len(text))
    assert got == text, f"TRANS-DATA: the peer's text came out as {got!r}"
    alerts = [p.text for p in at.possible_closed()]
    assert alerts == ["CLOSED", "+PDP DEACT"], f"TRANS-CLOSED: the channel flagged {alerts}"
    escape_ok(at, opened, "TRANS-CLOSED")
    assert transparent.qistat() is IpState.CONNECT_OK, (
        "TRANS-CLOSED: OK to +++ means the session is up; AT+QISTAT disagrees"
    )
    assert peer.stats(conn).open, "TRANS-CLOSED: the peer's connection ended"


@pytest.mark.clause("TRANS-CLOSED")
@pytest.mark.requires("peer.close")
def test_real_close_leaves_data_mode(transparent, module, peer, at):
    """The peer really closes: CLOSED, and `+++` is only echoed, no OK (the module already
    left data mode); AT+QIDEACT and reconnecting brings data mode back."""
    opened, conn = open_transparent(transparent, peer)
    peer.set_mode("close", conn=conn)
    got = read_until(at, b"CLOSED")
    assert b"CLOSED" in got, f"TRANS-CLOSED: the peer closed but the UART showed {got!r}"
    assert [p.text for p in at.possible_closed()] == ["CLOSED"]
    result = escape(at, opened)
    assert result.echoed and not result.ok, (
        f"TRANS-CLOSED: after a real close +++ got {'OK' if result.ok else 'no OK'} and "
        f"{'an' if result.echoed else 'no'} echo; the document says only the echo and no OK "
        "(the module had already left data mode)"
    )
    reply = transparent.qideact()
    assert reply.code is ResultCode.DEACT_OK, f"TRANS-CLOSED: AT+QIDEACT answered {reply.final!r}"
    activate(transparent, module)
    reopened, _ = open_transparent(transparent, peer)
    at.write_data(b"again")
    assert read_exactly(at, 5) == b"again", "TRANS-CLOSED: the new session carries no data"
    escape_ok(at, reopened, "TRANS-CLOSED")
