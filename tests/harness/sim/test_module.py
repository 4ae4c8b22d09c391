"""SimulatedModule end to end: every exchange of the seed documents replayed byte for byte
(foreign addresses mapped to loopback peers), plus the public API's life cycle."""

from __future__ import annotations

import dataclasses
import os
import re

import pytest

from harness.clock import Clock
from harness.sim import Profile, SimulatedModule

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}
DATA36 = b"1234567890abcdefghijklmnopqrstuvwxyz"
SEED_SERVER = "116.226.39.202"  # chapters 3 and 8
SEED_SENDER = "116.228.146.250"  # chapter 5


def seeds(**changes) -> Profile:
    return Profile.seeds(**QUICK, **changes)


def exchange(rig, command: str, timeout: float = 10.0) -> bytes:
    return rig.host.at(command, timeout)


# -- chapter 2: initialisation (both editions) ----------------------------------------------------
def test_seed_initialisation(make_rig):
    rig = make_rig(seeds())
    rig.boot()
    assert exchange(rig, "AT+IPR=115200&W") == b"AT+IPR=115200&W\r\r\nOK\r\n"
    assert exchange(rig, "AT+CPIN?") == b"AT+CPIN?\r\r\n+CPIN:READY\r\n\r\nOK\r\n"
    assert exchange(rig, "AT+CREG?") == b"AT+CREG?\r\r\n+CREG: 0,1\r\n\r\nOK\r\n"
    assert exchange(rig, "AT+CGATT?") == b"AT+CGATT?\r\r\n+CGATT: 1\r\n\r\nOK\r\n"  # Chinese ed.
    for command in (
        "AT+QIFGCNT=0",
        'AT+QICSGP=1,"CMNET"',
        "AT+QIDNSIP=1",
        "AT+QINDI=1",
        "AT+QIHEAD=1",
        "AT+QISHOWRA=1",
        "AT+QISHOWPT=1",
        "AT+QIMODE=1",
        "AT+QITCFG=3,2,512,1",
    ):
        assert exchange(rig, command) == command.encode() + b"\r\r\nOK\r\n"


def test_manual_spelling_of_cpin_is_the_default(make_rig):
    rig = make_rig(Profile.m95(**QUICK))
    rig.boot()
    assert exchange(rig, "AT+CPIN?") == b"AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n"


# -- chapter 3: establish a TCP / UDP session ---------------------------------------------------
def test_seed_tcp_and_udp_open(make_rig, make_peer):
    tcp, udp = make_peer("echo"), make_peer("udp")
    rig = make_rig(seeds(), address_map={f"{SEED_SERVER}:7007": f"127.0.0.1:{tcp.port}"})
    rig.boot()
    rig.activate()
    command = f'AT+QIOPEN="TCP","{SEED_SERVER}","7007"'
    rig.host.write(command + "\r")
    assert (
        rig.host.expect(b"CONNECT OK\r\n") == command.encode() + b"\r\r\nOK\r\n\r\nCONNECT OK\r\n"
    )
    assert tcp.wait_accepted(rig.clock)
    assert exchange(rig, "AT+QICLOSE") == b"AT+QICLOSE\r\r\nCLOSE OK\r\n"

    rig2 = make_rig(seeds(), address_map={f"{SEED_SERVER}:7007": f"127.0.0.1:{udp.port}"})
    rig2.boot()
    rig2.activate()
    command = f'AT+QIOPEN="UDP","{SEED_SERVER}","7007"'
    rig2.host.write(command + "\r")
    assert (
        rig2.host.expect(b"CONNECT OK\r\n") == command.encode() + b"\r\r\nOK\r\n\r\nCONNECT OK\r\n"
    )
    rig2.host.write("AT+QISEND=4\r")
    rig2.host.expect(b"> ")
    rig2.host.write(b"TEST")
    rig2.host.expect(b"SEND OK\r\n")
    data, _ = udp.receive(rig2.clock)
    assert data == b"TEST"


