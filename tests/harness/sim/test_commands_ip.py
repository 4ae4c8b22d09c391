"""The IP state machine of PROTOCOL §1: each allowed and each refused transition, with what it
prints; plus the configuration commands' read and test forms."""

from __future__ import annotations

import re

import pytest

from harness import limits
from harness.sim import Profile

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}
UNREACHABLE = "203.0.113.5"  # TEST-NET-3: never dialled, simulated unreachable


@pytest.fixture
def up(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.boot()
    return rig


def reply(rig, command: str, timeout: float = 10.0) -> bytes:
    """The answer to `command` without its echo."""
    out = rig.host.at(command, timeout)
    return out[len(command) + 1 :]


def to_state(rig, state: str, peer=None) -> None:
    """Drive the stack from IP INITIAL to `state` the documented way."""
    steps = ["IP START", "IP GPRSACT", "IP STATUS", "CONNECT OK", "IP CLOSE"]
    if state == "IP INITIAL":
        return
    assert reply(rig, "AT+QIREGAPP") == b"\r\nOK\r\n"
    if state == "IP START":
        return
    assert reply(rig, "AT+QIACT") == b"\r\nOK\r\n"
    if state == "IP GPRSACT":
        return
    rig.host.write("AT+QILOCIP\r")
    rig.host.expect(re.compile(rb"\r\n10\.\d+\.\d+\.\d+\r\n"))
    if state == "IP STATUS":
        return
    if state == "TCP CONNECTING":
        rig.open("TCP", UNREACHABLE, 7007, expect=b"")
        return
    assert peer is not None
    rig.open("TCP", "127.0.0.1", peer.port)
    if state == "CONNECT OK":
        return
    assert reply(rig, "AT+QICLOSE") == b"\r\nCLOSE OK\r\n"
    assert state in steps


# -- each state, what QISTAT says ----------------------------------------------------------------
@pytest.mark.parametrize(
    "state", ["IP INITIAL", "IP START", "IP GPRSACT", "IP STATUS", "CONNECT OK", "IP CLOSE"]
)
def test_qistat_follows_the_documented_path(up, peer, state):
    to_state(up, state, peer)
    assert up.qistat() == state


def test_qistat_prints_ok_first_and_no_trailing_ok(up):
    up.host.write("AT+QISTAT\r")
    assert up.host.expect(b"INITIAL\r\n") == b"AT+QISTAT\r\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n"
    assert up.host.collect(0.5) == b""


# -- refused transitions --------------------------------------------------------------------------
REFUSED = [
    ("IP INITIAL", "AT+QIACT"),
    ("IP INITIAL", "AT+QILOCIP"),
    ("IP INITIAL", "AT+QICLOSE"),
    ("IP INITIAL", "AT+QISEND"),
    ("IP START", "AT+QIREGAPP"),
    ("IP START", "AT+QIMUX=1"),
    ("IP START", "AT+QIMODE=1"),
    ("IP START", 'AT+QIOPEN="TCP","127.0.0.1","7"'),
    ("IP GPRSACT", "AT+QIACT"),
    ("IP GPRSACT", 'AT+QIOPEN="TCP","127.0.0.1","7"'),
    ("IP STATUS", "AT+QIREGAPP"),
    ("IP STATUS", "AT+QIMUX=1"),
    ("IP STATUS", "AT+QISEND=4"),
    ("IP CLOSE", "AT+QICLOSE"),
    ("IP CLOSE", "AT+QISEND"),
]


@pytest.mark.parametrize(("state", "command"), REFUSED)
def test_refused_in_state(up, peer, state, command):
    to_state(up, state, peer)
    assert reply(up, command) == b"\r\nERROR\r\n"
    assert up.qistat() == state  # and nothing moved


@pytest.mark.parametrize("state", ["IP STATUS", "CONNECT OK", "IP CLOSE"])
def test_qilocip_keeps_later_states(up, peer, state):
    to_state(up, state, peer)
    up.host.write("AT+QILOCIP\r")
    up.host.expect(re.compile(rb"\r\n10\.\d+\.\d+\.\d+\r\n"))
    assert up.qistat() == state


@pytest.mark.parametrize("state", ["IP START", "IP GPRSACT", "IP STATUS", "IP CLOSE"])
def test_qideact_is_allowed_everywhere(up, peer, state):
    to_state(up, state, peer)
    assert reply(up, "AT+QIDEACT", 30) == b"\r\nDEACT OK\r\n"
    assert up.qistat() == "IP INITIAL"


def test_qiopen_again_from_ip_close(up, peer, make_peer):
    to_state(up, "IP CLOSE", peer)
    other = make_peer("echo")
    up.open("TCP", "127.0.0.1", other.port)
    assert up.qistat() == "CONNECT OK"


def test_qilocip_prints_the_address_alone(up):
    to_state(up, "IP GPRSACT")
    up.host.write("AT+QILOCIP\r")
    got = up.host.expect(re.compile(rb"\r\n10\.\d+\.\d+\.\d+\r\n"))
    assert re.fullmatch(rb"AT\+QILOCIP\r\r\n10\.\d+\.\d+\.\d+\r\n", got)
    assert up.host.collect(0.5) == b""  # no OK (PROTOCOL §4)


def test_qiopen_from_ip_initial_activates_the_context_itself(up, peer):
    up.open("TCP", "127.0.0.1", peer.port)
    assert up.qistat() == "CONNECT OK"


def test_already_connect_then_a_separate_error(up, peer):
    to_state(up, "CONNECT OK", peer)
    command = f'AT+QIOPEN="TCP","127.0.0.1","{peer.port}"'
    up.host.write(command + "\r")
    got = up.host.expect(b"ERROR\r\n")
    assert got == command.encode() + b"\r\r\nALREADY CONNECT\r\n\r\nERROR\r\n"


def test_unreachable_peer_stays_connecting_then_connect_fail(make_rig):
    rig = make_rig(Profile(qiopen_timeout=75.0, **QUICK), scale=0.002)
    rig.boot()
    to_state(rig, "IP STATUS")
    rig.open("TCP", UNREACHABLE, 7007, expect=b"")
    assert rig.qistat() == "TCP CONNECTING"
    assert reply(rig, f'AT+QIOPEN="TCP","{UNREACHABLE}","7007"') == b"\r\nERROR\r\n"
    assert rig.host.expect(b"\r\nCONNECT FAIL\r\n", 100)
    assert rig.qistat() == "TCP CONNECTING"  # OPEN-FAIL: close, the context stays up
    assert reply(rig, "AT+QICLOSE") == b"\r\nCLOSE OK\r\n"
    assert rig.qistat() == "IP CLOSE"


@pytest.mark.parametrize("refused_state", ["IP CLOSE", "TCP CONNECTING"])
def test_refused_connect_state_is_a_profile_setting(make_rig, refused_state):
    rig = make_rig(Profile(refused_state=refused_state, **QUICK))
    rig.boot()
    to_state(rig, "IP STATUS")
    closed = __import__("socket").socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]  # bound, not listening: connection refused
    rig.open("TCP", "127.0.0.1", port, expect=b"\r\nCONNECT FAIL\r\n")
    closed.close()
    assert rig.qistat() == refused_state


