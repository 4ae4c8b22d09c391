"""Chapter 4 of the GSM TCPIP Recommended Process: sending data.

AT+QISEND with Ctrl+Z and with a length, the 1460-byte input limit, the special bytes
0x08/0x1A/0x1B, AT+QISACK's three counters and the 3000-byte window. Every byte is checked at
the peer by its SHA-256 digest (docs/peer.md), every answer against the document.
"""

from __future__ import annotations

import pytest

from harness import limits
from harness.at import ATChannel, ATTimeout
from harness.modem import Ack, Modem, OpenResult, ResultCode
from harness.peer import ConnStats, PeerError, PeerUnreachable
from harness.peer import sha256_hex as sha

#: The document's example payload (ch. 5: "1234567890abcdefghijklmnopqrstuvwxyz").
DOC_TEXT = b"1234567890abcdefghijklmnopqrstuvwxyz"
#: Module seconds to wait for whatever the module answers after ESC abandons an input: the
#: answer is [U] (PROTOCOL.md §6), so this wait is ours, not a documented limit.
ESC_ANSWER = 5.0


def pattern(n: int, salt: int = 0) -> bytes:
    """`n` printable bytes without 0x08/0x1A/0x1B, different for each `salt`."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return bytes(alphabet[(i * 7 + salt) % len(alphabet)] for i in range(n))


def open_session(modem: Modem, peer, proto: str = "TCP") -> tuple[OpenResult, int | None]:
    """AT+QIOPEN to the peer: the result and the peer's connection id (None for UDP: the peer
    sees a UDP flow only when a datagram arrives)."""
    modem.channel.drain()
    port = peer.port if proto == "TCP" else peer.udp_port
    mark = peer.mark()
    opened = modem.qiopen(proto, peer.host, port)
    assert opened.outcome is ResultCode.CONNECT_OK, (
        f'OPEN-{proto}: AT+QIOPEN="{proto}" to the peer answered {opened.outcome!r}; the document '
        "says OK, then CONNECT OK"
    )
    if proto == "UDP":
        return opened, None
    conn = peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark)
    return opened, conn.id


def peer_view(peer, conn: int, n: int, timeout: float = limits.ACK.seconds) -> ConnStats:
    """The peer's record of `conn` once `n` bytes arrived, or as it stands if they never did:
    a shortfall is the module's failure, which the caller's assert names."""
    try:
        return peer.wait_bytes(conn, n, timeout)
    except PeerUnreachable:
        raise
    except PeerError:  # timed out, or ended first
        return peer.stats(conn)


def echoed(at: ATChannel, n: int, timeout: float = limits.ACK.seconds) -> bytes:
    """`n` bytes of `IPD<len>:` blocks (AT+QIHEAD=1) from the echo peer, or what came by
    `timeout` module seconds of silence (the caller's assert says what is missing)."""
    got = b""
    while len(got) < n:
        try:
            got += at.wait_received(timeout).payload
        except ATTimeout:
            break
    return got


def assert_send_ok(result, clause: str, what: str) -> None:
    assert result.reply.stages and result.reply.stages[0].text == ">", (
        f"{clause}: {what}: no '> ' prompt before the data; stages {result.reply.stages}"
    )
    assert result.outcome is ResultCode.SEND_OK, (
        f"{clause}: {what} answered {result.outcome!r}; the document says SEND OK"
    )


# -- SEND-VAR -----------------------------------------------------------------------------------
@pytest.mark.clause("SEND-VAR", "SEND-ACK")
def test_send_variable_length_ends_at_ctrl_z(modem, pdp, peer, at):
    """AT+QISEND, prompt `> `, TEST<Ctrl+Z> → SEND OK; +QISACK: 4, 4, 0; the peer gets TEST."""
    modem.qihead(1)  # the echo comes back framed as IPD<len>: (OPT-HEAD)
    _, conn = open_session(modem, peer)
    result = modem.qisend(b"TEST")
    assert_send_ok(result, "SEND-VAR", "AT+QISEND, TEST<Ctrl+Z>")
    ack, _ = modem.wait_acked(since_ns=result.reply.final_ns)
    assert ack == Ack(4, 4, 0), (
        f"SEND-ACK: after TEST<Ctrl+Z> AT+QISACK answered {ack}; the document shows "
        "+QISACK: 4, 4, 0 (Ctrl+Z ends the input, it is not data)"
    )
    seen = peer_view(peer, conn, 4)
    assert (seen.bytes_in, seen.sha256_in) == (4, sha(b"TEST")), (
        f"SEND-VAR: the peer received {seen.bytes_in} bytes (digest {seen.sha256_in[:12]}…), "
        "not exactly TEST"
    )
    assert echoed(at, 4) == b"TEST", "SEND-VAR: the echo peer's answer is not TEST"


@pytest.mark.clause("SEND-VAR", "SEND-ACK")
def test_send_udp_datagram_and_nacked_stays_zero(modem, pdp, peer, at):
    """UDP: AT+QISEND → SEND OK, the datagram arrives whole; AT+QISACK's nAcked is always 0."""
    modem.qihead(1)
    modem.qishowpt(1)
    mark = peer.mark()
    open_session(modem, peer, "UDP")
    result = modem.qisend(DOC_TEXT)
    assert_send_ok(result, "SEND-VAR", "AT+QISEND over UDP")
    ack = modem.qisack()
    assert ack.nacked == 0, (
        f"SEND-ACK: over UDP AT+QISACK answered {ack}; the document says the last parameter "
        "is always 0 (UDP is connectionless)"
    )
    assert ack.sent == len(DOC_TEXT), f"SEND-ACK: {ack.sent} bytes counted as sent, not 36"
    flow = peer.wait_connection(limits.ACK.seconds, proto="udp", after=mark)
    seen = peer_view(peer, flow.id, len(DOC_TEXT))
    assert (seen.bytes_in, seen.sha256_in) == (len(DOC_TEXT), sha(DOC_TEXT)), (
        f"SEND-VAR: the peer received {seen.bytes_in} UDP bytes, not the 36 sent"
    )
    back = at.wait_received(limits.ACK.seconds)
    assert (back.payload, back.proto) == (DOC_TEXT, "UDP"), (
        f"SEND-VAR: the echoed datagram came back as {back.proto} {back.payload!r}"
    )


# -- SEND-MAX -----------------------------------------------------------------------------------
@pytest.mark.clause("SEND-MAX")
def test_send_1460_bytes_in_one_input(modem, pdp, peer):
    """At most 1460 bytes in one input: 1460 with a length, and 1460 + Ctrl+Z, both SEND OK."""
    peer.set_mode("sink", proto="tcp", count=1)
    _, conn = open_session(modem, peer)
    fixed, variable = pattern(limits.SEND_MAX, 1), pattern(limits.SEND_MAX, 2)
    result = modem.qisend(fixed, fixed=True)
    assert_send_ok(result, "SEND-MAX", f"AT+QISEND={limits.SEND_MAX}")
    result = modem.qisend(variable)
    assert_send_ok(result, "SEND-MAX", f"AT+QISEND with {limits.SEND_MAX} bytes and Ctrl+Z")
    total = fixed + variable
    seen = peer_view(peer, conn, len(total))
    assert (seen.bytes_in, seen.sha256_in) == (len(total), sha(total)), (
        f"SEND-MAX: the peer received {seen.bytes_in} of {len(total)} bytes, or other bytes"
    )


@pytest.mark.clause("SEND-MAX")
def test_send_1461_bytes_refused(modem, pdp, peer, at):
    """AT+QISEND=1461 is more than one input may carry: ERROR, no prompt, nothing sent."""
    peer.set_mode("sink", proto="tcp", count=1)
    _, conn = open_session(modem, peer)
    reply = at.send_data(pattern(limits.SEND_MAX + 1), fixed=True, raw_input=True)
    assert reply.code is ResultCode.ERROR, (
        f"SEND-MAX: AT+QISEND={limits.SEND_MAX + 1} answered {reply.final!r}; the document "
        f"allows at most {limits.SEND_MAX} bytes in one input"
    )
    assert not any(s.text == ">" for s in reply.stages), "SEND-MAX: a prompt for 1461 bytes"
    assert modem.qisack().sent == 0, "SEND-MAX: the refused input was counted as sent"
    result = modem.qisend(DOC_TEXT)  # the session is still usable
    assert_send_ok(result, "SEND-MAX", "AT+QISEND after the refused input")
    seen = peer_view(peer, conn, len(DOC_TEXT))
    assert (seen.bytes_in, seen.sha256_in) == (len(DOC_TEXT), sha(DOC_TEXT)), (
        f"SEND-MAX: the peer received {seen.bytes_in} bytes; only the 36 after the refusal "
        "were sent"
    )


# -- SEND-SPECIAL -------------------------------------------------------------------------------
@pytest.mark.clause("SEND-SPECIAL")
def test_backspace_deletes_the_previous_byte(modem, pdp, peer, at):
    """Without a length, 0x08 deletes the last input byte: abX<08>c<Ctrl+Z> sends abc."""
    peer.set_mode("sink", proto="tcp", count=1)
    _, conn = open_session(modem, peer)
    typed = b"abX" + bytes([limits.BACKSPACE]) + b"c" + bytes([limits.CTRL_Z])
    reply = at.send_data(typed, fixed=False, raw_input=True)
    assert reply.code is ResultCode.SEND_OK, f"SEND-SPECIAL: abX<08>c<1A> answered {reply.final!r}"
    assert modem.qisack().sent == 3, "SEND-SPECIAL: after abX<08>c the module counts not 3 bytes"
    seen = peer_view(peer, conn, 3)
    assert (seen.bytes_in, seen.sha256_in) == (3, sha(b"abc")), (
        f"SEND-SPECIAL: the peer received {seen.bytes_in} bytes, not abc; the document says "
        "0x08 deletes the previous input byte"
    )


@pytest.mark.clause("SEND-SPECIAL")
def test_escape_abandons_the_send(modem, pdp, peer, at):
    """Without a length, 0x1B escapes from the sending operation: nothing is sent."""
    peer.set_mode("sink", proto="tcp", count=1)
    _, conn = open_session(modem, peer)
    typed = b"abc" + bytes([limits.ESC])
    try:
        code = at.send_data(typed, fixed=False, timeout=ESC_ANSWER, raw_input=True).code
    except ATTimeout:  # no answer at all after ESC is one of the [U] readings
        code = None
    assert code is not ResultCode.SEND_OK, (
        "SEND-SPECIAL: abc<1B> answered SEND OK; the document says 0x1B escapes from the send"
    )
    assert modem.at().ok  # back in command mode, whatever the [U] answer to ESC was
    assert modem.qisack().sent == 0, "SEND-SPECIAL: the abandoned input was counted as sent"
    result = modem.qisend(b"after")
    assert_send_ok(result, "SEND-SPECIAL", "AT+QISEND after the abandoned input")
    seen = peer_view(peer, conn, len(b"after"))
    assert (seen.bytes_in, seen.sha256_in) == (5, sha(b"after")), (
        f"SEND-SPECIAL: the peer received {seen.bytes_in} bytes; abc was abandoned, so only "
        "'after' may arrive"
    )


# -- SEND-FIXED ---------------------------------------------------------------------------------
@pytest.mark.clause("SEND-FIXED", "SEND-ACK")
def test_fixed_length_carries_special_bytes(modem, pdp, peer):
    """AT+QISEND=3 with 0x08 0x1A 0x1B → SEND OK, then every byte value: all arrive as sent."""
    peer.set_mode("sink", proto="tcp", count=1)
    _, conn = open_session(modem, peer)
    special = bytes([limits.BACKSPACE, limits.CTRL_Z, limits.ESC])
    result = modem.qisend(special, fixed=True)
    assert_send_ok(result, "SEND-FIXED", "AT+QISEND=3, 08 1A 1B")
    every = bytes(range(256))
    result = modem.qisend(every, fixed=True)
    assert_send_ok(result, "SEND-FIXED", "AT+QISEND=256 with every byte value")
    total = special + every
    ack, _ = modem.wait_acked(since_ns=result.reply.final_ns)
    assert ack == Ack(len(total), len(total), 0), (
        f"SEND-ACK: after 3 + 256 fixed-length bytes AT+QISACK answered {ack}"
    )
    seen = peer_view(peer, conn, len(total))
    assert (seen.bytes_in, seen.sha256_in) == (len(total), sha(total)), (
        f"SEND-FIXED: the peer received {seen.bytes_in} of {len(total)} bytes, or other bytes; "
        "with a length every value (0x08, 0x1A, 0x1B included) is data"
    )


# -- SEND-ACK -----------------------------------------------------------------------------------
@pytest.mark.clause("SEND-ACK")
def test_all_data_acknowledged_within_limit(modem, pdp, peer, at):
    """After SEND OK to the echo peer, AT+QISACK's nAcked reaches 0 within 90 s."""
    modem.qihead(1)
    _, conn = open_session(modem, peer)
    data = pattern(limits.SEND_MAX, 3) + DOC_TEXT
    for part in (data[: limits.SEND_MAX], data[limits.SEND_MAX :]):
        result = modem.qisend(part, fixed=True)
        assert_send_ok(result, "SEND-ACK", f"AT+QISEND={len(part)}")
    ack, seconds = modem.wait_acked(since_ns=result.reply.final_ns)
    assert ack.nacked == 0, (
        f"SEND-ACK: {ack.nacked} bytes still unacknowledged {seconds:.1f} s after SEND OK "
        f"({ack}); the document expects nAcked 0 within {limits.ACK.seconds:g} s"
    )
    assert (ack.sent, ack.acked) == (len(data), len(data)), (
        f"SEND-ACK: {ack} does not count the {len(data)} bytes handed over"
    )
    seen = peer_view(peer, conn, len(data))
    assert seen.sha256_in == sha(data), "SEND-ACK: acknowledged data differs at the peer"
    assert echoed(at, len(data)) == data, "SEND-ACK: the echo peer's answer differs"


# -- SEND-WINDOW --------------------------------------------------------------------------------
class WindowedSend:
    """SEND-WINDOW as the document writes it: send while nAcked < 3000; above it poll every
    5 s; after 20 polls close, reopen and resend everything unacknowledged first."""

    def __init__(self, modem: Modem, peer, data: bytes) -> None:
        self.modem, self.peer, self.data = modem, peer, data
        self.offset = 0  # bytes of `data` handed over
        self.peak = 0  # highest nAcked seen
        self.polls = 0  # polls above the threshold before giving up
        self.resent_from: int | None = None
        self.conns: list[int] = []
        self.acked_before_break = 0
        self.held: ConnStats | None = None  # the peer's view of the link given up

    def run(self) -> None:
        while self.offset < len(self.data):
            ack = self._sack()
            if ack.nacked >= limits.SEND_WINDOW_BYTES and not self._wait_below():
                self._reopen()
                continue
            chunk = self.data[self.offset : self.offset + limits.SEND_MAX]
            result = self.modem.qisend(chunk, fixed=True)
            assert result.ok, (
                f"SEND-WINDOW: AT+QISEND={len(chunk)} answered {result.outcome!r} with "
                f"{ack.nacked} bytes unacknowledged; below {limits.SEND_WINDOW_BYTES} the "
                f"{limits.SOCKET_SEND_BUFFER}-byte send buffer must take it"
            )
            self.offset += len(chunk)

    def _sack(self) -> Ack:
        ack = self.modem.qisack()
        self.peak = max(self.peak, ack.nacked)
        return ack

    def _wait_below(self) -> bool:
        for self.polls in range(1, limits.SEND_WINDOW_POLLS + 1):
            self.modem.clock.sleep(limits.QISACK_POLL.seconds)
            ack = self._sack()
            if ack.nacked < limits.SEND_WINDOW_BYTES:
                return True
        self.acked_before_break = ack.acked
        self.resent_from = self.offset - ack.nacked
        self.held = self.peer.stats(self.conns[-1])
        return False

    def _reopen(self) -> None:
        reply = self.modem.qiclose()
        assert reply.code is ResultCode.CLOSE_OK, (
            f"SEND-WINDOW: AT+QICLOSE answered {reply.final!r}"
        )
        self.peer.set_mode("sink", proto="tcp", count=1)
        _, conn = open_session(self.modem, self.peer)
        self.conns.append(conn)
        assert self.resent_from is not None
        self.offset = self.resent_from


@pytest.mark.clause("SEND-WINDOW")
@pytest.mark.requires("peer.hold")
def test_window_threshold_close_reopen_resend(modem, pdp, peer, timings):
    """Peer stops reading: nAcked climbs past 3000, 20 polls 5 s apart, close, reopen, resend
    the unacknowledged data first; the peer's digests prove nothing was lost."""
    peer.set_mode("hold", proto="tcp", count=1)  # armed before the connect (docs/peer.md)
    _, held = open_session(modem, peer)
    data = pattern(8 * limits.SEND_MAX, 4)
    sender = WindowedSend(modem, peer, data)
    sender.conns.append(held)
    with timings.provoked("peer in hold: it never acknowledges past its receive buffer"):
        sender.run()
    assert sender.peak >= limits.SEND_WINDOW_BYTES, (
        f"SEND-WINDOW: with the peer holding, nAcked peaked at {sender.peak}; it should climb "
        f"past {limits.SEND_WINDOW_BYTES}"
    )
    assert sender.resent_from is not None and sender.polls == limits.SEND_WINDOW_POLLS, (
        "SEND-WINDOW: the held connection was not given up after 20 polls"
    )
    ack, _ = modem.wait_acked()
    assert ack.nacked == 0, f"SEND-WINDOW: after the resend {ack}; all should be acknowledged"
    resent = data[sender.resent_from :]
    fresh = peer_view(peer, sender.conns[-1], len(resent))
    assert (fresh.bytes_in, fresh.sha256_in) == (len(resent), sha(resent)), (
        f"SEND-WINDOW: the new connection received {fresh.bytes_in} bytes; it should get the "
        f"{len(resent)} unacknowledged and unsent bytes, in order"
    )
    # What the module counted as acknowledged was really at the peer (read or queued there).
    held_side = sender.held
    assert held_side is not None
    there = held_side.bytes_in + (held_side.unread or 0)
    assert there >= sender.acked_before_break, (
        f"SEND-WINDOW: the module reported {sender.acked_before_break} bytes acknowledged on "
        f"the held connection, but the peer had only {there}"
    )
    try:
        peer.release(held)  # read what it holds, to check it is the start of the data
    except PeerError:
        return  # the module reset the link on AT+QICLOSE: the held bytes are gone, not lost
    old = peer_view(peer, held, sender.acked_before_break)
    assert old.sha256_in == sha(data[: old.bytes_in]), (
        "SEND-WINDOW: the held connection's bytes are not the start of the data"
    )
