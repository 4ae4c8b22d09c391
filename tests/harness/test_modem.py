"""Typed commands: parsing and deviations against a scripted module, then the real simulator
and peer end to end (bring-up, PDP, open with each outcome, send, ack, QIRD, close)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

import pytest
from _at_cases import frame

from harness import limits
from harness.at import ATChannel, ATError, UrcKind
from harness.clock import Clock
from harness.limits import Timing, Verdict
from harness.modem import (
    Ack,
    IpState,
    Modem,
    ModuleDeviation,
    Registration,
    ResultCode,
    SimStatus,
    ip_state,
    result_code,
    sync,
)
from harness.peer import PeerControl, PeerServer, sha256_hex
from harness.sim import SimulatedModule
from harness.transport import Transport

#: Module seconds → wall for the simulator tests: QIACT's few seconds cost tens of ms.
SIM_SCALE = 0.02


@pytest.fixture
def scripted(at_channel) -> tuple[Modem, list[Timing]]:
    timings: list[Timing] = []
    return Modem(at_channel, record=timings.append), timings


# -- parsing, against a scripted module -------------------------------------------------------
def test_creg_read_forms(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+CREG?\r", frame("+CREG: 0,1", "OK"))
    assert modem.creg() == Registration(0, 1)
    pty_responder.on(b"AT+CREG?\r", frame('+CREG: 2,5,"2842","0426"', "OK"))
    reg = modem.creg()
    assert reg == Registration(2, 5, "2842", "0426") and reg.registered
    pty_responder.on(b"AT+CGREG?\r", frame("+CGREG: 0,2", "OK"))
    assert not modem.cgreg().registered


def test_a_read_without_its_line_is_a_deviation_naming_the_clause(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+CREG?\r", frame("OK"))
    with pytest.raises(ModuleDeviation) as e:
        modem.creg()
    assert e.value.clause == "INIT-CREG" and "AT+CREG?" in str(e.value)
    assert isinstance(e.value, AssertionError)


@pytest.mark.parametrize(
    "line, ack",
    [
        ("+QISACK: 48, 48, 0", Ack(48, 48, 0)),
        ("+QISACK: 1484,1448,36", Ack(1484, 1448, 36)),  # the seeds, no spaces
        ("+QISACK: 500 ,300,  200", Ack(500, 300, 200)),
    ],
)
def test_qisack_is_parsed_leniently(scripted, pty_responder, line, ack):
    modem, _ = scripted
    pty_responder.on(b"AT+QISACK\r", frame(line, "OK"))
    assert modem.qisack() == ack


@pytest.mark.parametrize("line", ["+QISACK: 4, 4", "+QISACK: 4, 5, 0", "+QISACK: x, 4, 0"])
def test_a_malformed_qisack_is_a_deviation(scripted, pty_responder, line):
    modem, _ = scripted
    pty_responder.on(b"AT+QISACK\r", frame(line, "OK"))
    with pytest.raises(ModuleDeviation) as e:
        modem.qisack()
    assert e.value.clause == "SEND-ACK" and line in str(e.value)


def test_qistat_reads_the_state_after_the_leading_ok(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+QISTAT\r", frame("OK", "STATE: IP STATUS"))
    assert modem.qistat() is IpState.IP_STATUS
    pty_responder.on(b"AT+QISTAT\r", frame("OK", "STATE: IP SOMEWHERE"))
    with pytest.raises(ModuleDeviation, match="IP SOMEWHERE"):
        modem.qistat()


def test_ip_state_words():
    assert ip_state("STATE: TCP CONNECTING") is IpState.TCP_CONNECTING
    assert ip_state("PDP DEACT") is IpState.PDP_DEACT
    assert ip_state("OK") is None


def test_cpin_refusal_raises_at_error_with_its_code(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+CPIN?\r", frame("+CME ERROR: 14"))
    with pytest.raises(ATError) as e:
        modem.cpin()
    assert e.value.code == 14
    pty_responder.on(b"AT+CPIN?\r", frame("+CPIN:READY", "OK"))  # the seeds' spelling
    status = modem.cpin()
    assert status == SimStatus("READY") and status.ready
    pty_responder.on(b"AT+CPIN?\r", frame("+CPIN: NOT INSERTED", "OK"))
    absent = modem.cpin()
    assert not absent.ready and str(absent) == "NOT INSERTED"


def test_qilocip_takes_the_bare_address_as_the_final(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+QILOCIP\r", frame("10.7.1.22"))
    assert modem.qilocip() == IPv4Address("10.7.1.22")
    pty_responder.on(b"AT+QILOCIP\r", frame("10.7.1.622"))  # no address
    with pytest.raises(ModuleDeviation) as e:
        modem.qilocip()
    assert e.value.clause == "PDP-ACT"


def test_qiopen_outcomes_are_returned_not_raised(scripted, pty_responder):
    modem, timings = scripted
    cmd = b'AT+QIOPEN="TCP","127.0.0.1","7007"\r'
    pty_responder.on(cmd, frame("OK"), frame("CONNECT OK"))
    opened = modem.qiopen("tcp", "127.0.0.1", 7007)
    assert opened.connected and opened.first_ok and opened.accepted
    assert opened.outcome is opened.result is ResultCode.CONNECT_OK and not opened.timed_out
    assert [t.clause for t in timings] == ["OPEN-TCP"]
    assert timings[0].verdict is Verdict.PASS and timings[0].measured == opened.elapsed

    pty_responder.on(cmd, frame("OK"), frame("CONNECT FAIL"))
    failed = modem.qiopen("TCP", "127.0.0.1", 7007)
    assert failed.outcome is ResultCode.CONNECT_FAIL and failed.first_ok and not failed.connected

    pty_responder.on(cmd, frame("ALREADY CONNECT"), frame("ERROR"))
    already = modem.qiopen("TCP", "127.0.0.1", 7007)
    assert already.outcome is ResultCode.ALREADY_CONNECT and not already.first_ok

    pty_responder.on(cmd, frame("ERROR"))
    refused = modem.qiopen("TCP", "127.0.0.1", 7007)
    assert refused.outcome is ResultCode.ERROR and not refused.first_ok
    assert len(timings) == 1  # only a connection is a CONNECT OK latency


def test_qiopen_without_a_final_in_time_is_timed_out(scripted, pty_responder):
    modem, timings = scripted
    pty_responder.on(b'AT+QIOPEN="UDP","127.0.0.1","9"\r', frame("OK"))  # then nothing
    result = modem.qiopen("UDP", "127.0.0.1", 9, timeout=30.0)
    assert result.timed_out and result.outcome is None and result.first_ok
    assert result.elapsed >= 30.0 and not timings


def test_refusals_the_document_reacts_to_are_typed_results(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+QIDEACT\r", frame("DEACT OK"))
    deact = modem.qideact()
    assert deact.ok and deact.code is ResultCode.DEACT_OK and deact.command == "AT+QIDEACT"
    assert deact.timing().clause == "PDP-DEACT"
    pty_responder.on(b"AT+QIACT\r", frame("+CME ERROR: 3"))
    act = modem.qiact()  # returned, not raised: PDP-ACT-RETRY counts it
    assert not act.ok and act.code is ResultCode.ERROR and act.error_code == 3
    pty_responder.on(b"AT+QICLOSE\r", frame("ERROR"))
    assert modem.qiclose().code is ResultCode.ERROR
    pty_responder.on(b"AT+QIREGAPP\r", frame("OK"))
    assert modem.qiregapp().code is ResultCode.OK


def test_a_result_code_is_read_as_printed(scripted, pty_responder):
    """QICLOSE/QIDEACT are the single-connection forms: `0, CLOSE OK` is no CLOSE OK there,
    while QIOPEN/QISEND finals may carry a link index."""
    modem, _ = scripted
    pty_responder.on(b"AT+QICLOSE\r", frame("0, CLOSE OK"))
    closed = modem.qiclose()
    assert closed.ok and closed.code is None and closed.final == "0, CLOSE OK"
    assert result_code("1, CONNECT OK") is ResultCode.CONNECT_OK
    assert result_code("1, CLOSE OK", link_index=False) is None
    assert result_code("10.7.1.22") is None and result_code(None) is None
    assert repr(ResultCode.DEACT_OK) == "'DEACT OK'"  # failure messages quote the module


def test_commands_without_a_documented_reaction_raise_on_refusal(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+QIMODE=1\r", frame("ERROR"))
    with pytest.raises(ATError):
        modem.qimode(1)
    pty_responder.on(b"AT+QIHEAD=1\r", frame("OK"))
    assert modem.qihead(1).code is ResultCode.OK


def test_qisend_fixed_and_variable(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(b"AT+QISEND=3\r", b"\r\n> ")
    pty_responder.on(b"\x08\x1a\x1b", frame("SEND OK"))
    sent = modem.qisend(b"\x08\x1a\x1b", fixed=True)
    assert sent.ok and sent.sent == 3 and sent.outcome is ResultCode.SEND_OK
    pty_responder.on(b"AT+QISEND\r", b"\r\n> ")
    pty_responder.on(b"TEST\x1a", frame("SEND FAIL"))
    full = modem.qisend(b"TEST")
    assert not full.ok and full.sent == 0 and full.outcome is ResultCode.SEND_FAIL


def test_qird_blocks_closed_and_over_length(scripted, pty_responder):
    modem, _ = scripted
    pty_responder.on(
        b"AT+QIRD=0,1,0,1024\r",
        b"\r\n+QIRD: 127.0.0.1:7007,TCP,5\r\nhello" + frame("OK"),
    )
    got = modem.qird()
    assert got.data == b"hello" and len(got.blocks) == 1 and not got.closed
    pty_responder.on(b"AT+QIRD=0,1,0,1024\r", frame("ERROR"))
    assert modem.qird().closed
    pty_responder.on(
        b"AT+QIRD=0,1,0,4\r", b"\r\n+QIRD: 127.0.0.1:7007,TCP,5\r\nhello" + frame("OK")
    )
    with pytest.raises(ModuleDeviation) as e:
        modem.qird(4)
    assert e.value.clause == "RECV-QIRD"


def test_wait_registered_polls_until_registered_and_records(scripted, pty_responder):
    modem, timings = scripted
    pty_responder.on(b"AT+CREG?\r", frame("+CREG: 0,2", "OK"), times=2)
    pty_responder.on(b"AT+CREG?\r", frame("+CREG: 0,5", "OK"), times=None)
    reg, seconds = modem.wait_registered("CREG")
    assert reg.registered and seconds >= 2 * 1.0  # two polls a second apart came first
    assert pty_responder.received.count(b"AT+CREG?\r") == 3
    assert [(t.clause, t.verdict) for t in timings] == [("INIT-CREG", Verdict.PASS)]


def test_wait_registered_gives_up_past_the_limit_with_a_fail(scripted, pty_responder):
    modem, timings = scripted
    pty_responder.on(b"AT+CGREG?\r", frame("+CGREG: 0,3", "OK"), times=None)
    reg, seconds = modem.wait_registered("CGREG", limit=3.0)
    assert not reg.registered and reg.stat == 3 and seconds > 3.0
    assert timings[-1].clause == "INIT-CGREG"
    with pytest.raises(ValueError, match="CREG"):
        modem.wait_registered("GREG")


def test_wait_acked_polls_until_nothing_is_unacknowledged(scripted, pty_responder):
    modem, timings = scripted
    pty_responder.on(b"AT+QISACK\r", frame("+QISACK: 10, 4, 6", "OK"))
    pty_responder.on(b"AT+QISACK\r", frame("+QISACK: 10, 10, 0", "OK"), times=None)
    ack, _ = modem.wait_acked()
    assert ack == Ack(10, 10, 0)
    assert timings[-1].clause == "SEND-ACK" and timings[-1].limit == limits.ACK.seconds


def test_qicsgp_refuses_a_quote_before_sending(scripted, pty_responder):
    modem, _ = scripted
    with pytest.raises(ValueError, match="rig file"):
        modem.qicsgp('bad"apn')
    assert b"QICSGP" not in pty_responder.received


# -- end to end, against the simulator and the peer -------------------------------------------
@dataclass
class Live:
    clock: Clock
    sim: SimulatedModule
    server: PeerServer
    peer: PeerControl
    channel: ATChannel
    modem: Modem
    timings: list[Timing] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.server.address[0]

    @property
    def port(self) -> int:
        return self.server.address[1]

    def until_ready(self) -> None:
        """AT+CPIN? until READY (SIM busy for a few s after power-on), then GPRS registered."""
        deadline = self.clock.deadline(limits.CPIN_READY.seconds * 3)
        while True:
            try:
                if self.modem.cpin().ready:
                    break
            except ATError:
                assert not deadline.expired, "the SIM never became ready"
                self.clock.sleep(0.5)
        reg, _ = self.modem.wait_registered("CGREG")
        assert reg.registered

    def activate(self) -> None:
        m = self.modem
        m.qifgcnt(0)
        m.qicsgp(limits.DEFAULT_APN)
        assert m.qiregapp().ok
        assert m.qiact().ok
        assert m.qilocip() in IPv4Network("10.0.0.0/8")
        assert m.qistat() is IpState.IP_STATUS


def _live(tmp_path, mutate: tuple[str, ...] = ()) -> Iterator[Live]:
    clock = Clock(SIM_SCALE)
    sim = SimulatedModule(clock=clock, state_dir=tmp_path / "sim").start()
    for name in mutate:
        sim.mutate(name)
    server = PeerServer(clock=clock).start()
    channel = None
    try:
        sim.power_on_now()
        channel = ATChannel(Transport(sim.port), clock).start()
        sync(channel, limits.IPR_DEFAULT_RATE, clock)
        timings: list[Timing] = []
        peer = PeerControl(server.control_url, clock=clock)
        modem = Modem(channel, clock, timings.append)
        yield Live(clock, sim, server, peer, channel, modem, timings)
    finally:
        if channel is not None:
            channel.close()
        server.stop()
        errors = sim.errors
        sim.stop()
    assert not errors, errors


@pytest.fixture
def live(tmp_path) -> Iterator[Live]:
    yield from _live(tmp_path)


def test_the_happy_path_end_to_end(live):
    m = live.modem
    live.until_ready()
    assert m.creg().registered and m.cgatt() == 1
    rssi, ber = m.csq()
    assert 0 <= rssi <= 31 and ber >= 0
    identity = m.identify()
    assert identity.model == "Quectel_M95" and identity.firmware
    live.activate()
    mark = live.peer.mark()
    opened = m.qiopen("TCP", live.host, live.port)
    assert opened.connected and opened.first_ok
    assert live.timings[-1].clause == "OPEN-TCP"
    conn = live.peer.wait_connection(30, after=mark)
    payload = bytes(range(256)) * 4
    assert m.qisend(payload, fixed=True).ok
    assert m.qisend(b"TEST").ok
    ack, _ = m.wait_acked()
    assert ack.nacked == 0 and ack.sent == ack.acked == len(payload) + 4
    stats = live.peer.wait_bytes(conn, len(payload) + 4, 30)
    assert stats.sha256_in == sha256_hex(payload + b"TEST")
    assert m.qiclose().code is ResultCode.CLOSE_OK
    assert m.qistat() is IpState.IP_CLOSE
    assert m.qideact().code is ResultCode.DEACT_OK
    assert m.qistat() is IpState.IP_INITIAL


def test_open_outcomes_from_the_simulator(live):
    m = live.modem
    live.until_ready()
    assert m.qiregapp().ok
    wrong_state = m.qiopen("TCP", live.host, live.port)  # IP START: OPEN-ERR-STATE
    assert wrong_state.outcome is ResultCode.ERROR
    assert m.qiact().ok and m.qilocip()
    assert m.qiopen("UDP", live.host, live.port).connected
    assert live.timings[-1].clause == "OPEN-UDP"
    assert m.qiopen("TCP", live.host, live.port).outcome is ResultCode.ALREADY_CONNECT
    assert m.qiclose().ok
    live.peer.set_mode("refuse")
    refused = m.qiopen("TCP", live.host, live.port)
    assert refused.outcome is ResultCode.CONNECT_FAIL and refused.first_ok
    live.peer.reset()
    live.sim.inject("qiopen_hang")
    hung = m.qiopen("TCP", live.host, live.port, timeout=5.0)
    assert hung.timed_out and hung.first_ok and hung.outcome is None
    assert m.qistat() is IpState.TCP_CONNECTING


def test_qird_fetches_announced_data_and_sees_the_close(live):
    m = live.modem
    live.until_ready()
    m.qindi(1)
    live.activate()
    mark = live.peer.mark()
    assert m.qiopen("TCP", live.host, live.port).connected
    conn = live.peer.wait_connection(30, after=mark)
    assert m.qisend(b"1234567890abcdefghijklmnopqrstuvwxyz").ok
    live.channel.wait_urc(UrcKind.QIRDI, 30)
    got = b""
    while len(got) < 36:
        got += m.qird().data
    assert got == b"1234567890abcdefghijklmnopqrstuvwxyz"
    live.peer.set_mode("close", conn=conn)
    live.channel.wait_urc(UrcKind.CLOSED, 30)
    assert m.qird().closed


def test_deviations_of_a_mutated_module(tmp_path):
    for live in _live(tmp_path, mutate=("info_after_final",)):
        with pytest.raises(ModuleDeviation) as e:
            live.modem.csq()
        assert "AT+CSQ" in str(e.value) and "last bytes" in str(e.value)
