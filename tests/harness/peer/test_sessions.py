"""Every connection mode over real TCP and UDP sockets on loopback, proven by counts and digests."""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.request

import pytest

from harness.limits import CTRL_Z, ESC, SEND_WINDOW_BYTES
from harness.peer import Ended, PeerControl, PeerServer, sha256_hex

from .conftest import Net

SOON = 250.0
pytestmark = pytest.mark.timeout(60)


# -- echo -------------------------------------------------------------------------------------
def test_tcp_echo_one_megabyte_digests_match(peer, net):
    data = os.urandom(1024 * 1024)
    s = net.tcp()
    conn = peer.wait_connection(SOON, proto="tcp")
    sender = threading.Thread(target=s.sendall, args=(data,))
    sender.start()
    back = net.recv_exactly(s, len(data))
    sender.join()
    assert back == data
    st = peer.wait_bytes(conn, len(data), SOON)
    assert (st.bytes_in, st.bytes_out) == (len(data), len(data))
    assert st.sha256_in == st.sha256_out == sha256_hex(data)
    assert st.mode == "echo" and st.ended is Ended.OPEN
    assert st.first_byte is not None and st.first_byte <= st.last_byte
    assert st.first_byte_module <= st.last_byte_module
    assert st.remote == s.getsockname() and st.local == s.getpeername()


