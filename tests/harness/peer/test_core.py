"""Listener and bookkeeping behaviour: refuse and reset, modes for the next connections, waits."""

from __future__ import annotations

import resource
import socket

import pytest

from harness.peer import Ended, PeerControl, PeerError, PeerServer, PeerTimeout
from harness.peer.guard import DATA_OPEN, DATA_PER_SOURCE, PeerLimits
from harness.peer.modes import MAX_PUSH
from harness.peer.sessions import MAX_BUFFERED

from .conftest import Net

SOON = 250.0
pytestmark = pytest.mark.timeout(60)


def test_refuse_then_reset_accepts_again(peer, net, server):
    kept = net.tcp()
    old = peer.wait_connection(SOON)
    peer.set_mode("refuse")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=net.clock.to_wall(SOON))
    assert peer.info().listening == {"tcp": False, "udp": False}
    kept.sendall(b"still here")  # refuse stops new connections only
    assert net.recv_exactly(kept, 10) == b"still here"
    peer.reset()
    s = net.tcp()
    s.sendall(b"back")
    assert net.recv_exactly(s, 4) == b"back"
    assert peer.wait_connection(SOON).id > old.id
    assert peer.info().listening == {"tcp": True, "udp": True}


def test_refuse_udp_gives_port_unreachable(peer, net):
    u = net.udp()
    u.send(b"warm")
    assert u.recv(16) == b"warm"
    peer.set_mode("refuse", proto="udp")
    assert peer.info().listening == {"tcp": True, "udp": False}
    u.send(b"anyone?")
    with pytest.raises(ConnectionRefusedError):
        u.recv(16)
    peer.set_mode("echo", proto="udp")  # any other mode for new connections listens again
    u.send(b"again")
    assert u.recv(16) == b"again"


def test_refuse_on_one_connection_is_a_usage_error(peer, net):
    net.tcp()
    conn = peer.wait_connection(SOON)
    with pytest.raises(PeerError) as e:
        peer.set_mode("refuse", conn=conn)
    assert e.value.status == 400 and "listener" in e.value.reason


def test_count_applies_to_the_next_connections_then_the_previous_mode(peer, net):
    peer.set_mode("sink", proto="tcp")
    peer.set_mode("silent", proto="tcp", count=2)
    modes = []
    for _ in range(3):
        net.tcp()
        modes.append(peer.wait_connection(SOON).mode)
    assert modes == ["silent", "silent", "sink"]
    armed = peer.info().armed["tcp"]
    assert armed["now"]["mode"] == "sink" and armed["next"] == []


def test_wait_connection_returns_each_new_connection_once_in_order(peer, net):
    net.tcp()
    net.tcp()
    first = peer.wait_connection(SOON, proto="tcp")
    second = peer.wait_connection(SOON, proto="tcp")
    assert second.id > first.id
    with pytest.raises(PeerTimeout, match="no new tcp connection"):
        peer.wait_connection(5.0, proto="tcp")


def test_wait_connection_after_a_mark_ignores_older_ones(peer, net):
    net.tcp()
    peer.wait_connection(SOON)
    mark = peer.mark()
    u = net.udp()
    u.send(b"x")
    new = peer.wait_connection(SOON, after=mark)
    assert new.proto == "udp" and new.id == mark + 1


def test_reset_forgets_ended_records_and_waits_start_after_it(peer, net):
    a = net.tcp()
    first = peer.wait_connection(SOON)
    b = net.tcp()
    second = peer.wait_connection(SOON)
    a.close()
    peer.wait_ended(first, SOON)
    peer.reset()
    ids = [s.id for s in peer.stats()]
    assert ids == [second.id]  # the ended one is forgotten, the open one kept
    with pytest.raises(PeerError) as e:
        peer.stats(first.id)
    assert e.value.status == 404
    with pytest.raises(PeerTimeout):
        peer.wait_connection(5.0)
    b.sendall(b"ok")
    assert net.recv_exactly(b, 2) == b"ok"


