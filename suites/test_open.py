"""Chapter 3 of the GSM TCPIP Recommended Process: establishing a TCP or UDP session.

`AT+QIOPEN` answers `OK` (format and state accepted) and later `CONNECT OK`; every other answer
the document names (ERROR, ALREADY CONNECT, CONNECT FAIL, no answer) is caused here for real and
followed by the document's treatment, which must bring the module back to a working session.
"""

from __future__ import annotations

import hashlib

import pytest

from harness import limits
from harness.at import ATError, Reply
from harness.limits import Limit, LimitExceeded
from harness.modem import IpState, Modem, OpenResult, ResultCode, result_code

#: A few bytes that show a UDP destination was really set (OPEN-UDP).
UDP_PROBE = b"modemcert OPEN-UDP probe"
#: How long the host lets a connect to a hanging stack run before it gives up on purpose to
#: look at the state (OPEN-ERR-STATE); well under the QIOPEN limit, so it is no verdict.
GIVE_UP_EARLY = limits.QIOPEN.seconds / 9
#: OPEN-SLOW: the final answer may take 2.5–3.5 min "in theory"; a final later than that is
#: no answer at all.
WORST_FINAL = Limit(
    "AT+QIOPEN final answer, theoretical worst case",
    limits.QIOPEN_WORST[1],
    "OPEN-SLOW",
    action="treat as CONNECT FAIL, AT+QIDEACT",
)


# -- the document's steps, shared by the tests below ------------------------------------------
def activate(modem: Modem, station) -> str:
    """PDP-ACT as the document issues it: QIFGCNT, QICSGP, QIREGAPP, QIACT, QILOCIP → local IP."""
    modem.configure(*station.rig.network.credentials())
    return modem.activate()


def expect_connected(result: OpenResult, clause: str, what: str) -> None:
    """`OK`, then `CONNECT OK` within the QIOPEN limit; no final in time is a limit exceeded."""
    if result.timed_out:
        raise LimitExceeded(
            f"{clause}: {what}: no CONNECT OK within {limits.QIOPEN.seconds:g} s "
            f"(stages so far: {[s.text for s in result.reply.stages]})"
        )
    assert result.first_ok, (
        f"{clause}: {what} answered {[s.text for s in result.reply.stages]}; the document "
        "expects OK first (format and state accepted)"
    )
    assert result.outcome is ResultCode.CONNECT_OK, (
        f"{clause}: {what} ended in {result.outcome!r}; the document expects CONNECT OK"
    )


def judge(timings, reply: Reply, clause: str) -> None:
    """Record `reply`'s time against its command's limit as evidence for `clause`."""
    timings.record(reply.timing(clause))


def expect_state(modem: Modem, wanted: IpState, clause: str, why: str) -> None:
    state = modem.qistat()
    assert state is wanted, f"{clause}: AT+QISTAT says {state}; {why}, so it must be {wanted}"


def expect_refused(reply, clause: str, why: str) -> None:
    """An `ERROR` (or `+CME ERROR`) and nothing before it: the command was not accepted."""
    stages = [s.text for s in reply.stages]
    assert [result_code(s, link_index=False) for s in stages] == [ResultCode.ERROR], (
        f"{clause}: {reply.command} answered {stages}; {why}, so the document expects ERROR"
    )


def deactivate(modem: Modem, clause: str) -> Reply:
    """AT+QIDEACT → DEACT OK, and the stack is back at IP INITIAL."""
    result = modem.qideact()
    assert result.code is ResultCode.DEACT_OK, (
        f"{clause}: AT+QIDEACT answered {result.final!r}; the document expects DEACT OK"
    )
    expect_state(modem, IpState.IP_INITIAL, clause, "the context was deactivated")
    return result.reply


def treat_connect_fail(modem: Modem, clause: str = "OPEN-FAIL") -> str:
    """OPEN-FAIL's treatment: AT+QISTAT; TCP CONNECTING → AT+QICLOSE (the context stays up),
    anything else → AT+QIDEACT. Returns the command used."""
    state = modem.qistat()
    assert state is not IpState.CONNECT_OK, f"{clause}: AT+QISTAT says CONNECT OK after a failure"
    if state is IpState.TCP_CONNECTING:
        reply = modem.qiclose()
        assert reply.code is ResultCode.CLOSE_OK, (
            f"{clause}: AT+QICLOSE in TCP CONNECTING answered {reply.final!r}; "
            "the document expects CLOSE OK"
        )
        expect_state(
            modem,
            IpState.IP_CLOSE,
            clause,
            "AT+QICLOSE closed only the failed connection and the GPRS context stays active",
        )
        return "AT+QICLOSE"
    deactivate(modem, clause)
    return "AT+QIDEACT"


