"""HOST:PORT parsing, loopback detection and TCP+UDP binding on one port."""

from __future__ import annotations

import socket

import pytest

from harness.peer.addresses import bind_pair, format_hostport, is_loopback, parse_hostport
from harness.peer.errors import PeerStartError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:7007", ("127.0.0.1", 7007)),
        ("[::1]:7008", ("::1", 7008)),
        (":7007", ("0.0.0.0", 7007)),
        ("localhost:0", ("localhost", 0)),
        ("peer.example.net:80", ("peer.example.net", 80)),
    ],
)
def test_parse(text, expected):
    assert parse_hostport(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("127.0.0.1", "no port"),
        ("127.0.0.1:http", "not a number"),
        ("127.0.0.1:70000", "outside 0..65535"),
        ("::1:7007", "brackets"),
        ("bad host!:1", "not an IP address"),
    ],
)
def test_parse_errors_name_the_input(text, words):
    with pytest.raises(ValueError, match=words) as e:
        parse_hostport(text, "--listen")
    assert "--listen" in str(e.value)


def test_loopback():
    assert all(map(is_loopback, ["127.0.0.1", "127.9.9.9", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "", "::", "192.0.2.1", "example.net"]))
    assert format_hostport("::1", 1) == "[::1]:1" and format_hostport("h", 2) == "h:2"


def test_bind_pair_same_port_and_busy_port():
    tcp, udp = bind_pair("127.0.0.1", 0)
    with tcp, udp:
        port = tcp.getsockname()[1]
        assert udp.getsockname()[1] == port and udp.type == socket.SOCK_DGRAM
        with pytest.raises(PeerStartError, match="already in use"):
            bind_pair("127.0.0.1", port)


def test_address_not_on_this_machine():
    with pytest.raises(PeerStartError, match="not an address of this machine"):
        bind_pair("192.0.2.1", 0)  # TEST-NET-1: never assigned here; nothing is sent