def test_reset_close_ends_open_connections(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    peer.reset(close=True)
    assert net.recv_eof(s) == b""
    assert peer.wait_ended(conn, SOON).ended is Ended.WE_CLOSED


def test_wait_bytes_fails_fast_when_the_connection_ends(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    s.sendall(b"12345")
    peer.wait_bytes(conn, 5, SOON)
    s.close()
    with pytest.raises(PeerError, match="ended") as e:
        peer.wait_bytes(conn, 10, SOON)
    assert not isinstance(e.value, PeerTimeout)


def test_wait_bytes_times_out_with_what_it_got(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    s.sendall(b"abc")
    with pytest.raises(PeerTimeout, match="received 3 of 4 bytes"):
        peer.wait_bytes(conn, 4, 5.0)


def test_push_to_an_ended_connection_is_a_conflict(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    s.close()
    peer.wait_ended(conn, SOON)
    with pytest.raises(PeerError) as e:
        peer.push(conn, b"late")
    assert e.value.status == 409 and "ended" in e.value.reason


def test_mode_of_one_connection_leaves_new_ones_alone(peer, net):
    net.tcp()
    conn = peer.wait_connection(SOON)
    peer.set_mode("sink", conn=conn)
    s = net.tcp()
    s.sendall(b"echo?")
    assert net.recv_exactly(s, 5) == b"echo?"
    assert peer.stats(conn).mode == "sink"


def test_server_stop_ends_connections(server, clock, net):
    s = net.tcp()
    server.stop()
    assert net.recv_eof(s) == b""
    server.stop()  # twice is fine


# -- hardening: one test per finding (each failed on the peer before it was hardened) ---------
def test_delayed_pushes_count_against_the_unsent_cap(peer, net):
    """Finding: 400 delayed pushes of 256 KiB were all accepted (the cap counted written bytes,
    not pushes still to come); memory grew 25 → 156 MB."""
    net.tcp()
    conn = peer.wait_connection(SOON)
    chunk = b"\x1a" * MAX_PUSH
    accepted = 0
    with pytest.raises(PeerError) as e:
        for _ in range(MAX_BUFFERED // MAX_PUSH + 5):
            peer.push(conn, chunk, delay=10_000.0)
            accepted += 1
    assert accepted == MAX_BUFFERED // MAX_PUSH
    assert e.value.status == 409 and "waiting to be sent" in e.value.reason
    assert peer.stats(conn).bytes_out == 0  # none is due yet
    peer.reset(close=True)  # ends the connection and drops what was still to come


def test_a_due_push_frees_its_room_under_the_cap(peer, net):
    s = net.tcp()
    conn = peer.wait_connection(SOON)
    for _ in range(3 * MAX_BUFFERED // MAX_PUSH):  # three caps' worth, each sent when due
        peer.push(conn, b"x" * MAX_PUSH, delay=0.5)
        assert len(net.recv_exactly(s, MAX_PUSH)) == MAX_PUSH


def test_many_connections_from_one_address_do_not_lock_out_another(clock):
    """Finding: the data port had no per-source limit; 1,000 idle connections from one host
    locked every other client out for as long as they stayed."""
    needed = 2 * DATA_OPEN + 200
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        pytest.skip(f"needs {needed} open files (ulimit -n) for {DATA_OPEN} connections")
    with PeerServer(clock=clock) as server:
        flood = []
        try:
            for _ in range(DATA_OPEN):
                try:
                    flood.append(socket.create_connection(server.address, timeout=10))
                except ConnectionResetError:
                    pass  # turned away so fast that the RST beat connect()'s return
            peer = PeerControl(server.control_url, clock=clock)
            net = Net(server, clock)
            wait_for(net, lambda: peer.info().open <= DATA_PER_SOURCE, "flood cut to the quota")
            with socket.socket() as other:
                other.settimeout(10)
                other.bind(("127.0.0.2", 0))
                other.connect(server.address)
                other.sendall(b"let me in")
                assert net.recv_exactly(other, 9) == b"let me in"
        finally:
            for s in flood:
                s.close()
        assert server.errors == []


def test_the_per_address_quota_counts_open_connections(clock):
    with PeerServer(clock=clock, limits=PeerLimits(data_per_source=2)) as server:
        net = Net(server, clock)
        peer = PeerControl(server.control_url, clock=clock)
        try:
            a, b = net.tcp(), net.tcp()
            first = peer.wait_connection(SOON)
            peer.wait_connection(SOON)
            with pytest.raises(ConnectionResetError):  # accepted by the kernel, reset by us
                over = net.tcp()  # the reset may beat connect()'s return
                net.recv_exactly(over, 1)
            a.close()
            peer.wait_ended(first, SOON)
            wait_for(net, lambda: peer.info().open == 1, "the closed one no longer counts")
            again = net.tcp()
            again.sendall(b"room again")
            assert net.recv_exactly(again, 10) == b"room again"
            b.sendall(b"b")
            assert net.recv_exactly(b, 1) == b"b"
        finally:
            net.close()


def test_udp_addresses_from_one_host_are_bounded_too(clock):
    with PeerServer(clock=clock, limits=PeerLimits(data_per_source=2)) as server:
        net = Net(server, clock)
        peer = PeerControl(server.control_url, clock=clock)
        try:
            flows = [net.udp() for _ in range(3)]
            for u in flows:
                u.send(b"hi")
                assert u.recv(16) == b"hi"
            ids = [peer.wait_connection(SOON, proto="udp").id for _ in flows]
            assert peer.stats(ids[0]).ended is Ended.EVICTED  # the oldest made room
            assert [peer.stats(i).open for i in ids[1:]] == [True, True]
        finally:
            net.close()


def wait_for(net, condition, what):
    return net.wait_until(condition, what)
