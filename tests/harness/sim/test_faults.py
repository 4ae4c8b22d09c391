"""Injected faults: validation, one-shot against persistent, and what each one does."""

from __future__ import annotations

import pytest

from harness import limits
from harness.sim import FAULTS, Profile, UnknownFault
from harness.sim.faults import Faults, make

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("qiact_explode", {}, "known faults: cgatt_fail"),
        ("qideact_slow", {"minutes": 3}, "no parameter 'minutes'"),
        ("qideact_slow", {"seconds": "soon"}, "not a number"),
        ("noise", {"data": "zz"}, "not hex"),
        ("qiact_fail", {"count": 0}, "at least 1"),
    ],
)
def test_bad_requests_say_what_is_wrong(name, params, message):
    with pytest.raises(UnknownFault, match=message):
        make(name, False, params)


def test_one_shot_counts_down_and_persistent_stays():
    faults = Faults()
    faults.arm(make("qiact_fail", False, {"count": 2}))
    assert faults.take("qiact_fail") and faults.take("qiact_fail")
    assert faults.take("qiact_fail") is None
    faults.arm(make("qiact_fail", True, {}))
    assert all(faults.take("qiact_fail") for _ in range(5))
    assert faults.active("qiact_fail") and faults.names() == ("qiact_fail",)
    faults.clear()
    assert faults.active("qiact_fail") is None


def test_every_fault_has_a_description():
    assert all(f.description for f in FAULTS.values())


@pytest.fixture
def up(make_rig, peer):
    def build(scale=0.01, **changes):
        rig = make_rig(Profile(**QUICK, **changes), scale=scale)
        rig.boot()
        return rig

    return build


def test_persistent_qiact_fail_survives_a_reboot_until_cleared(up):
    rig = up()
    rig.sim.inject("qiact_fail", persistent=True)
    rig.sim.power_off_now()
    rig.boot()
    rig.host.at("AT+QIREGAPP")
    assert rig.host.at("AT+QIACT").endswith(b"\r\nERROR\r\n")
    rig.sim.clear_faults()
    rig.host.at("AT+QIREGAPP")
    assert rig.host.at("AT+QIACT").endswith(b"\r\nOK\r\n")


def test_qideact_slow_and_hang(up):
    rig = up(scale=0.002)
    rig.sim.inject("qideact_slow", seconds=100.0)
    rig.host.write("AT+QIDEACT\r")
    assert rig.host.wait_for(b"DEACT OK", 35.0) is None
    assert rig.host.expect(b"DEACT OK\r\n", 20)
    rig.sim.inject("qideact_hang")
    rig.host.write("AT+QIDEACT\r")
    assert rig.host.collect(limits.QIDEACT_WORST + 20) == b"AT+QIDEACT\r"


def test_qiopen_hang_stays_connecting(up, peer):
    rig = up(scale=0.002)
    rig.activate()
    rig.sim.inject("qiopen_hang")
    rig.open("TCP", "127.0.0.1", peer.port, expect=b"")
    assert rig.host.collect(limits.QIOPEN_WORST[1] + 60) == b""
    assert rig.qistat() == "TCP CONNECTING"
    assert rig.host.at("AT+QICLOSE").endswith(b"CLOSE OK\r\n")


def test_qiopen_hang_with_a_time_ends_in_connect_fail(up, peer):
    rig = up(scale=0.002)
    rig.activate()
    rig.sim.inject("qiopen_hang", seconds=120.0)
    rig.open("TCP", "127.0.0.1", peer.port, expect=b"\r\nCONNECT FAIL\r\n")
    assert not peer.accepted.is_set()


def test_peer_unreachable_once(up, peer):
    rig = up(scale=0.002, qiopen_timeout=60.0)
    rig.activate()
    rig.sim.inject("peer_unreachable")
    rig.open("TCP", "127.0.0.1", peer.port, expect=b"\r\nCONNECT FAIL\r\n")
    rig.host.at("AT+QICLOSE")
    rig.open("TCP", "127.0.0.1", peer.port)  # used up: the next open works


def test_noise_now_and_before_every_final(up):
    rig = up()
    rig.sim.inject("noise", data="ff13")
    assert rig.host.expect(b"\xff\x13") == b"\xff\x13"
    rig.sim.inject("noise", persistent=True, data="11")
    assert rig.host.at("AT") == b"\x11AT\r\x11\r\nOK\r\n"  # now, then before the final
    assert rig.host.at("AT") == b"AT\r\x11\r\nOK\r\n"


def test_nat_drop_after_idle(up, make_peer):
    peer = make_peer("sink")
    rig = up(scale=0.005)
    rig.sim.inject("nat_drop", persistent=True, idle=30.0)
    rig.activate()
    rig.open("TCP", "127.0.0.1", peer.port)
    rig.clock.sleep(60.0)
    rig.host.write("AT+QISEND=9\r")
    rig.host.expect(b"> ")
    rig.host.write(b"heartbeat")
    rig.host.expect(b"SEND OK\r\n")
    rig.clock.sleep(5.0)
    assert rig.host.at("AT+QISACK").endswith(b"+QISACK: 9, 0, 9\r\n\r\nOK\r\n")
    assert peer.received == bytearray()
    peer.send(b"lost")  # the gateway forgot the port: nothing comes back either
    assert b"lost" not in rig.host.collect(2.0)