def open_again(modem: Modem, station, peer, used: str, clause: str) -> None:
    """After the treatment, a new AT+QIOPEN to the peer (in echo) reaches CONNECT OK."""
    peer.reset()
    if used == "AT+QIDEACT":
        activate(modem, station)
    mark = peer.mark()
    result = modem.qiopen("TCP", peer.host, peer.port)
    expect_connected(result, clause, f"AT+QIOPEN after {used}")
    peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark)


# -- OPEN-TCP / OPEN-UDP ----------------------------------------------------------------------
@pytest.mark.clause("OPEN-TCP")
def test_qiopen_tcp_answers_ok_then_connect_ok(modem, pdp, peer, timings):
    """AT+QIOPEN="TCP","<ip>","<port>": OK (format right, state permitted), then CONNECT OK
    within 90 s; the peer sees the connection and AT+QISTAT says CONNECT OK."""
    mark = peer.mark()
    result = modem.qiopen("TCP", peer.host, peer.port)
    expect_connected(result, "OPEN-TCP", "AT+QIOPEN TCP to the peer")
    stages = [s.text for s in result.reply.stages]
    codes = [result_code(s, link_index=False) for s in stages]
    assert codes == [ResultCode.OK, ResultCode.CONNECT_OK], f"OPEN-TCP: stray stages in {stages}"
    conn = peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark)
    assert conn.ended == "still open", f"OPEN-TCP: the peer's connection {conn.ended}"
    expect_state(modem, IpState.CONNECT_OK, "OPEN-TCP", "the TCP session is established")
    assert timings.for_clause("OPEN-TCP"), "OPEN-TCP: the CONNECT OK latency was not recorded"


@pytest.mark.clause("OPEN-UDP")
def test_qiopen_udp_sets_the_destination_without_a_handshake(modem, pdp, peer, timings):
    """AT+QIOPEN="UDP",…: OK, then CONNECT OK; UDP needs no connection, only the target address
    is set: the peer hears nothing until data is sent, then the datagram reaches it intact."""
    peer.set_mode("sink", proto="udp")
    mark = peer.mark()
    result = modem.qiopen("UDP", peer.host, peer.udp_port)
    expect_connected(result, "OPEN-UDP", "AT+QIOPEN UDP to the peer")
    expect_state(modem, IpState.CONNECT_OK, "OPEN-UDP", "the UDP destination is set")
    heard = [c for c in peer.stats() if c.proto == "udp" and c.id > mark]
    assert not heard, f"OPEN-UDP: the peer heard {heard} before any data: UDP has no handshake"
    sent = modem.qisend(UDP_PROBE)
    assert sent.ok, f"OPEN-UDP: AT+QISEND on the UDP session answered {sent.outcome}"
    conn = peer.wait_connection(limits.QIOPEN.seconds, proto="udp", after=mark)
    got = peer.wait_bytes(conn, len(UDP_PROBE), limits.ACK.seconds)
    assert (got.bytes_in, got.sha256_in) == (
        len(UDP_PROBE),
        hashlib.sha256(UDP_PROBE).hexdigest(),
    ), "OPEN-UDP: the datagram did not reach the destination AT+QIOPEN set, intact"
    assert timings.for_clause("OPEN-UDP"), "OPEN-UDP: the CONNECT OK latency was not recorded"


# -- ERROR ------------------------------------------------------------------------------------
@pytest.mark.clause("OPEN-ERR-FORMAT")
def test_malformed_qiopen_is_error(modem, pdp, peer, at, station, timings):
    """ERROR: the command format is wrong. In IP STATUS (a state that permits opening), a
    wrong protocol, a port out of range and a missing port each answer ERROR, nothing is
    dialled, the state stays IP STATUS, and the well-formed command then connects."""
    host = peer.host
    malformed = (
        f'AT+QIOPEN="TCPX","{host}","{peer.port}"',
        f'AT+QIOPEN="TCP","{host}","70000"',
        f'AT+QIOPEN="TCP","{host}"',
    )
    mark = peer.mark()
    for command in malformed:
        reply = at.command(command)
        expect_refused(reply, "OPEN-ERR-FORMAT", "the format is wrong")
        judge(timings, reply, "OPEN-ERR-FORMAT")
    expect_state(modem, IpState.IP_STATUS, "OPEN-ERR-FORMAT", "a refused command changes nothing")
    dialled = [c for c in peer.stats() if c.id > mark]
    assert not dialled, f"OPEN-ERR-FORMAT: a malformed AT+QIOPEN reached the peer: {dialled}"
    open_again(modem, station, peer, "ERROR", "OPEN-ERR-FORMAT")


