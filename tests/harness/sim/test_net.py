"""Loopback only: the one connect function refuses anything else, the resolver never asks DNS,
and a whole session to foreign addresses and names never opens a socket off 127.0.0.0/8."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from harness.sim import NotLoopback, Profile
from harness.sim.net import Resolver, Route, apn_known, is_loopback, loopback_connect

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}
FOREIGN = "203.0.113.5"


class Recorder:
    """Patches socket connect/sendto/DNS to record every address asked for."""

    def __init__(self, monkeypatch) -> None:
        self.addresses: list[object] = []
        self.dns: list[object] = []
        real_connect, real_sendto = socket.socket.connect, socket.socket.sendto

        def connect(sock, address):
            self.addresses.append(address)
            return real_connect(sock, address)

        def sendto(sock, data, *args):
            self.addresses.append(args[-1])
            return real_sendto(sock, data, *args)

        def no_dns(*args, **kwargs):
            self.dns.append(args)
            raise AssertionError("the simulator asked real DNS")

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "sendto", sendto)
        monkeypatch.setattr(socket, "getaddrinfo", no_dns)
        monkeypatch.setattr(socket, "gethostbyname", no_dns)

    def off_loopback(self) -> list[object]:
        bad = []
        loopback = ipaddress.ip_network("127.0.0.0/8")
        for address in self.addresses:
            if isinstance(address, tuple) and ipaddress.ip_address(address[0]) not in loopback:
                bad.append(address)
        return bad


def test_loopback_connect_refuses_before_touching_the_socket(monkeypatch):
    rec = Recorder(monkeypatch)
    with socket.socket() as sock, pytest.raises(NotLoopback, match=r"203\.0\.113\.5:80"):
        loopback_connect(sock, (FOREIGN, 80))
    with socket.socket() as sock, pytest.raises(NotLoopback):
        loopback_connect(sock, ("example.com", 80))
    assert rec.addresses == []


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.200.1.2")
    assert not is_loopback("10.0.0.1") and not is_loopback("localhost")


def test_resolver_routes():
    r = Resolver(
        {"116.226.39.202": "127.0.0.1:4000", "1.2.3.4:80": "127.0.0.2"},
        {"peer.test": "116.226.39.202", "localhost": "127.0.0.1"},
    )
    assert r.route("116.226.39.202", 7007) == Route("116.226.39.202", 7007, ("127.0.0.1", 4000))
    assert r.route("1.2.3.4", 80) == Route("1.2.3.4", 80, ("127.0.0.2", 80))
    assert r.route("1.2.3.4", 81).target is None  # mapped for port 80 only
    assert r.route("127.0.0.9", 5).target == ("127.0.0.9", 5)
    assert r.route(FOREIGN, 1).target is None
    assert r.lookup("PEER.test.") == "116.226.39.202"
    assert r.lookup("example.com") is None
    assert r.lookup("9.9.9.9") == "9.9.9.9"


@pytest.mark.parametrize(
    ("address_map", "hosts", "message"),
    [
        ({"1.2.3.4": "8.8.8.8"}, {}, "not on 127.0.0.0/8"),
        ({"1.2.3.4": "127.0.0.1:99999"}, {}, "port must be"),
        ({"nonsense": "127.0.0.1"}, {}, "dotted IPv4"),
        ({}, {"a.test": "not-an-ip"}, "dotted IPv4"),
    ],
)
def test_bad_maps_are_clear_errors(address_map, hosts, message):
    with pytest.raises(ValueError, match=message):
        Resolver(address_map, hosts)


def test_a_session_never_leaves_loopback(make_rig, make_peer, monkeypatch):
    rec = Recorder(monkeypatch)
    peer = make_peer("echo")
    rig = make_rig(Profile(qiopen_timeout=20.0, **QUICK), scale=0.005)
    rig.boot()
    rig.host.at("AT+QIDNSIP=1")
    rig.activate()
    # a foreign address: OK, then CONNECT FAIL at the module's own timeout, never dialled
    rig.open("TCP", FOREIGN, 7007, expect=b"\r\nCONNECT FAIL\r\n")
    rig.host.at("AT+QICLOSE")
    # a domain name nobody maps: the module's DNS fails
    rig.open("TCP", "example.com", 80, expect=b"\r\nCONNECT FAIL\r\n")
    # UDP to a foreign address "connects" (no handshake) and sends into the void
    rig.open("UDP", FOREIGN, 53)
    rig.host.write("AT+QISEND=4\r")
    rig.host.expect(b"> ")
    rig.host.write(b"void")
    rig.host.expect(b"SEND OK\r\n")
    rig.host.at("AT+QICLOSE")
    # localhost resolves, and works
    rig.open("TCP", "localhost", peer.port)
    assert rec.dns == []
    assert rec.off_loopback() == []
    assert ("127.0.0.1", peer.port) in rec.addresses
    assert all(addr[0] != FOREIGN for addr in rec.addresses if isinstance(addr, tuple))


def test_mapped_foreign_address_reaches_the_local_peer(make_rig, make_peer, monkeypatch):
    rec = Recorder(monkeypatch)
    peer = make_peer("echo")
    rig = make_rig(Profile(**QUICK), address_map={FOREIGN: f"127.0.0.1:{peer.port}"})
    rig.boot()
    rig.activate()
    rig.open("TCP", FOREIGN, 7007)
    assert rec.addresses == [("127.0.0.1", peer.port)]


def test_dns_failure_reply_can_be_error(make_rig):
    rig = make_rig(Profile(dns_fail_reply="ERROR", **QUICK))
    rig.boot()
    rig.host.at("AT+QIDNSIP=1")
    rig.activate()
    rig.open("TCP", "nowhere.invalid", 80, expect=b"\r\nERROR\r\n")
    assert rig.qistat() == "IP CLOSE"


@pytest.mark.parametrize(
    ("apn", "known"),
    [
        ("CMNET", True),
        ("internet.example", True),
        ("modemcert-wrong-apn.invalid", False),
        ("Wrong.INVALID.", False),
        ("invalid", False),
        ("invalid.example", True),
    ],
)
def test_only_apns_under_invalid_are_unknown(apn, known):
    assert apn_known(apn) is known
