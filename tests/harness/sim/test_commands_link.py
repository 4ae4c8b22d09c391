"""Session commands against real loopback peers: QISACK's real numbers, the 7300-byte send
buffer, QIRD, CLOSED on remote close."""

from __future__ import annotations

import re
import socket
import threading

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
ACK = re.compile(rb"\+QISACK: (\d+),\s*(\d+),\s*(\d+)\r\n")


def qisack(rig, command: str = "AT+QISACK") -> tuple[int, int, int]:
    sent, acked, nacked = ACK.search(rig.host.at(command)).groups()
    return int(sent), int(acked), int(nacked)


def send(rig, data: bytes) -> bytes:
    rig.host.write(f"AT+QISEND={len(data)}\r")
    rig.host.expect(b"> ")
    rig.host.write(data)
    return rig.host.expect(re.compile(rb"\r\n(SEND OK|SEND FAIL|ERROR)\r\n"))


def session(make_rig, peer, profile: Profile | None = None, **kwargs):
    rig = make_rig(profile or Profile(**QUICK), **kwargs)
    rig.boot()
    rig.activate()
    rig.open("TCP" if not hasattr(peer, "sock") else "UDP", "127.0.0.1", peer.port)
    return rig


def test_qisack_grows_while_the_peer_stops_reading_and_falls_back(make_rig, make_peer):
    peer = make_peer("hold", rcvbuf=2048)  # stops reading, small receive buffer
    rig = session(make_rig, peer)
    assert peer.wait_accepted(rig.clock)
    for _ in range(5):
        assert send(rig, b"z" * 1400).endswith(b"SEND OK\r\n")
    rig.until(lambda: qisack(rig)[2] > limits.SEND_WINDOW_BYTES, 20)
    sent, acked, nacked = qisack(rig)
    assert (sent, acked + nacked) == (7000, 7000)
    assert nacked > limits.SEND_WINDOW_BYTES  # SEND-WINDOW: the host must stop here
    peer.read_again()
    peer.wait_received(7000, rig.clock)
    rig.until(lambda: qisack(rig)[2] == 0, 20)
    assert qisack(rig) == (7000, 7000, 0)


def test_the_7300_byte_send_buffer_refuses_what_does_not_fit(make_rig, make_peer):
    peer = make_peer("hold", rcvbuf=2048)
    rig = session(make_rig, peer)
    assert peer.wait_accepted(rig.clock)
    outcomes = [send(rig, b"q" * limits.SEND_MAX) for _ in range(12)]
    assert any(o.endswith(b"SEND FAIL\r\n") for o in outcomes)
    sent, _, nacked = qisack(rig)
    accepted = sum(o.endswith(b"SEND OK\r\n") for o in outcomes)
    assert nacked <= limits.SOCKET_SEND_BUFFER and sent == limits.SEND_MAX * accepted


def test_send_buffer_full_reply_can_be_error(make_rig, make_peer):
    peer = make_peer("hold", rcvbuf=2048)
    rig = session(make_rig, peer, Profile(send_full_reply="ERROR", send_buffer=1000, **QUICK))
    assert peer.wait_accepted(rig.clock)
    send(rig, b"a" * 900)
    rig.clock.sleep(1.0)
    outcomes = [send(rig, b"b" * 900) for _ in range(8)]
    assert any(o.endswith(b"\r\nERROR\r\n") for o in outcomes)


def test_udp_qisack_field_that_stays_zero_is_a_profile_setting(make_rig, make_peer):
    for zero, expected in (("last", (4, 4, 0)), ("middle", (4, 0, 0))):
        peer = make_peer("udp")
        rig = session(make_rig, peer, Profile(udp_qisack_zero=zero, **QUICK))
        send(rig, b"ping")
        assert peer.receive(rig.clock)[0] == b"ping"
        assert qisack(rig) == expected


def test_qisack_after_a_disconnect_is_zero(make_rig, make_peer):
    peer = make_peer("sink")
    rig = session(make_rig, peer)
    send(rig, b"abcd")
    peer.wait_received(4, rig.clock)
    peer.close_conn()
    rig.host.expect(b"\r\nCLOSED\r\n", 5)
    assert qisack(rig) == (0, 0, 0)


@pytest.mark.parametrize(
    ("indexed", "text"), [(False, b"\r\nCLOSED\r\n"), (True, b"\r\n0, CLOSED\r\n")]
)
def test_remote_close_prints_closed(make_rig, make_peer, indexed, text):
    peer = make_peer("sink")
    rig = session(make_rig, peer, Profile(closed_index=indexed, **QUICK))
    assert peer.wait_accepted(rig.clock)
    peer.close_conn()
    assert rig.host.expect(b"CLOSED\r\n", 5) == text
    assert rig.qistat() == "IP CLOSE"


