"""Chapter 9, the PDP context: QIREGAPP/QIACT/QILOCIP, the retry rule, QIDEACT, +PDP DEACT.

Walks PDP-ACT, PDP-ACT-RETRY, PDP-DEACT and PDP-LOST of PROCESS.md. Every error branch is
caused for real: a wrong APN (any rig that has one), or a simulator fault (sim rig only).
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address

import pytest

from harness import limits
from harness.at import ATTimeout, UrcKind
from harness.modem import IpState, Modem, ResultCode, ip_state, result_code
from harness.station import BASELINE, Station

#: +PDP DEACT has no documented delay; it is waited for as long as a plain command's answer.
PDP_DEACT_URC_WAIT = limits.DEFAULT_COMMAND.seconds


def configure(modem: Modem, station: Station, apn: str | None = None) -> None:
    """AT+QIFGCNT=0 and AT+QICSGP=1,"<apn>" (the rig's APN unless another is given)."""
    modem.configure(*station.rig.network.credentials(apn))


def activate(modem: Modem) -> IPv4Address:
    """PDP-ACT: attached (INIT-CGATT), then AT+QIREGAPP, AT+QIACT, AT+QILOCIP together, in
    this order; the local IP."""
    return modem.activate()


def failed_activation(modem: Modem) -> ResultCode | None:
    """AT+QIREGAPP, AT+QIACT expected to fail, then AT+QIDEACT; QIACT's result code."""
    modem.qiregapp()
    act = modem.qiact()
    deact = modem.qideact()
    assert deact.code is ResultCode.DEACT_OK, (
        f"PDP-DEACT: AT+QIDEACT after a failed AT+QIACT answered {deact.final}, not DEACT OK"
    )
    return act.code


def reboot(station: Station) -> None:
    """The document's "reboot the module": PWRKEY off (PWR-OFF), then on and in sync again."""
    station.power.power_off()
    station.bring_up()


# -- PDP-ACT ----------------------------------------------------------------------------------
@pytest.mark.clause("PDP-ACT")
def test_regapp_act_locip_together_give_the_local_ip(modem, network, station, at):
    """AT+QIREGAPP, AT+QIACT and AT+QILOCIP are issued together, in this order; AT+QIACT
    answers OK within 180 s and AT+QILOCIP returns the local IP alone (no OK after it)."""
    configure(modem, station)
    assert modem.qistat() is IpState.IP_INITIAL, "PDP-ACT starts from IP INITIAL"
    at.urcs()  # forget boot noise: anything unsolicited from here on is the module's answer
    address = activate(modem)
    stat = at.command("AT+QISTAT", check=True)
    stray = [u.text for u in at.urcs() if u.kind is UrcKind.STRAY]
    stages = [s.text for s in stat.stages]
    first_ok = bool(stages) and result_code(stages[0], link_index=False) is ResultCode.OK
    shape = len(stages) == 2 and first_ok and ip_state(stages[1]) is not None
    assert not stray and shape, (
        f"PDP-ACT: AT+QILOCIP answers with the bare address {address} and nothing after it "
        f"(PROTOCOL.md §4); extra finals arrived: {stray}, the next AT+QISTAT got {stages}"
    )
    state = ip_state(stat.final or "")
    assert state is IpState.IP_STATUS, (
        f"PDP-ACT: after AT+QILOCIP the state is IP STATUS, AT+QISTAT said {state}"
    )


# -- PDP-ACT-RETRY ----------------------------------------------------------------------------
@pytest.mark.clause("PDP-ACT-RETRY")
def test_one_qiact_failure_is_retried_not_rebooted(modem, network, station, sim):
    """AT+QIACT failing once is not a reboot condition (only 3 failures in a row are): after
    AT+QIDEACT the next AT+QIREGAPP/AT+QIACT/AT+QILOCIP activates the context."""
    configure(modem, station)
    sim.inject("qiact_fail", count=1)
    first = failed_activation(modem)
    assert first is ResultCode.ERROR, f"fault qiact_fail: AT+QIACT answered {first}, not ERROR"
    boots = sim.status().boot_count
    configure(modem, station)
    modem.qiregapp()
    retry = modem.qiact()
    assert retry.code is ResultCode.OK, (
        f"PDP-ACT-RETRY: one AT+QIACT failure is retried without a reboot; the retry answered "
        f"{retry.final} (the module needs a reboot after a single failure)"
    )
    modem.qilocip()
    assert modem.qistat() is IpState.IP_STATUS
    assert sim.status().boot_count == boots, "the retry must not need a reboot"


@pytest.mark.clause("PDP-ACT-RETRY")
@pytest.mark.requires("rig.wrong_apn", "power")
def test_three_qiact_failures_in_a_row_reboot(modem, network, station):
    """AT+QIACT failing 3 times in a row (a wrong APN): reboot the module; after the reboot,
    with the right APN, AT+QIREGAPP/AT+QIACT/AT+QILOCIP activate the context."""
    wrong = station.rig.network.wrong_apn
    answers = []
    for _ in range(limits.QIACT_FAILURES):
        configure(modem, station, apn=wrong)
        answers.append(failed_activation(modem))
    assert all(a is not None and a is not ResultCode.OK for a in answers), (
        f"AT+QIACT with the APN {wrong!r} must fail; it answered {answers}"
    )
    reboot(station)
    modem.wait_registered("CREG", limits.CREG_REGISTERED.seconds)
    configure(modem, station)
    address = activate(modem)
    state = modem.qistat()
    assert state is IpState.IP_STATUS, (
        f"PDP-ACT-RETRY: after the reboot the context activates ({address}); state {state}"
    )


# -- PDP-DEACT --------------------------------------------------------------------------------
def answering_modem(station: Station, timings, recover) -> Modem:
    """The module answering AT, for a test that cannot take the `module` fixture: its baseline
    sends AT+QIDEACT, the very command a PDP-DEACT test must see fail in the test itself."""
    if not station.alive():
        recover("the module did not answer AT before a PDP-DEACT test")
    return Modem(station.channel, station.clock, timings.record)


def deactivate(modem: Modem) -> str | None:
    """AT+QIDEACT; a module answering anything but DEACT OK fails PDP-DEACT here."""
    try:
        reply = modem.qideact()
    except ATTimeout as e:
        raw = e.reply.raw if e.reply is not None else b""
        if b"\r\nOK\r\n" in raw:
            raise AssertionError(
                f"PDP-DEACT: AT+QIDEACT answers DEACT OK; the module answered OK (and the "
                f"host, waiting for DEACT OK, gave up after {limits.QIDEACT.seconds:g} s)"
            ) from None
        raise
    assert reply.code is ResultCode.DEACT_OK, (
        f"PDP-DEACT: AT+QIDEACT answers DEACT OK; it answered {reply.final!r}"
    )
    return reply.final


@pytest.mark.clause("PDP-DEACT")
def test_qideact_answers_deact_ok(station, timings, recover):
    """AT+QIDEACT answers DEACT OK (typically in 2–5 s, within 90 s) from any state, and after
    QIREGAPP/QIACT/QILOCIP it takes the context down: AT+QISTAT says IP INITIAL."""
    modem = answering_modem(station, timings, recover)
    deactivate(modem)  # from whatever state the previous test left
    for command in BASELINE:  # the default IP settings the other steps assume
        station.channel.command(command, check=True)
    modem.wait_registered("CREG", limits.CREG_REGISTERED.seconds)
    configure(modem, station)
    activate(modem)
    assert modem.qistat() is IpState.IP_STATUS
    deactivate(modem)
    state = modem.qistat()
    assert state is IpState.IP_INITIAL, f"PDP-DEACT: after DEACT OK AT+QISTAT says {state}"


@pytest.mark.clause("PDP-DEACT")
def test_qideact_without_answer_in_90s_reboot(modem, pdp, station, sim, timings, at, recover):
    """No answer to AT+QIDEACT in 90 s: restart the module by EMERG_OFF; it comes back at
    IP INITIAL and the context activates again."""
    sim.inject("qideact_hang")
    with timings.provoked("fault injected: qideact_hang"), pytest.raises(ATTimeout) as waited:
        modem.qideact()
    partial = waited.value.reply
    assert waited.value.limit is limits.QIDEACT, "AT+QIDEACT is given its own limit, QIDEACT"
    assert partial is not None and partial.elapsed >= limits.QIDEACT.seconds, (
        "AT-TIMEOUT: the harness waits the full documented limit before giving up"
    )
    recover("AT+QIDEACT gave no answer in 90 s (PDP-DEACT)")
    assert modem.qistat() is IpState.IP_INITIAL
    modem.wait_registered("CREG", limits.CREG_REGISTERED.seconds)
    configure(modem, station)
    activate(modem)


# -- PDP-LOST ---------------------------------------------------------------------------------
@pytest.mark.clause("PDP-LOST")
def test_pdp_deact_urc_then_start_over(modem, tcp_session, station, sim, at, peer):
    """The network drops the context: the module says +PDP DEACT (AT+QISTAT: PDP DEACT); the
    host deactivates with AT+QIDEACT and starts over from PDP-ACT, and data flows again."""
    at.urcs()
    sim.inject("pdp_deact")
    try:
        at.wait_urc(UrcKind.PDP_DEACT, PDP_DEACT_URC_WAIT)
    except ATTimeout:
        state = modem.qistat()
        raise AssertionError(
            f"PDP-LOST: the network dropped the context (AT+QISTAT: {state}) but no +PDP DEACT "
            f"came within {PDP_DEACT_URC_WAIT:g} s"
        ) from None
    state = modem.qistat()
    assert state is IpState.PDP_DEACT, f"PDP-LOST: after +PDP DEACT AT+QISTAT says {state}"
    deact = modem.qideact()
    assert deact.code is ResultCode.DEACT_OK, f"PDP-LOST: AT+QIDEACT answered {deact.final}"
    configure(modem, station)
    activate(modem)
    mark = peer.mark()
    opened = modem.qiopen("TCP", peer.host, peer.port)
    assert opened.outcome is ResultCode.CONNECT_OK, (
        f"after starting over, AT+QIOPEN: {opened.outcome}"
    )
    conn = peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark)
    data = b"after +PDP DEACT, PDP-ACT again"
    sent = modem.qisend(data)
    assert sent.ok, f"AT+QISEND on the new session answered {sent.outcome}"
    stats = peer.wait_bytes(conn.id, len(data), limits.ACK.seconds)
    assert stats.sha256_in == hashlib.sha256(data).hexdigest(), "the peer got other bytes"