def test_pdp_deact_state(up, peer):
    to_state(up, "CONNECT OK", peer)
    up.sim.inject("pdp_deact")
    assert up.host.expect(b"\r\n+PDP DEACT\r\n", 5)
    assert up.qistat() == "PDP DEACT"
    assert reply(up, f'AT+QIOPEN="TCP","127.0.0.1","{peer.port}"') == b"\r\nERROR\r\n"
    assert reply(up, "AT+QISEND") == b"\r\nERROR\r\n"
    assert reply(up, "AT+QIDEACT", 30) == b"\r\nDEACT OK\r\n"
    assert up.qistat() == "IP INITIAL"


def test_cgatt_0_with_a_context_gives_pdp_deact_then_ok(up):
    to_state(up, "IP STATUS")
    assert reply(up, "AT+CGATT=0") == b"\r\n+PDP DEACT\r\n\r\nOK\r\n"
    assert up.qistat() == "PDP DEACT"


def test_qideact_from_any_state_returns_to_ip_initial(up, peer):
    to_state(up, "CONNECT OK", peer)
    assert reply(up, "AT+QIDEACT", 30) == b"\r\nDEACT OK\r\n"
    assert up.qistat() == "IP INITIAL"
    assert peer.wait_ended(up.clock)


def test_qiact_failure_then_a_working_retry(up):
    up.sim.inject("qiact_fail")
    to_state(up, "IP START")
    assert reply(up, "AT+QIACT") == b"\r\nERROR\r\n"
    assert up.qistat() == "IP INITIAL"
    to_state(up, "IP GPRSACT")  # a one-shot fault: the retry works


def test_qiact_hang_never_answers(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.002)
    rig.boot()
    rig.sim.inject("qiact_hang")
    to_state(rig, "IP START")
    rig.host.write("AT+QIACT\r")
    assert rig.host.collect(limits.QIACT.seconds + 20) == b"AT+QIACT\r"
    assert rig.sim.status().ip_state == "IP CONFIG"


# -- QIMUX=1 ------------------------------------------------------------------------------------
def test_multiplexed_links(up, peer):
    assert reply(up, "AT+QIMUX=1") == b"\r\nOK\r\n"
    to_state(up, "IP STATUS")
    assert (
        reply(up, f'AT+QIOPEN="TCP","127.0.0.1","{peer.port}"') == b"\r\nERROR\r\n"
    )  # OPEN-ERR-MUX
    assert reply(up, f'AT+QIOPEN=0,"TCP","127.0.0.1","{peer.port}"') == b"\r\nOK\r\n"
    assert up.host.expect(b"\r\n0, CONNECT OK\r\n", 5)
    opened = reply(up, f'AT+QIOPEN=0,"TCP","127.0.0.1","{peer.port}"')
    assert opened == b"\r\n0, ALREADY CONNECT\r\n\r\nERROR\r\n"
    assert reply(up, "AT+QISEND") == b"\r\nERROR\r\n"
    assert reply(up, "AT+QISACK") == b"\r\nERROR\r\n"
    up.host.write("AT+QISEND=0,4\r")
    up.host.expect(b"> ")
    up.host.write(b"ping")
    up.host.expect(b"SEND OK\r\n")
    assert up.host.expect(b"ping")  # echoed back by the peer, pushed raw
    assert reply(up, "AT+QISACK=0") == b"\r\n+QISACK: 4, 4, 0\r\n\r\nOK\r\n"
    stat = reply(up, "AT+QISTAT")
    assert stat.startswith(f'\r\n+QISTAT: 0,"TCP","127.0.0.1","{peer.port}"\r\n'.encode())
    assert stat.count(b"+QISTAT:") == 6 and stat.endswith(b"\r\nOK\r\n")
    assert reply(up, "AT+QICLOSE") == b"\r\nERROR\r\n"
    assert reply(up, "AT+QICLOSE=0") == b"\r\n0, CLOSE OK\r\n"


