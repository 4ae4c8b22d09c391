"""Fixtures for the peer tests: a started PeerServer on loopback, its PeerControl, socket helpers.

Everything runs on 127.0.0.1 with a small clock scale, so module-second waits cost little wall
time; every wait is on a condition with a deadline.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
from collections.abc import Callable

import pytest

from harness.clock import Clock
from harness.peer import PeerControl, PeerServer

#: Module seconds → wall: 0.02 makes a 250 s wait at most 5 s of wall time.
PEER_TEST_SCALE = 0.02
#: A generous module-second budget for anything that should happen "at once".
SOON = 250.0
#: Module seconds between looks at a condition (10 ms of wall time).
POLL = 0.5
TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
def clock() -> Clock:
    return Clock(PEER_TEST_SCALE)


@pytest.fixture
def server(clock):
    """A peer on 127.0.0.1 (ephemeral ports), no token; stopped after the test."""
    srv = PeerServer(clock=clock).start()
    yield srv
    srv.stop()


@pytest.fixture
def peer(server, clock) -> PeerControl:
    return PeerControl(server.control_url, clock=clock)


@pytest.fixture
def token_server(clock):
    srv = PeerServer(token=TOKEN, clock=clock).start()
    yield srv
    srv.stop()


class Net:
    """Socket helpers with module-second timeouts on the test clock."""

    def __init__(self, server: PeerServer, clock: Clock) -> None:
        self.server = server
        self.clock = clock
        self._socks: list[socket.socket] = []

    def tcp(self) -> socket.socket:
        s = socket.create_connection(self.server.address, timeout=self.clock.to_wall(SOON))
        self._socks.append(s)
        return s

    def udp(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(self.clock.to_wall(SOON))
        s.connect(self.server.address)
        self._socks.append(s)
        return s

    def recv_exactly(self, sock: socket.socket, n: int) -> bytes:
        sock.settimeout(self.clock.to_wall(SOON))
        out = bytearray()
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise AssertionError(f"EOF after {len(out)} of {n} bytes")
            out += chunk
        return bytes(out)

    def recv_eof(self, sock: socket.socket) -> bytes:
        """Everything until the peer closes (EOF)."""
        sock.settimeout(self.clock.to_wall(SOON))
        out = bytearray()
        while chunk := sock.recv(65536):
            out += chunk
        return bytes(out)

    def wait_until(self, condition: Callable[[], object], what: str, timeout: float = SOON):
        deadline = self.clock.deadline(timeout)
        while True:
            value = condition()
            if value:
                return value
            if deadline.expired:
                raise AssertionError(f"not within {timeout} module s: {what}")
            self.clock.sleep(POLL)

    @staticmethod
    def outq(sock: socket.socket) -> int:
        """Bytes sent but not yet acknowledged by the peer (Linux SIOCOUTQ)."""
        return struct.unpack("i", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0\0\0\0"))[0]

    def close(self) -> None:
        for s in self._socks:
            s.close()


@pytest.fixture
def net(server, clock):
    helper = Net(server, clock)
    yield helper
    helper.close()