@pytest.mark.clause("OPEN-ERR-MUX")
def test_qiopen_with_qimux_1_is_error_until_qimux_0(modem, network, peer, at, station, timings):
    """ERROR with AT+QIMUX=1: the single-connection AT+QIOPEN is refused; AT+QIMUX? says 1,
    AT+QIMUX=0 resets it, and the same AT+QIOPEN then connects."""
    try:
        modem.qimux(True)  # PROTOCOL.md §1 [U]: QIMUX is set in IP INITIAL, before the context
    except ATError as e:  # TinyGSM #324: some firmware refuses QIMUX=1 outright
        pytest.skip(f"the module refuses AT+QIMUX=1 in IP INITIAL ({e}): no QIMUX=1 to cause")
    modem.configure(*station.rig.network.credentials())
    command = f'AT+QIOPEN="TCP","{peer.host}","{peer.port}"'
    mark = peer.mark()
    refused = at.command(command)
    expect_refused(refused, "OPEN-ERR-MUX", "AT+QIMUX is 1")
    judge(timings, refused, "OPEN-ERR-MUX")
    assert not [c for c in peer.stats() if c.id > mark], "OPEN-ERR-MUX: the refused open dialled"
    assert modem.qimux() is True, "OPEN-ERR-MUX: AT+QIMUX? must say 1 after AT+QIMUX=1"
    modem.qimux(False)
    assert modem.qimux() is False, "OPEN-ERR-MUX: AT+QIMUX? must say 0 after AT+QIMUX=0"
    activate(modem, station)
    result = modem.qiopen("TCP", peer.host, peer.port)
    expect_connected(result, "OPEN-ERR-MUX", "AT+QIOPEN retried with AT+QIMUX=0")
    peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark)


def _to_ip_start(modem: Modem, station) -> None:
    modem.configure(*station.rig.network.credentials())
    assert modem.qiregapp().ok, "AT+QIREGAPP must answer OK in IP INITIAL (PDP-ACT)"


def _to_ip_gprsact(modem: Modem, station) -> None:
    _to_ip_start(modem, station)
    assert modem.qiact().ok, "AT+QIACT must answer OK (PDP-ACT)"


@pytest.mark.clause("OPEN-ERR-STATE")
@pytest.mark.parametrize(
    ("state", "reach"),
    [(IpState.IP_START, _to_ip_start), (IpState.IP_GPRSACT, _to_ip_gprsact)],
    ids=["IP-START", "IP-GPRSACT"],
)
def test_qiopen_in_a_wrong_state_is_error_then_qideact(
    modem, network, peer, at, station, timings, state, reach
):
    """ERROR when AT+QISTAT is not IP INITIAL, IP STATUS or IP CLOSE: here IP START (after
    AT+QIREGAPP) and IP GPRSACT (after AT+QIACT, before AT+QILOCIP). The state is not TCP
    CONNECTING, so AT+QIDEACT → DEACT OK, IP INITIAL, and the next open connects."""
    reach(modem, station)
    expect_state(modem, state, "OPEN-ERR-STATE", "this is the state the test set up")
    command = f'AT+QIOPEN="TCP","{peer.host}","{peer.port}"'
    refused = at.command(command)
    expect_refused(refused, "OPEN-ERR-STATE", f"the state is {state}")
    judge(timings, refused, "OPEN-ERR-STATE")
    expect_state(modem, state, "OPEN-ERR-STATE", "a refused AT+QIOPEN changes nothing")
    deactivate(modem, "OPEN-ERR-STATE")
    open_again(modem, station, peer, "AT+QIDEACT", "OPEN-ERR-STATE")


@pytest.mark.clause("OPEN-ERR-STATE")
@pytest.mark.requires("sim.faults")
def test_qiopen_after_pdp_deact_is_error_then_qideact(modem, pdp, peer, at, sim, station, timings):
    """ERROR in PDP DEACT (the network dropped the context, +PDP DEACT): not TCP CONNECTING,
    so AT+QIDEACT → DEACT OK, IP INITIAL, and after activating again the open connects."""
    sim.inject("pdp_deact")
    at.wait_urc(r"^\+PDP DEACT$", limits.DEFAULT_COMMAND.seconds)
    expect_state(modem, IpState.PDP_DEACT, "OPEN-ERR-STATE", "+PDP DEACT was reported")
    command = f'AT+QIOPEN="TCP","{peer.host}","{peer.port}"'
    refused = at.command(command)
    expect_refused(refused, "OPEN-ERR-STATE", "the state is PDP DEACT")
    judge(timings, refused, "OPEN-ERR-STATE")
    deactivate(modem, "OPEN-ERR-STATE")
    open_again(modem, station, peer, "AT+QIDEACT", "OPEN-ERR-STATE")


