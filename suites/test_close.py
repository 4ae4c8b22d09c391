"""Chapter 7 of the GSM TCPIP Recommended Process: closing the session and the context, and
the rule that runs through every chapter: one command's final answer before the next command.

`AT+QICLOSE` → `CLOSE OK` once all data is sent (90 s, else reboot); `AT+QIDEACT` → `DEACT OK`
when the context will be idle for long; every answer belongs to the command that asked for it.
"""

from __future__ import annotations

import hashlib

import pytest

from harness import limits
from harness.modem import IpState, Modem, ResultCode

#: Payload for the close test: three full inputs (SEND-MAX), so the last may still be in flight
#: when AT+QICLOSE is sent. Deterministic bytes, every value 0..255 included.
PAYLOAD = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(256))[: 3 * limits.SEND_MAX]


def expect_state(modem: Modem, wanted: IpState, clause: str, why: str) -> None:
    state = modem.qistat()
    assert state is wanted, f"{clause}: AT+QISTAT says {state}; {why}, so it must be {wanted}"


def send_all(modem: Modem, data: bytes, clause: str) -> None:
    """Hand `data` over in inputs of at most SEND-MAX bytes, each answered SEND OK."""
    for start in range(0, len(data), limits.SEND_MAX):
        chunk = data[start : start + limits.SEND_MAX]
        result = modem.qisend(chunk, fixed=True)
        assert result.ok, f"{clause}: AT+QISEND={len(chunk)} answered {result.outcome!r}"


# -- CLOSE ------------------------------------------------------------------------------------
@pytest.mark.clause("CLOSE")
@pytest.mark.parametrize("proto", ["TCP", "UDP"])
def test_qiclose_after_the_data_is_sent_is_close_ok(modem, pdp, peer, proto):
    """AT+QICLOSE after all data has been sent → CLOSE OK within 90 s; AT+QISTAT says IP CLOSE,
    and the peer has every byte handed over, unchanged (its digest); a TCP peer sees the end."""
    peer.set_mode("sink", proto=proto.lower())  # nothing comes back to the UART
    port = peer.port if proto == "TCP" else peer.udp_port
    mark = peer.mark()
    opened = modem.qiopen(proto, peer.host, port)
    assert opened.connected, f"the {proto} session did not open: {opened.outcome}"
    send_all(modem, PAYLOAD, "CLOSE")
    closed = modem.qiclose()
    assert closed.code is ResultCode.CLOSE_OK, (
        f"CLOSE: AT+QICLOSE answered {[s.text for s in closed.stages]}; the document expects "
        f"{ResultCode.CLOSE_OK}"
    )
    expect_state(modem, IpState.IP_CLOSE, "CLOSE", "the session was closed")
    conn = peer.wait_connection(limits.QIOPEN.seconds, proto=proto.lower(), after=mark)
    got = peer.wait_bytes(conn, len(PAYLOAD), limits.ACK.seconds)
    assert (got.bytes_in, got.sha256_in) == (len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest()), (
        f"CLOSE: the peer received {got.bytes_in} of {len(PAYLOAD)} bytes (or changed ones): "
        "CLOSE OK comes once all data is sent, and nothing may be lost"
    )
    if proto == "TCP":
        ended = peer.wait_ended(conn, limits.QICLOSE.seconds)
        assert ended.ended == "peer closed", f"CLOSE: the peer's connection {ended.ended}"


# -- CLOSE-DEACT ------------------------------------------------------------------------------
@pytest.mark.clause("CLOSE-DEACT")
def test_qideact_after_qiclose_is_deact_ok_and_ip_initial(modem, tcp_session, timings):
    """AT+QICLOSE, then AT+QIDEACT for a context idle for long → DEACT OK (typ 2–5 s, 90 s at
    most), AT+QISTAT says IP INITIAL, and AT+QIREGAPP (IP INITIAL only) starts over."""
    closed = modem.qiclose()
    assert closed.code is ResultCode.CLOSE_OK, "CLOSE-DEACT: AT+QICLOSE must close first"
    deact = modem.qideact()
    assert deact.code is ResultCode.DEACT_OK, (
        f"CLOSE-DEACT: AT+QIDEACT answered {deact.final!r}; the document expects DEACT OK"
    )
    timings.record(deact.timing("CLOSE-DEACT"))
    expect_state(modem, IpState.IP_INITIAL, "CLOSE-DEACT", "the context was deactivated")
    again = modem.qiregapp()
    assert again.ok, f"CLOSE-DEACT: AT+QIREGAPP after DEACT OK answered {again.final!r}"


@pytest.mark.clause("CLOSE-DEACT")
def test_qideact_with_the_session_open_ends_it(modem, tcp_session, peer, timings):
    """AT+QIDEACT while the TCP session is still open → DEACT OK, IP INITIAL, and the session
    is gone with the context: the peer sees its connection end."""
    deact = modem.qideact()
    assert deact.code is ResultCode.DEACT_OK, (
        f"CLOSE-DEACT: AT+QIDEACT answered {deact.final!r}; the document expects DEACT OK"
    )
    timings.record(deact.timing("CLOSE-DEACT"))
    expect_state(modem, IpState.IP_INITIAL, "CLOSE-DEACT", "the context was deactivated")
    ended = peer.wait_ended(tcp_session.conn, limits.QIDEACT.seconds)
    assert ended.ended != "still open", "CLOSE-DEACT: the session outlived its context"


# -- ORDER ------------------------------------------------------------------------------------
#: (command, the information lines' prefixes in order, the final answer, or None for OK).
#: Commands with odd terminators are mixed in (PROTOCOL.md §13: QISTAT prints OK before its
#: state; QIDEACT ends with DEACT OK; a refusal ends with ERROR), so a line that strays past
#: its final would land on the next command.
SEQUENCE: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("AT+CSQ", ("+CSQ:",), None),
    ("AT+QISTAT", (), f"STATE: {IpState.IP_INITIAL}"),
    ("AT+QIMUX?", ("+QIMUX:",), None),
    ("AT+QIOPEN", (), ResultCode.ERROR),
    ("AT+CGATT?", ("+CGATT:",), None),
    ("AT+QIDEACT", (), ResultCode.DEACT_OK),
    ("AT+QIFGCNT?", ("+QIFGCNT:",), None),
    ("AT+CSQ", ("+CSQ:",), None),
    ("AT", (), None),
)
ANSWER_PREFIXES = tuple({p for _, lines, _ in SEQUENCE for p in lines} | {"STATE:"})


@pytest.mark.clause("ORDER")
def test_each_answer_ends_with_its_final_before_the_next_command(at):
    """Wait for each command's final answer (or ERROR) before sending the next: every
    command's information lines come before its own final, none spill over to the next
    command, and nothing of an answer arrives after the last final."""
    at.urcs()  # what came before this test is not its business
    for command, prefixes, final in SEQUENCE:
        reply = at.command(command)
        want = final or ResultCode.OK
        assert reply.final == want, (
            f"ORDER: {command} ended with {reply.final!r} (lines {reply.lines}); expected {want}"
        )
        got = tuple(reply.lines)
        matches = len(got) == len(prefixes) and all(
            line.startswith(p) for line, p in zip(got, prefixes, strict=True)
        )
        assert matches, (
            f"ORDER: {command} got the lines {list(got)} before its final {reply.final!r}; the "
            f"document expects exactly {list(prefixes) or 'none'}: each command's answer "
            "complete before its final and nothing of another command's"
        )
    stray = [u.text for u in at.urcs() if u.text.startswith(ANSWER_PREFIXES)]
    assert not stray, f"ORDER: answer lines arrived after their command's final: {stray}"