# -- chapter 4: send data -----------------------------------------------------------------------
def test_seed_send_variable_and_fixed(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(seeds(), address_map={SEED_SERVER: f"127.0.0.1:{peer.port}"})
    rig.boot()
    rig.activate()
    rig.open("TCP", SEED_SERVER, 7007)
    rig.host.write("AT+QISEND\r")
    assert rig.host.expect(b"> ") == b"AT+QISEND\r\r\n> "
    rig.host.write(b"TEST\x1a")
    assert rig.host.expect(b"SEND OK\r\n") == b"TEST\r\nSEND OK\r\n"  # "> TEST" (§14 echo)
    peer.wait_received(4, rig.clock)
    assert exchange(rig, "AT+QISACK") == b"AT+QISACK\r\r\n+QISACK: 4, 4, 0\r\n\r\nOK\r\n"
    # 10 more bytes, so the document's total of 17 comes out after its 3 special bytes
    rig.host.write("AT+QISEND=10\r")
    rig.host.expect(b"> ")
    rig.host.write(b"0123456789")
    rig.host.expect(b"SEND OK\r\n")
    rig.host.write("AT+QISEND=3\r")
    assert rig.host.expect(b"> ") == b"AT+QISEND=3\r\r\n> "
    rig.host.write(b"\x08\x1a\x1b")
    assert rig.host.expect(b"SEND OK\r\n") == b"\x08\x1a\x1b\r\nSEND OK\r\n"
    assert peer.wait_received(17, rig.clock).endswith(b"\x08\x1a\x1b")
    assert exchange(rig, "AT+QISACK") == b"AT+QISACK\r\r\n+QISACK: 17, 17, 0\r\n\r\nOK\r\n"


# -- chapter 5: receive data ----------------------------------------------------------------------
def test_seed_receive_direct_with_headers(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(seeds(), address_map={f"{SEED_SENDER}:7070": f"127.0.0.1:{peer.port}"})
    rig.boot()
    for command in ("AT+QIHEAD=1", "AT+QISHOWRA=1", "AT+QISHOWPT=1"):
        exchange(rig, command)
    rig.activate()
    rig.open("TCP", SEED_SENDER, 7070)
    assert peer.wait_accepted(rig.clock)
    peer.send(DATA36)
    got = rig.host.expect(DATA36)
    assert got == b"\r\nRECV FROM:116.228.146.250:7070\r\nIPD36TCP:" + DATA36


def test_seed_receive_by_qird(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(seeds(), address_map={f"{SEED_SENDER}:7070": f"127.0.0.1:{peer.port}"})
    rig.boot()
    exchange(rig, "AT+QINDI=1")
    rig.activate()
    rig.open("TCP", SEED_SENDER, 7070)
    assert peer.wait_accepted(rig.clock)
    peer.send(DATA36)
    assert rig.host.expect(b"+QIRDI:0,1,0\r\n") == b"\r\n+QIRDI:0,1,0\r\n"
    reply = exchange(rig, "AT+QIRD=0,1,0,1024")
    assert reply == (
        b"AT+QIRD=0,1,0,1024\r\r\n+QIRD:116.228.146.250:7070,TCP,36\r\n" + DATA36 + b"\r\nOK\r\n"
    )


# -- chapter 6: connection maintenance ------------------------------------------------------------
def _heartbeat_session(make_rig, make_peer, sep: str):
    peer = make_peer("sink")
    rig = make_rig(
        seeds(qisack_sep=sep), address_map={SEED_SERVER: f"127.0.0.1:{peer.port}"}, scale=0.02
    )
    rig.boot()
    rig.activate()
    rig.open("TCP", SEED_SERVER, 7007)
    rig.host.write("AT+QISEND=1448\r")
    rig.host.expect(b"> ")
    rig.host.write(b"x" * 1448)
    rig.host.expect(b"SEND OK\r\n")
    peer.wait_received(1448, rig.clock)
    return rig, peer


def test_seed_heartbeat_spaced(make_rig, make_peer):
    rig, _ = _heartbeat_session(make_rig, make_peer, ", ")
    assert exchange(rig, "AT+QISACK") == b"AT+QISACK\r\r\n+QISACK: 1448, 1448, 0\r\n\r\nOK\r\n"


def test_seed_heartbeat_unacknowledged_then_acknowledged(make_rig, make_peer):
    rig, peer = _heartbeat_session(make_rig, make_peer, ",")
    rig.sim.inject("slow_network", delay=5.0)  # the network holds the next 36 bytes for 5 s
    rig.host.write("AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(DATA36 + b"\x1a")
    assert rig.host.expect(b"SEND OK\r\n") == DATA36 + b"\r\nSEND OK\r\n"
    assert exchange(rig, "AT+QISACK") == b"AT+QISACK\r\r\n+QISACK: 1484,1448,36\r\n\r\nOK\r\n"
    peer.wait_received(1484, rig.clock)  # released after the delay: then acknowledged
    rig.sim.clear_faults()
    assert exchange(rig, "AT+QISACK") == b"AT+QISACK\r\r\n+QISACK: 1484,1484,0\r\n\r\nOK\r\n"
    rig.host.write("AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(b"Heart01\x1a")
    rig.host.expect(b"SEND OK\r\n")
    peer.wait_received(1491, rig.clock)
    assert exchange(rig, "AT+QISACK") == b"AT+QISACK\r\r\n+QISACK: 1491,1491,0\r\n\r\nOK\r\n"


# -- chapter 7: close ------------------------------------------------------------------------------
def test_seed_close_and_deactivate(make_rig, make_peer):
    peer = make_peer("echo")
    rig = make_rig(seeds(), address_map={SEED_SERVER: f"127.0.0.1:{peer.port}"})
    rig.boot()
    rig.activate()
    rig.open("TCP", SEED_SERVER, 7007)
    assert exchange(rig, "AT+QICLOSE") == b"AT+QICLOSE\r\r\nCLOSE OK\r\n"
    assert peer.wait_ended(rig.clock)
    assert exchange(rig, "AT+QIDEACT", 30) == b"AT+QIDEACT\r\r\nDEACT OK\r\n"


# -- chapter 8: transparent mode -----------------------------------------------------------------
def test_seed_transparent_session(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(seeds(), address_map={SEED_SERVER: f"127.0.0.1:{peer.port}"}, scale=0.1)
    rig.boot()
    exchange(rig, "AT+QIMODE=1")
    exchange(rig, "AT+QITCFG=3,2,512,1")
    rig.activate()
    command = f'AT+QIOPEN="TCP","{SEED_SERVER}","7007"'
    rig.host.write(command + "\r")
    assert rig.host.expect(b"CONNECT\r\n") == command.encode() + b"\r\r\nOK\r\n\r\nCONNECT\r\n"
    rig.host.write(DATA36)
    assert peer.wait_received(36, rig.clock) == DATA36
    peer.send(b"abcdefghijklmnopqrstuvwxyz1234567890")
    assert rig.host.expect(b"7890") == b"abcdefghijklmnopqrstuvwxyz1234567890"  # not echoed
    rig.clock.sleep(1.0)
    rig.host.write(b"+++")
    assert rig.host.expect(b"\r\nOK\r\n", 3) == b"\r\nOK\r\n"
    assert peer.received == bytearray(DATA36)  # the +++ never reached the peer


def test_seed_transparent_abnormality(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(seeds(), address_map={SEED_SERVER: f"127.0.0.1:{peer.port}"}, scale=0.1)
    rig.boot()
    exchange(rig, "AT+QIMODE=1")
    rig.activate()
    rig.open("TCP", SEED_SERVER, 7007, expect=b"CONNECT\r\n")
    assert peer.wait_accepted(rig.clock)
    peer.close_conn()
    assert rig.host.expect(b"CLOSED\r\n") == b"\r\nCLOSED\r\n"
    rig.clock.sleep(1.0)
    rig.host.write(b"+++")
    assert rig.host.expect(b"+++") == b"+++"
    assert rig.host.collect(2.0) == b""  # echo only, no OK: the session had really dropped
    rig.host.write(b"\r")
    rig.host.collect(0.2)
    assert exchange(rig, "AT+QIDEACT", 30).endswith(b"\r\nDEACT OK\r\n")


# -- the API's life cycle -------------------------------------------------------------------------
def test_life_cycle_and_status(tmp_path):
    sim = SimulatedModule(clock=Clock(0.01), state_dir=tmp_path)
    with pytest.raises(RuntimeError, match="start"):
        _ = sim.port
    with sim:
        assert os.path.exists(sim.port)
        status = sim.status()
        assert (status.powered, status.ip_state, status.port) == (False, "IP INITIAL", sim.port)
        assert sim.power_on_now() is True
        assert sim.power_on_now() is False
        assert sim.status().powered
    sim.stop()  # idempotent
    with pytest.raises(RuntimeError, match="new one"):
        sim.start()
    with pytest.raises(RuntimeError, match="not running"):
        sim.power_on_now()


def test_presets_identify_themselves(make_rig):
    for preset in (Profile.m95, Profile.mc60, Profile.m66):
        profile = preset(**QUICK)
        rig = make_rig(profile)
        rig.boot(sync=False)
        assert rig.host.sync() > 0
        reply = exchange(rig, "AT+CGMM")
        assert reply == f"AT+CGMM\r\r\n{profile.model}\r\n\r\nOK\r\n".encode()
        ati = exchange(rig, "ATI")
        assert re.search(rb"Quectel_Ltd\r\n" + profile.model.encode(), ati)


def test_profile_is_a_plain_dataclass():
    assert dataclasses.replace(Profile(), cpin_space=False).cpin_space is False
