"""PeerServer start-up and shutdown, and its refusal to expose the control channel without a token.

Non-loopback addresses (0.0.0.0) appear only to check the refusal: nothing is bound or sent there.
"""

from __future__ import annotations

import socket

import pytest

from harness.peer import PeerControl, PeerServer, PeerStartError

TOKEN = "test-token-0123456789abcdef"
pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.0.2.1", "::", "peer.example"])
def test_refuses_to_start_off_loopback_without_a_token(host, clock):
    with pytest.raises(PeerStartError, match="needs a token"):
        PeerServer(control=(host, 0), clock=clock)


def test_short_token_is_refused(clock):
    with pytest.raises(PeerStartError, match="at least 16"):
        PeerServer(token="short", clock=clock)


def test_loopback_with_a_token_requires_it(token_server, clock):
    assert token_server.token_required
    assert PeerControl(token_server.control_url, TOKEN, clock).info().token_required


def test_port_in_use_is_a_clear_error(clock):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PeerStartError, match=rf"127\.0\.0\.1:{port} is already in use"):
            PeerServer(listen=("127.0.0.1", port), clock=clock).start()
        with pytest.raises(PeerStartError, match=r"control channel .* already in use"):
            PeerServer(control=("127.0.0.1", port), clock=clock).start()


def test_tcp_and_udp_share_the_port_and_stop_frees_it(clock):
    server = PeerServer(clock=clock).start()
    host, port = server.address
    assert server.udp_address == (host, port)
    assert server.control_url == f"http://127.0.0.1:{server.control_address[1]}"
    with pytest.raises(RuntimeError, match="already started"):
        server.start()
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=5)
    again = PeerServer(listen=(host, port), clock=clock).start()  # the port is free again
    again.stop()


def test_context_manager(clock):
    with PeerServer(clock=clock) as server:
        assert PeerControl(server.control_url, clock=clock).info().listening["tcp"]
