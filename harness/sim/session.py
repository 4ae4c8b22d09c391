"""One TCP or UDP link of the module: a real loopback socket and the module's accounting of it.

QISACK's numbers are real: `sent` is what QISEND handed over, `unacked()` is the kernel's
not-yet-acknowledged count (SIOCOUTQ) plus what the simulated network still holds (a NAT drop,
a slow network). The socket lives on the module's loop: `dial()` connects without blocking it,
and once reading, `on_event(session, "data", bytes)` / `(session, "closed", b"")` are called there.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import termios
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.clock import Clock
from harness.sim.loop import Future, Loop
from harness.sim.net import Route, loopback_connect

#: Largest read from the socket in one go (one UDP datagram at most).
READ_SIZE = 65535


class Session:
    """A link: `link` index, "TCP"/"UDP", the dialled `route`; the socket once connected."""

    def __init__(
        self,
        link: int,
        proto: str,
        route: Route,
        clock: Clock,
        loop: Loop,
        on_event: Callable[[Session, str, bytes], None],
    ) -> None:
        self.link = link
        self.proto = proto
        self.route = route
        self.clock = clock
        self._loop = loop
        self._on_event = on_event
        self.sock: socket.socket | None = None
        self.sent = 0  # bytes handed over by QISEND
        self.held = bytearray()  # bytes the simulated network has not let through
        self.rx: deque[bytes] = deque()  # received, waiting for AT+QIRD
        self.rx_bytes = 0
        self.rx_announced = False  # a +QIRDI went out for what is buffered
        self.state = "CONNECTING"  # CONNECTING, CONNECTED, CLOSED
        self.peer_closed = False
        self.nat_dropped = False
        self.last_activity = 0.0  # module seconds (clock.now()) of the last byte either way
        self.nat_timer: Any = None  # the simulated gateway's idle timer (receive.arm_nat)
        self.task: Any = None  # the connect task while CONNECTING
        self._dialling: socket.socket | None = None  # a TCP handshake in progress
        self._pending = bytearray()  # bytes the kernel did not take yet
        self._reading = False  # start_reading() was called
        self._room = True  # the module's receive buffer can take more
        self._stopped = False

    def __repr__(self) -> str:
        return f"<Session {self.link} {self.proto} {self.route.ip}:{self.route.port} {self.state}>"

    # -- opening --------------------------------------------------------------------------------
    def dial(self, read: bool = True) -> Future:
        """Connect to the loopback target without blocking the module; the Future's value is
        "ok" or "refused" (a full listen backlog only makes it wait).

        `read=False` reports nothing until `start_reading()`: the module reports the connection
        (CONNECT OK) before any data or CLOSED that arrived on it.
        """
        assert self.route.target is not None, "unreachable routes are never dialled"
        future = Future()
        kind = socket.SOCK_STREAM if self.proto == "TCP" else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET, kind)
        sock.setblocking(False)
        try:
            loopback_connect(sock, self.route.target)
        except BlockingIOError:  # the handshake goes on: writable once it is done
            self._dialling = sock
            self._loop.add_writer(sock.fileno(), lambda: self._dialled(sock, future, read))
            return future
        except OSError:
            sock.close()
            future.set("refused")
            return future
        except BaseException:  # NotLoopback: the simulator's bug, reported by the loop
            sock.close()
            raise
        self._connected(sock, read)
        future.set("ok")
        return future

    def _dialled(self, sock: socket.socket, future: Future, read: bool) -> None:
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if not error:
            try:
                sock.getpeername()
            except OSError:
                return  # not connected yet (a descriptor reused under a stale event): wait on
        self._loop.remove_writer(sock.fileno())
        self._dialling = None
        if error:
            sock.close()
            future.set("refused")
            return
        self._connected(sock, read)
        future.set("ok")

    def _connected(self, sock: socket.socket, read: bool) -> None:
        self.sock = sock
        if self._stopped:
            return
        if read:
            self.start_reading()

    def start_reading(self) -> None:
        """Report data and the peer's close from now on (once)."""
        if self._reading or self.sock is None or self._stopped:
            return
        self._reading = True
        if self._room:
            self._loop.add_reader(self.sock.fileno(), self._readable)

    # -- sending --------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Hand bytes to the network (the kernel, or the simulated network's hold)."""
        self.sent += len(data)
        if self.nat_dropped:
            self.held += data  # the gateway forgot the port: nothing reaches the peer
            return
        self._transmit(data)

    def hold(self, data: bytes) -> None:
        """Count bytes as sent but keep them back (a slow network); `release()` lets them go."""
        self.sent += len(data)
        self.held += data

    def release(self, count: int) -> None:
        """Let the oldest `count` held bytes go (unless the gateway has since dropped the port)."""
        if self.nat_dropped:
            return
        data = bytes(self.held[:count])
        del self.held[:count]
        self._transmit(data)

    def _transmit(self, data: bytes) -> None:
        sock = self.sock
        if sock is None or self.state == "CLOSED" or not data:
            return
        if not self._pending:
            try:
                data = data[sock.send(data) :]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                return  # UDP to a closed port (ICMP), or the peer reset: the data is gone
        if data:
            self._pending += data
            self._loop.add_writer(sock.fileno(), self._flush)

    def _flush(self) -> None:
        sock = self.sock
        if sock is None:
            return
        try:
            del self._pending[: sock.send(bytes(self._pending))]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._pending.clear()
        if not self._pending:
            self._loop.remove_writer(sock.fileno())

    def unacked(self) -> int:
        """Bytes handed over and not yet acknowledged by the peer (SIOCOUTQ + held + queued)."""
        outq = 0
        sock = self.sock
        if sock is not None and self.proto == "TCP" and self.state != "CLOSED":
            with contextlib.suppress(OSError, ValueError):
                raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
                outq = struct.unpack("i", raw)[0]
        return min(self.sent, outq + len(self._pending) + len(self.held))

    # -- receiving ------------------------------------------------------------------------------
    def set_room(self, room: bool) -> None:
        """Whether the module's receive buffer can take more (False: stop reading the socket)."""
        self._room = room
        sock = self.sock
        if sock is None or not self._reading or self._stopped:
            return
        if room:
            self._loop.add_reader(sock.fileno(), self._readable)
        else:
            self._loop.remove_reader(sock.fileno())

    def _readable(self) -> None:
        sock = self.sock
        if sock is None or self._stopped:
            return
        try:
            data = sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionRefusedError:
            if self.proto == "UDP":
                return  # ICMP port unreachable for an earlier datagram
            data = b""
        except OSError:
            data = b""
        if data:
            self._on_event(self, "data", data)
        elif self.proto == "TCP":
            self._loop.remove_reader(sock.fileno())
            self._reading = False
            self._on_event(self, "closed", b"")

    # -- ending ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket (the peer sees FIN) and stop reading."""
        self._stop()
        self.state = "CLOSED"
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()

    def abandon(self) -> socket.socket | None:
        """Stop reading but leave the socket open (power lost: the peer sees nothing)."""
        self._stop()
        self.state = "CLOSED"
        sock, self.sock = self.sock, None
        return sock

    def _stop(self) -> None:
        self._stopped = True
        if self.sock is not None:
            self._loop.remove_reader(self.sock.fileno())
            self._loop.remove_writer(self.sock.fileno())
        dialling, self._dialling = self._dialling, None
        if dialling is not None:  # the connect dies with its link
            self._loop.remove_writer(dialling.fileno())
            dialling.close()