@pytest.mark.clause("OPEN-ERR-STATE")
@pytest.mark.requires("sim.faults")
def test_qiopen_while_tcp_connecting_is_error_then_qiclose(
    modem, pdp, peer, at, sim, station, timings
):
    """ERROR in TCP CONNECTING: a connect hangs, the host stops waiting early and looks:
    AT+QISTAT says TCP CONNECTING, a new AT+QIOPEN answers ERROR, so AT+QICLOSE closes the
    failed connection (CLOSE OK, IP CLOSE, the context stays up) and the open connects."""
    sim.inject("qiopen_hang")
    hung = modem.qiopen("TCP", peer.host, peer.port, timeout=GIVE_UP_EARLY)
    assert hung.first_ok and hung.timed_out, f"the hanging connect answered {hung.reply.stages}"
    expect_state(modem, IpState.TCP_CONNECTING, "OPEN-ERR-STATE", "the connect still hangs")
    command = f'AT+QIOPEN="TCP","{peer.host}","{peer.port}"'
    refused = at.command(command)
    expect_refused(refused, "OPEN-ERR-STATE", "the state is TCP CONNECTING")
    judge(timings, refused, "OPEN-ERR-STATE")
    used = treat_connect_fail(modem, "OPEN-ERR-STATE")
    assert used == "AT+QICLOSE"
    open_again(modem, station, peer, used, "OPEN-ERR-STATE")


# -- ALREADY CONNECT --------------------------------------------------------------------------
@pytest.mark.clause("OPEN-ALREADY")
@pytest.mark.parametrize("first", ["TCP", "UDP"])
def test_second_qiopen_is_already_connect_until_qiclose(modem, pdp, peer, station, timings, first):
    """ALREADY CONNECT: a TCP or UDP session exists. A second AT+QIOPEN answers ALREADY
    CONNECT (no OK), dials nothing and leaves the session up; AT+QICLOSE, then it connects."""
    port = peer.port if first == "TCP" else peer.udp_port
    expect_connected(modem.qiopen(first, peer.host, port), "OPEN-ALREADY", f"the {first} open")
    mark = peer.mark()
    again = modem.qiopen("TCP", peer.host, peer.port)
    stages = [s.text for s in again.reply.stages]
    assert again.outcome is ResultCode.ALREADY_CONNECT and not again.first_ok, (
        f"OPEN-ALREADY: a second AT+QIOPEN with a {first} session up answered {stages}; "
        "the document expects ALREADY CONNECT (instead of OK)"
    )
    judge(timings, again.reply, "OPEN-ALREADY")
    expect_state(modem, IpState.CONNECT_OK, "OPEN-ALREADY", "the first session is still up")
    assert not [c for c in peer.stats() if c.id > mark and c.proto == "tcp"], (
        "OPEN-ALREADY: the refused second open dialled the peer"
    )
    closed = modem.qiclose()
    assert closed.code is ResultCode.CLOSE_OK, f"OPEN-ALREADY: AT+QICLOSE answered {closed.final!r}"
    open_again(modem, station, peer, "AT+QICLOSE", "OPEN-ALREADY")


# -- CONNECT FAIL -----------------------------------------------------------------------------
@pytest.mark.clause("OPEN-FAIL")
@pytest.mark.requires("peer.refuse")
def test_refused_port_is_connect_fail_then_the_treatment(modem, pdp, peer, station, timings):
    """CONNECT FAIL from a refused port: OK, then CONNECT FAIL; AT+QISTAT decides: TCP
    CONNECTING → AT+QICLOSE, anything else → AT+QIDEACT; then the open connects."""
    peer.set_mode("refuse")
    result = modem.qiopen("TCP", peer.host, peer.port)
    assert not result.timed_out, "OPEN-FAIL: no answer to an open to a refused port in 90 s"
    assert result.first_ok and result.outcome is ResultCode.CONNECT_FAIL, (
        f"OPEN-FAIL: an open to a refused port answered {[s.text for s in result.reply.stages]}; "
        "the document expects OK, then CONNECT FAIL"
    )
    judge(timings, result.reply, "OPEN-FAIL")
    used = treat_connect_fail(modem)
    open_again(modem, station, peer, used, "OPEN-FAIL")