def test_multiplexed_remote_close_has_the_index(up, make_peer):
    peer = make_peer("sink")
    reply(up, "AT+QIMUX=1")
    to_state(up, "IP STATUS")
    reply(up, f'AT+QIOPEN=2,"TCP","127.0.0.1","{peer.port}"')
    up.host.expect(b"\r\n2, CONNECT OK\r\n", 5)
    assert peer.wait_accepted(up.clock)
    peer.close_conn()
    assert up.host.expect(b"\r\n2, CLOSED\r\n", 5)


# -- QISTATE, QIDNSGIP, configuration forms -----------------------------------------------------
def test_qistate_lists_the_link(up, peer):
    to_state(up, "CONNECT OK", peer)
    up.host.write("AT+QISTATE\r")
    got = up.host.expect(re.compile(rb"CONNECTED\"\r\n\r\nOK\r\n"))
    assert got == (
        b"AT+QISTATE\r\r\nOK\r\n\r\nSTATE: CONNECT OK\r\n"
        + f'\r\n+QISTATE: 0,"TCP","127.0.0.1",{peer.port},"CONNECTED"\r\n\r\nOK\r\n'.encode()
    )


def test_qidnsgip(make_rig):
    rig = make_rig(Profile(**QUICK), hosts={"localhost": "127.0.0.1", "peer.test": "10.9.8.7"})
    rig.boot()
    assert reply(rig, 'AT+QIDNSGIP="peer.test"') == b"\r\nERROR\r\n"  # no context yet
    to_state(rig, "IP STATUS")
    assert reply(rig, 'AT+QIDNSGIP="peer.test"') == b"\r\nOK\r\n"
    assert rig.host.expect(b"\r\n10.9.8.7\r\n", 5)
    reply(rig, 'AT+QIDNSGIP="nowhere.invalid"')
    assert rig.host.expect(b"\r\nERROR\r\n", 5)


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("AT+QIMUX?", b"+QIMUX: 0"),
        ("AT+QIMUX=?", b"+QIMUX: (0,1)"),
        ("AT+QIMODE?", b"+QIMODE: 0"),
        ("AT+QITCFG?", b"+QITCFG: 3,2,512,1"),
        ("AT+QIDNSIP?", b"+QIDNSIP: 0"),
        ("AT+QIFGCNT?", b"+QIFGCNT: 0,0"),
        ("AT+QICSGP?", b"+QICSGP: 1"),
        ("AT+QINDI=?", b"+QINDI: (0,1,2)"),
        ("AT+QISRVC?", b"+QISRVC: 1"),
    ],
)
def test_read_and_test_forms(up, command, answer):
    assert reply(up, command) == b"\r\n" + answer + b"\r\n\r\nOK\r\n"


@pytest.mark.parametrize(
    "command",
    ["AT+QITCFG=3,2,512", "AT+QITCFG=9,2,512,1", "AT+QINDI=3", "AT+QIHEAD=x", "AT+QICSGP=2"],
)
def test_bad_configuration_is_error(up, command):
    assert reply(up, command) == b"\r\nERROR\r\n"


def test_qimux_and_qimode_may_be_allowed_outside_ip_initial(make_rig):
    rig = make_rig(Profile(qimux_initial_only=False, qimode_initial_only=False, **QUICK))
    rig.boot()
    to_state(rig, "IP START")
    assert reply(rig, "AT+QIMODE=1") == b"\r\nOK\r\n"
    assert reply(rig, "AT+QIMUX=1") == b"\r\nERROR\r\n"  # never together with transparent mode


def test_a_wrong_apn_fails_qiact_until_the_right_one_is_set(up):
    """rig.wrong_apn: an APN the network does not serve makes AT+QIACT answer ERROR."""
    assert reply(up, 'AT+QICSGP=1,"modemcert-wrong-apn.invalid"') == b"\r\nOK\r\n"
    for _ in range(2):
        to_state(up, "IP START")
        assert reply(up, "AT+QIACT") == b"\r\nERROR\r\n"
        assert up.qistat() == "IP INITIAL"
    assert reply(up, 'AT+QICSGP=1,"CMNET"') == b"\r\nOK\r\n"
    to_state(up, "IP GPRSACT")