def test_tcp_peer_close_is_recorded(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    s.sendall(b"bye")
    assert net.recv_exactly(s, 3) == b"bye"
    s.shutdown(socket.SHUT_WR)
    assert net.recv_eof(s) == b""
    st = peer.wait_ended(conn, SOON)
    assert st.ended is Ended.PEER_CLOSED and st.closed is not None


def test_tcp_reset_by_the_far_end_is_recorded(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    s.close()
    assert peer.wait_ended(conn, SOON).ended is Ended.RESET


def test_udp_echo_per_remote_address(peer, net):
    a, b = net.udp(), net.udp()
    grams = [b"x", bytes(range(256)), b"CLOSED", os.urandom(1400)]
    for g in grams:
        a.send(g)
        assert a.recv(2048) == g
    b.send(b"from b")
    assert b.recv(64) == b"from b"
    first = peer.wait_connection(SOON, proto="udp")
    second = peer.wait_connection(SOON, proto="udp")
    assert first.remote == a.getsockname() and second.remote == b.getsockname()
    st = peer.stats(first)
    joined = b"".join(grams)
    assert (st.datagrams_in, st.datagrams_out) == (len(grams), len(grams))
    assert st.sha256_in == st.sha256_out == sha256_hex(joined)
    assert st.bytes_in == len(joined)


# -- sink ------------------------------------------------------------------------------------
def test_tcp_sink_reads_and_answers_nothing(peer, net):
    peer.set_mode("sink", proto="tcp")
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    data = os.urandom(200_000)
    s.sendall(data)
    st = peer.wait_bytes(conn, len(data), SOON)
    assert st.sha256_in == sha256_hex(data) and st.bytes_out == 0 and st.mode == "sink"
    s.setblocking(False)
    with pytest.raises(BlockingIOError):
        s.recv(1)


def test_udp_sink(peer, net):
    peer.set_mode("sink", proto="udp")
    u = net.udp()
    u.send(b"one")
    u.send(b"two")
    conn = peer.wait_connection(SOON, proto="udp")
    st = peer.wait_bytes(conn, 6, SOON)
    assert st.bytes_out == 0 and st.datagrams_in == 2 and st.sha256_in == sha256_hex(b"onetwo")


# -- hold ------------------------------------------------------------------------------------
def test_hold_makes_unacknowledged_bytes_pass_the_send_window_and_release_drains(peer, net):
    peer.set_mode("hold", proto="tcp")
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    data = os.urandom(8 * 1024)  # "a few KB" of the module's sending
    s.setblocking(False)
    assert s.send(data) == len(data)
    net.wait_until(lambda: net.outq(s) > SEND_WINDOW_BYTES, "TIOCOUTQ above the window")
    st = peer.stats(conn)
    assert st.mode == "hold" and st.bytes_in == 0
    assert st.unread is not None and 0 < st.unread < len(data) - SEND_WINDOW_BYTES
    peer.release(conn)
    net.wait_until(lambda: net.outq(s) == 0, "TIOCOUTQ back to 0 after release")
    st = peer.wait_bytes(conn, len(data), SOON)
    assert st.mode == "echo" and st.sha256_in == sha256_hex(data)
    assert net.recv_exactly(s, len(data)) == data


def test_hold_for_the_next_connection_only(peer, net):
    peer.set_mode("hold", proto="tcp", count=1)
    held = net.tcp()
    first = peer.wait_connection(SOON)
    other = net.tcp()
    second = peer.wait_connection(SOON)
    assert (first.mode, second.mode) == ("hold", "echo")
    held.setblocking(False)
    held.send(os.urandom(8 * 1024))
    net.wait_until(lambda: net.outq(held) > SEND_WINDOW_BYTES, "held connection's TIOCOUTQ")
    # The listener's receive buffer is back to normal: 64 KB flow straight through.
    data = os.urandom(64 * 1024)
    other.sendall(data)
    assert net.recv_exactly(other, len(data)) == data


def test_hold_an_established_connection_stops_reading(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    peer.set_mode("hold", conn=conn)
    s.setblocking(False)
    sent = 0
    chunk = os.urandom(65536)
    try:
        while sent < 64 * 1024 * 1024:
            sent += s.send(chunk)
    except BlockingIOError:
        pass
    assert 0 < sent < 64 * 1024 * 1024, "the held peer's window never closed"
    assert peer.stats(conn).bytes_in < sent
    peer.release(conn, mode="sink")
    s.setblocking(True)
    st = peer.wait_bytes(conn, sent, SOON)
    assert st.bytes_in == sent and st.mode == "sink"


def test_release_of_a_connection_that_is_not_held_is_refused(peer, net):
    net.tcp()
    conn = peer.wait_connection(SOON)
    from harness.peer import PeerError

    with pytest.raises(PeerError) as e:
        peer.release(conn)
    assert e.value.status == 409 and "not held" in e.value.reason


# -- close -----------------------------------------------------------------------------------
def test_close_after_n_bytes(peer, net):
    peer.set_mode("close", proto="tcp", after_bytes=100)
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    s.sendall(b"a" * 60)
    assert peer.wait_bytes(conn, 60, SOON).ended is Ended.OPEN
    s.sendall(b"b" * 40)
    assert net.recv_eof(s) == b""  # nothing echoed, then FIN
    st = peer.wait_ended(conn, SOON)
    assert st.ended is Ended.WE_CLOSED and st.bytes_in == 100 and st.bytes_out == 0


def test_close_after_t_module_seconds(peer, net, clock):
    peer.set_mode("close", proto="tcp", after=5.0)
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    assert net.recv_eof(s) == b""
    st = peer.wait_ended(conn, SOON)
    assert st.ended is Ended.WE_CLOSED
    assert st.closed_module - st.opened_module >= 5.0  # never before its time
    assert st.closed - st.opened >= clock.to_wall(5.0)


def test_close_with_reset(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    peer.set_mode("close", conn=conn, how="reset")
    s.settimeout(net.clock.to_wall(SOON))
    with pytest.raises(ConnectionResetError):
        s.recv(10)
    assert peer.stats(conn).ended is Ended.WE_RESET


def test_udp_close_ends_the_flow_and_the_next_datagram_starts_a_new_one(peer, net):
    peer.set_mode("close", proto="udp", after_bytes=3)
    u = net.udp()
    u.send(b"abc")
    first = peer.wait_connection(SOON, proto="udp")
    assert peer.wait_ended(first, SOON).ended is Ended.WE_CLOSED
    peer.set_mode("echo", proto="udp")
    u.send(b"again")
    assert u.recv(64) == b"again"
    second = peer.wait_connection(SOON, proto="udp")
    assert second.id > first.id and second.mode == "echo"


# -- push ------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"CLOSED", b"\r\n+PDP DEACT\r\n", os.urandom(36)])
def test_push_on_connect_then_echo(peer, net, data):
    peer.set_mode("push", proto="tcp", data=data)
    s = net.tcp()
    assert net.recv_exactly(s, len(data)) == data
    s.sendall(b"ping")
    assert net.recv_exactly(s, 4) == b"ping"
    conn = peer.wait_connection(SOON)
    st = peer.wait_bytes(conn, 4, SOON)
    assert st.mode == "echo" and st.sha256_out == sha256_hex(data + b"ping")


def test_push_on_command_binary_with_ctrl_z(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    data = bytes(range(256)) + bytes([CTRL_Z, ESC, CTRL_Z])
    peer.push(conn, data)
    assert net.recv_exactly(s, len(data)) == data
    st = peer.stats(conn)
    assert st.bytes_out == len(data) and st.sha256_out == sha256_hex(data)


def test_push_after_a_delay_then_close(peer, net):
    peer.set_mode("push", proto="tcp", data=b"CLOSED", delay=10.0, then="close")
    s = net.tcp()
    assert net.recv_eof(s) == b"CLOSED"
    st = peer.wait_ended(peer.wait_connection(SOON), SOON)
    assert st.ended is Ended.WE_CLOSED
    assert st.first_byte_module - st.opened_module >= 10.0  # not before the delay


def test_push_then_hold_keeps_the_window_small(peer, net):
    peer.set_mode("push", proto="tcp", data=b"go", then="hold")
    s = net.tcp()
    assert net.recv_exactly(s, 2) == b"go"
    conn = peer.wait_connection(SOON)
    s.setblocking(False)
    s.send(os.urandom(8 * 1024))
    net.wait_until(lambda: net.outq(s) > SEND_WINDOW_BYTES, "TIOCOUTQ above the window")
    assert peer.stats(conn).mode == "hold"


def test_udp_push_on_first_datagram_and_on_command(peer, net):
    peer.set_mode("push", proto="udp", data=b"hello module", then="sink")
    u = net.udp()
    u.send(b"hi")
    assert u.recv(64) == b"hello module"
    conn = peer.wait_connection(SOON, proto="udp")
    peer.push(conn, b"\x1a\x1b")
    assert u.recv(64) == b"\x1a\x1b"
    st = peer.stats(conn)
    assert st.datagrams_out == 2 and st.bytes_in == 2 and st.mode == "sink"


# -- silent ----------------------------------------------------------------------------------
def test_tcp_silent_accepts_and_never_reads(peer, net):
    peer.set_mode("silent", proto="tcp")
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    s.sendall(b"x" * 1000)
    st = net.wait_until(
        lambda: (st := peer.stats(conn)).unread == 1000 and st, "1000 bytes unread at the peer"
    )
    assert st.bytes_in == 0 and st.bytes_out == 0 and st.mode == "silent"
    s.setblocking(False)
    with pytest.raises(BlockingIOError):
        s.recv(1)
    peer.set_mode("echo", conn=conn)  # switching mode reads again
    s.setblocking(True)
    assert net.recv_exactly(s, 1000) == b"x" * 1000


def test_udp_silent_counts_but_never_answers(peer, net):
    peer.set_mode("silent", proto="udp")
    u = net.udp()
    u.send(b"anyone?")
    st = peer.wait_bytes(peer.wait_connection(SOON, proto="udp"), 7, SOON)
    assert st.bytes_out == 0
    u.setblocking(False)
    with pytest.raises(BlockingIOError):
        u.recv(64)


# -- idle timeout ---------------------------------------------------------------------------
IDLE = 25.0  # module seconds: half a wall second at the test scale


def test_idle_timeout_is_off_by_default(server):
    assert server.limits.idle_timeout is None
    with urllib.request.urlopen(server.control_url + "/info", timeout=10) as answer:
        assert json.load(answer)["idle_timeout"] is None


def test_idle_connections_end_and_activity_keeps_them_open(clock):
    """Finding: the data port had no idle timeout; idle connections stayed for good."""
    with PeerServer(clock=clock, idle_timeout=IDLE) as server:
        net = Net(server, clock)
        peer = PeerControl(server.control_url, clock=clock)
        try:
            quiet = net.tcp()
            first = peer.wait_connection(SOON)
            busy = net.tcp()
            second = peer.wait_connection(SOON)
            clock.sleep(IDLE / 2)
            busy.sendall(b"still here")  # restarts its idle time
            assert net.recv_exactly(busy, 10) == b"still here"
            u = net.udp()
            u.send(b"u")
            assert u.recv(4) == b"u"
            flow = peer.wait_connection(SOON, proto="udp")
            ended = [peer.wait_ended(c, SOON) for c in (first, second, flow)]
            assert [st.ended for st in ended] == [Ended.IDLE] * 3
            for st in ended:  # never before the timeout after its last byte
                assert st.closed_module - (st.last_byte_module or st.opened_module) >= IDLE * 0.99
            assert ended[1].closed_module - ended[1].opened_module >= IDLE * 1.49
            with pytest.raises(ConnectionResetError):
                net.recv_exactly(quiet, 1)
        finally:
            net.close()


def test_a_control_request_on_a_connection_counts_as_activity(clock):
    with PeerServer(clock=clock, idle_timeout=IDLE) as server:
        net = Net(server, clock)
        peer = PeerControl(server.control_url, clock=clock)
        try:
            net.tcp()
            conn = peer.wait_connection(SOON)
            clock.sleep(IDLE / 2)
            peer.set_mode("sink", conn=conn)
            touched = clock.now()
            st = peer.wait_ended(conn, SOON)
            assert st.ended is Ended.IDLE and st.closed_module >= touched + IDLE * 0.99
        finally:
            net.close()
