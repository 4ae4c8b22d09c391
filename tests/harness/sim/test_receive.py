"""Received data on the UART: raw by default, the QIHEAD/QISHOWRA/QISHOWPT headers, +RECEIVE
under QIMUX=1, and never inside what the host is typing (RECV-DIRECT, RECV-INTERLEAVE)."""

from __future__ import annotations

import re

import pytest

from harness.sim import Profile

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}


def receiving(make_rig, make_peer, settings: list[str], **changes):
    peer = make_peer("sink")
    rig = make_rig(Profile(**QUICK, **changes))
    rig.boot()
    for command in settings:
        assert rig.host.at(command).endswith(b"OK\r\n")
    rig.activate()
    rig.open("TCP", "127.0.0.1", peer.port)
    assert peer.wait_accepted(rig.clock)
    return rig, peer


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ([], b"hello"),
        (["AT+QIHEAD=1"], b"\r\nIPD5:hello"),
        (["AT+QIHEAD=1", "AT+QISHOWPT=1"], b"\r\nIPD5TCP:hello"),
        (["AT+QISHOWPT=1"], b"hello"),  # the protocol only ever goes into an IPD header
        (["AT+QISHOWRA=1"], b"\r\nRECV FROM:127.0.0.1:{port}\r\nhello"),
    ],
)
def test_push_formats(make_rig, make_peer, settings, shown):
    rig, peer = receiving(make_rig, make_peer, settings)
    peer.send(b"hello")
    assert rig.host.expect(b"hello") == shown.replace(b"{port}", str(peer.port).encode())


def test_trailing_crlf_is_a_profile_setting(make_rig, make_peer):
    rig, peer = receiving(make_rig, make_peer, ["AT+QIHEAD=1"], ipd_trailing_crlf=True)
    peer.send(b"hello")
    assert rig.host.expect(b"hello\r\n") == b"\r\nIPD5:hello\r\n"


def test_multiplexed_push_has_receive_line(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(Profile(**QUICK))
    rig.boot()
    rig.host.at("AT+QIMUX=1")
    rig.host.at("AT+QIHEAD=1")
    rig.activate()
    rig.host.at(f'AT+QIOPEN=1,"TCP","127.0.0.1","{peer.port}"')
    rig.host.expect(b"1, CONNECT OK\r\n")
    assert peer.wait_accepted(rig.clock)
    peer.send(b"abc")
    assert rig.host.expect(b"abc") == b"\r\n+RECEIVE: 1, 3\r\nIPD3:abc"


def test_big_data_is_pushed_in_blocks(make_rig, make_peer):
    rig, peer = receiving(make_rig, make_peer, ["AT+QIHEAD=1"])
    start = len(rig.host.buf)
    peer.send(b"b" * 3000)
    assert rig.until(lambda: rig.host.buf[start:].count(b"b") == 3000, 10, poll=0.1)
    headers = [int(h) for h in re.findall(rb"IPD(\d+):", rig.host.buf[start:])]
    assert sum(headers) == 3000 and max(headers) <= 1460  # at most 1460 bytes per block


def test_data_waits_while_the_host_types_a_command(make_rig, make_peer):
    rig, peer = receiving(make_rig, make_peer, [])
    rig.host.write("AT+CS")
    rig.host.expect(b"AT+CS")
    peer.send(b"DATA")
    rig.clock.sleep(1.0)
    assert rig.host.collect(0.2) == b""  # not inside the command the host is typing
    rig.host.write("Q\r")
    got = rig.host.expect(b"\r\nOK\r\n")
    assert got in (b"Q\rDATA\r\n+CSQ: 25,0\r\n\r\nOK\r\n", b"Q\r\r\n+CSQ: 25,0\r\n\r\nOK\r\nDATA")
