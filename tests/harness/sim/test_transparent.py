"""Transparent mode: CONNECT, QITCFG batching, unechoed data, +++ with guard times, ATO,
CLOSED and +PDP DEACT in the stream (PROTOCOL §12; the seeds, chapter 8)."""

from __future__ import annotations

import pytest

from harness.sim import Profile

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}
SCALE = 0.1  # the +++ guard times need room above thread-scheduling noise


@pytest.fixture
def data_mode(make_rig, make_peer):
    def build(tcfg: str = "3,2,512,1", **changes):
        peer = make_peer("sink")
        rig = make_rig(Profile(**QUICK, **changes), scale=SCALE)
        rig.boot()
        rig.host.at("AT+QIMODE=1")
        rig.host.at(f"AT+QITCFG={tcfg}")
        rig.activate()
        rig.open("TCP", "127.0.0.1", peer.port, expect=b"\r\nCONNECT\r\n")
        assert peer.wait_accepted(rig.clock)
        return rig, peer

    return build


def escape(rig) -> bytes:
    """+++ with a guard of silence before it; what came back (OK, or nothing)."""
    rig.clock.sleep(1.0)
    rig.host.write(b"+++")
    return rig.host.wait_for(b"\r\nOK\r\n", 5.0) or rig.host.collect(0.1)


def sent(rig) -> int:
    links = rig.sim.status().links
    return links[0].sent if links else -1


def test_full_blocks_go_at_once_the_rest_after_the_idle_time(data_mode):
    rig, peer = data_mode("3,10,512,1", tcfg_wait_unit=1.0)  # 10 s of idle before the rest
    rig.host.write(b"d" * 600)
    first = []
    rig.until(lambda: first.append(sent(rig)) or first[-1] > 0, 5, poll=0.1)
    assert first[-1] == 512
    assert peer.wait_received(600, rig.clock, 30) == b"d" * 600
    assert rig.host.collect(0.5) == b""  # data-mode input is never echoed


def test_peer_data_is_passed_raw(data_mode):
    rig, peer = data_mode()
    peer.send(b"CLOSED\r\n+PDP DEACT\r\nraw")  # strings that look like URCs, sent as data
    assert rig.host.expect(b"raw") == b"CLOSED\r\n+PDP DEACT\r\nraw"
    assert escape(rig) == b"\r\nOK\r\n"  # still in data mode: +++ answers OK (TRANS-CLOSED)


def test_escape_then_ato_returns_to_data_mode(data_mode):
    rig, peer = data_mode()
    assert escape(rig) == b"\r\nOK\r\n"
    assert rig.host.at("AT") == b"AT\r\r\nOK\r\n"
    assert rig.qistat() == "CONNECT OK"
    rig.host.write("ATO\r")
    assert rig.host.expect(b"CONNECT\r\n") == b"ATO\r\r\nCONNECT\r\n"
    rig.host.write(b"again")
    assert peer.wait_received(5, rig.clock) == b"again"
    assert peer.received == bytearray(b"again")  # the first +++ never reached the peer


def test_plus_signs_without_the_guard_are_data(data_mode):
    rig, peer = data_mode()
    rig.host.write(b"x+++")
    assert rig.host.collect(2.0) == b""
    assert peer.wait_received(4, rig.clock) == b"x+++"
    rig.clock.sleep(1.0)
    rig.host.write(b"++++")
    assert rig.host.collect(2.0) == b""
    assert peer.wait_received(8, rig.clock) == b"x+++++++"


def test_escape_can_be_disabled_by_qitcfg(data_mode):
    rig, peer = data_mode("3,2,512,0")
    assert escape(rig) == b""
    assert peer.wait_received(3, rig.clock) == b"+++"


def test_remote_close_prints_closed_and_leaves_data_mode(data_mode):
    rig, peer = data_mode()
    peer.close_conn()
    assert rig.host.expect(b"CLOSED\r\n") == b"\r\nCLOSED\r\n"
    assert rig.host.at("AT") == b"AT\r\r\nOK\r\n"
    assert rig.host.at("ATO").endswith(b"\r\r\nERROR\r\n")


def test_pdp_deact_in_data_mode(data_mode):
    rig, _ = data_mode()
    rig.sim.inject("pdp_deact")
    assert rig.host.expect(b"+PDP DEACT\r\n") == b"\r\n+PDP DEACT\r\n"
    assert rig.qistat() == "PDP DEACT"