def test_connect_ok_comes_before_what_arrived_with_it(make_rig):
    """A peer that sends and closes as soon as it accepts: CONNECT OK, then +QIRDI, then
    CLOSED; the data is still there for AT+QIRD, then ERROR (closed and empty)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        conn, _ = server.accept()
        conn.sendall(b"hello")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    rig = make_rig(Profile(**QUICK))
    rig.boot()
    rig.host.at("AT+QINDI=1")
    rig.activate()
    port = server.getsockname()[1]
    assert rig.host.at(f'AT+QIOPEN="TCP","127.0.0.1","{port}"').endswith(b"\r\nOK\r\n")
    out = rig.host.expect(b"CLOSED\r\n", 10)
    server.close()
    assert out.index(b"CONNECT OK") < out.index(b"+QIRDI") < out.index(b"CLOSED"), out
    assert rig.host.at("AT+QIRD=0,1,0,1024").endswith(b",TCP,5\r\nhello\r\nOK\r\n")
    assert rig.host.at("AT+QIRD=0,1,0,1024").endswith(b"\r\nERROR\r\n")


def _qird_session(make_rig, peer, indi: int = 1):
    rig = make_rig(Profile(**QUICK))
    rig.boot()
    rig.host.at(f"AT+QINDI={indi}")
    rig.activate()
    rig.open("TCP", "127.0.0.1", peer.port)
    assert peer.wait_accepted(rig.clock)
    return rig


def test_qird_before_data_is_ok_then_the_urc_follows(make_rig, make_peer):
    peer = make_peer("sink")
    rig = _qird_session(make_rig, peer)
    assert rig.host.at("AT+QIRD=0,1,0,1024") == b"AT+QIRD=0,1,0,1024\r\r\nOK\r\n"
    peer.send(b"hello")
    assert rig.host.expect(b"+QIRDI: 0,1,0\r\n", 5) == b"\r\n+QIRDI: 0,1,0\r\n"


def test_qird_honours_len_and_announces_once(make_rig, make_peer):
    peer = make_peer("sink")
    rig = _qird_session(make_rig, peer)
    peer.send(b"x" * 1500)
    rig.host.expect(b"+QIRDI: 0,1,0\r\n", 5)
    peer.send(b"y" * 500)
    rig.clock.sleep(0.5)
    assert b"+QIRDI" not in rig.host.collect(0.5)  # one URC until the buffer is read
    first = rig.host.at("AT+QIRD=0,1,0,1024")
    assert b",TCP,1024\r\n" + b"x" * 1024 + b"\r\nOK\r\n" in first
    second = rig.host.at("AT+QIRD=0,1,0,1024")
    assert second.endswith(b",TCP,976\r\n" + b"x" * 476 + b"y" * 500 + b"\r\nOK\r\n")
    assert rig.host.at("AT+QIRD=0,1,0,1024").endswith(b"\r\r\nOK\r\n")


def test_qird_after_the_peer_closed_drains_then_errors(make_rig, make_peer):
    peer = make_peer("sink")
    rig = _qird_session(make_rig, peer)
    peer.send(b"last words")
    rig.host.expect(b"+QIRDI: 0,1,0\r\n", 5)
    peer.close_conn()
    rig.host.expect(b"CLOSED\r\n", 5)
    assert rig.host.at("AT+QIRD=0,1,0,1024").endswith(b",TCP,10\r\nlast words\r\nOK\r\n")
    assert rig.host.at("AT+QIRD=0,1,0,1024").endswith(b"\r\nERROR\r\n")


def test_qindi_2_urc_has_counts(make_rig, make_peer):
    peer = make_peer("sink")
    rig = _qird_session(make_rig, peer, indi=2)
    peer.send(b"12345")
    assert rig.host.expect(b"+QIRDI: 0,1,0,1,5,5\r\n", 5)


@pytest.mark.parametrize(
    "command",
    [
        "AT+QIRD=0,1,0,0",
        "AT+QIRD=0,1,0,1501",
        "AT+QIRD=0,2,0,10",
        "AT+QIRD=1,1,0,10",
        "AT+QIRD=0,1,3,10",
    ],
)
def test_bad_qird_is_error(make_rig, make_peer, command):
    peer = make_peer("sink")
    rig = _qird_session(make_rig, peer)
    assert rig.host.at(command).endswith(b"\r\r\nERROR\r\n")


def test_udp_qird_gives_each_datagram_its_own_header(make_rig, make_peer):
    peer = make_peer("udp")
    rig = make_rig(Profile(**QUICK))
    rig.boot()
    rig.host.at("AT+QINDI=1")
    rig.activate()
    rig.open("UDP", "127.0.0.1", peer.port)
    send(rig, b"hi")
    _, module = peer.receive(rig.clock)
    peer.sock.sendto(b"one", module)
    peer.sock.sendto(b"two", module)
    rig.host.expect(b"+QIRDI: 0,1,0\r\n", 5)
    rig.clock.sleep(0.5)
    got = rig.host.at("AT+QIRD=0,1,0,1024")
    where = f"127.0.0.1:{peer.port}".encode()
    assert got.endswith(
        b"\r\n+QIRD: " + where + b",UDP,3\r\none\r\n+QIRD: " + where + b",UDP,3\r\ntwo\r\nOK\r\n"
    )