@pytest.mark.clause("OPEN-FAIL", "OPEN-SLOW")
@pytest.mark.requires("sim.faults")
def test_unreachable_address_is_connect_fail_in_time(modem, pdp, peer, sim, station, timings):
    """CONNECT FAIL from an address nobody answers: OK, then CONNECT FAIL within the
    document's theoretical worst case (2.5–3.5 min); AT+QISTAT says TCP CONNECTING, so
    AT+QICLOSE: CLOSE OK, IP CLOSE with the context still up, and the next open connects
    without activating again."""
    sim.inject("peer_unreachable")
    # Slow on purpose (the module's own connect timeout): judged against OPEN-SLOW's worst
    # case below, not against the 90 s the host would wait before giving up.
    with timings.provoked("fault injected: peer_unreachable"):
        result = modem.qiopen("TCP", peer.host, peer.port, timeout=WORST_FINAL.seconds)
    stages = [s.text for s in result.reply.stages]
    final = timings.record(WORST_FINAL.check(result.elapsed, "AT+QIOPEN unreachable", str(stages)))
    if result.timed_out:
        raise LimitExceeded(f"OPEN-SLOW: no final answer to AT+QIOPEN: {final.timing.describe()}")
    assert result.first_ok and result.outcome is ResultCode.CONNECT_FAIL, (
        f"OPEN-FAIL: an open to an unreachable address answered "
        f"{[s.text for s in result.reply.stages]}; the document expects OK, then CONNECT FAIL"
    )
    used = treat_connect_fail(modem)
    assert used == "AT+QICLOSE", (
        "OPEN-FAIL: a connect to an unreachable peer failed with the context up, which the "
        "document describes as TCP CONNECTING (close it; GPRS stays active)"
    )
    open_again(modem, station, peer, used, "OPEN-FAIL")


# -- no answer, retries -----------------------------------------------------------------------
@pytest.mark.clause("OPEN-SLOW", "OPEN-RETRY")
@pytest.mark.requires("sim.faults")
def test_no_answer_in_90s_then_qideact_and_try_again(modem, pdp, peer, sim, station, timings):
    """No answer to AT+QIOPEN within 90 s (this connect would end only after 2.5 min): the host
    gives up at the limit and treats it as CONNECT FAIL: AT+QIDEACT → DEACT OK, IP INITIAL,
    and trying again (activate, open) connects."""
    late = limits.QIOPEN_WORST[0]
    sim.inject("qiopen_hang", seconds=late)
    with timings.provoked(f"fault injected: qiopen_hang seconds={late:g}"):
        result = modem.qiopen("TCP", peer.host, peer.port)
    assert result.first_ok and result.timed_out, (
        f"the hanging connect answered {[s.text for s in result.reply.stages]}"
    )
    assert result.elapsed >= limits.QIOPEN.seconds, "the host must wait the full 90 s limit"
    judge(timings, deactivate(modem, "OPEN-RETRY"), "OPEN-RETRY")
    open_again(modem, station, peer, "AT+QIDEACT", "OPEN-RETRY")


@pytest.mark.clause("OPEN-RETRY")
@pytest.mark.requires("peer.refuse")
def test_five_failed_opens_then_qideact_and_try_again(modem, pdp, peer, station, timings):
    """AT+QIOPEN failing 5 times in a row (a refused port): each answers OK, then CONNECT FAIL;
    after the fifth, AT+QIDEACT → DEACT OK, IP INITIAL, and trying again connects."""
    peer.set_mode("refuse")
    for attempt in range(1, limits.QIOPEN_FAILURES + 1):
        result = modem.qiopen("TCP", peer.host, peer.port)
        assert result.first_ok and result.outcome is ResultCode.CONNECT_FAIL, (
            f"OPEN-RETRY: attempt {attempt} to a refused port answered "
            f"{[s.text for s in result.reply.stages]}; expected OK, then CONNECT FAIL"
        )
        if modem.qistat() is IpState.TCP_CONNECTING:  # OPEN-FAIL: close before the next try
            assert modem.qiclose().code is ResultCode.CLOSE_OK
    judge(timings, deactivate(modem, "OPEN-RETRY"), "OPEN-RETRY")
    open_again(modem, station, peer, "AT+QIDEACT", "OPEN-RETRY")
