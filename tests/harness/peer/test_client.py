"""PeerControl: typed errors, tokens, URL handling and the waits it builds on long polls."""

from __future__ import annotations

import socket

import pytest

from harness.peer import PeerControl, PeerError, PeerTimeout, PeerUnreachable

SOON = 250.0
TOKEN = "test-token-0123456789abcdef"
pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_names_the_url_and_modemcert_peer(clock):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PeerUnreachable) as e:
        PeerControl(url, clock=clock).stats()
    message = str(e.value)
    assert url in message and "modemcert peer" in message and "refused" in message


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:7008", "127.0.0.1:7008", "http://:7008", ""])
def test_unusable_url(url):
    with pytest.raises(PeerError, match="not usable"):
        PeerControl(url)


def test_not_a_peer_is_said_so(clock):
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        import threading

        def answer():
            c, _ = srv.accept()
            with c:
                c.recv(65536)
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")

        t = threading.Thread(target=answer)
        t.start()
        with pytest.raises(PeerUnreachable, match="not JSON"):
            PeerControl(url, clock=clock).info()
        t.join()


def test_server_reason_and_status_are_kept(peer):
    with pytest.raises(PeerError) as e:
        peer.set_mode("bounce")
    assert e.value.status == 400 and "unknown mode 'bounce'" in e.value.reason
    assert "HTTP 400" in str(e.value) and peer.url in str(e.value)


def test_token_accepted_as_text_or_as_a_secret(token_server, clock):
    class Secret:  # what harness.rig hands out: never printed, revealed when used
        def reveal(self) -> str:
            return TOKEN

    for token in (TOKEN, Secret()):
        pc = PeerControl(token_server.control_url, token=token, clock=clock)
        assert pc.info().token_required is True
    with pytest.raises(PeerError) as e:
        PeerControl(token_server.control_url, clock=clock).info()
    assert e.value.status == 401
    with pytest.raises(PeerError) as e:
        PeerControl(token_server.control_url, token="x" * 20, clock=clock).reset()
    assert e.value.status == 401 and "wrong token" in e.value.reason


def test_wait_connection_timeout_is_typed(peer):
    with pytest.raises(PeerTimeout, match="since the last reset"):
        peer.wait_connection(3.0)


def test_wait_connection_longer_than_one_poll(peer, net, monkeypatch):
    from harness.peer import client

    monkeypatch.setattr(client, "POLL_WALL", 0.05)  # many short polls make up one wait
    with pytest.raises(PeerTimeout):
        peer.wait_connection(20.0)  # 0.4 s of wall time: about 8 polls
    net.tcp()
    assert peer.wait_connection(SOON).proto == "tcp"


def test_wait_ended_timeout(peer, net):
    net.tcp()
    conn = peer.wait_connection(SOON)
    with pytest.raises(PeerTimeout, match="still open"):
        peer.wait_ended(conn, 3.0)


def test_stats_of_one_and_of_all(peer, net):
    net.tcp()
    conn = peer.wait_connection(SOON)
    assert peer.stats(conn).id == conn.id == peer.stats(conn.id).id
    assert [s.id for s in peer.stats()] == [conn.id]


def test_url_with_a_path_prefix(server, clock):
    # A reverse proxy may mount the peer under a path; the client keeps it in front.
    pc = PeerControl(server.control_url + "/", clock=clock)
    assert pc.info().port == server.address[1]
