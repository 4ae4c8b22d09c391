"""One TCP or UDP link of the module: a real loopback socket and the module's accounting of it.

QISACK's numbers are real: `sent` is what QISEND handed over, `unacked()` is the kernel's
not-yet-acknowledged count (SIOCOUTQ) plus what the simulated network still holds (a NAT drop,
a slow network). A reader thread posts `("data", bytes)` and `("closed", b"")` to the module.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import struct
import termios
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.clock import Clock
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
        post: Callable[[Session, str, bytes], None],
    ) -> None:
        self.link = link
        self.proto = proto
        self.route = route
        self.clock = clock
        self._post = post
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
        self._pending = bytearray()  # bytes the kernel did not take yet
        self._lock = threading.Lock()
        self._room = threading.Event()
        self._room.set()
        self._wake_r, self._wake_w = os.pipe()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<Session {self.link} {self.proto} {self.route.ip}:{self.route.port} {self.state}>"

    # -- opening --------------------------------------------------------------------------------
    def connect(self, read: bool = True) -> str:
        """Dial the loopback target (blocking; call off the module thread): "ok" or "refused".

        `read=False` posts nothing until `start_reading()`: the module reports the connection
        (CONNECT OK) before any data or CLOSED that arrived on it.
        """
        assert self.route.target is not None, "unreachable routes are never dialled"
        kind = socket.SOCK_STREAM if self.proto == "TCP" else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET, kind)
        try:
            loopback_connect(sock, self.route.target)
        except OSError:
            sock.close()
            return "refused"
        sock.setblocking(False)
        self.sock = sock
        if read:
            self.start_reading()
        return "ok"

    def start_reading(self) -> None:
        """Start the reader thread (once): data and the peer's close are posted from now on."""
        if self._thread is not None or self.sock is None or self._stopped:
            return
        self._thread = threading.Thread(
            target=self._read_loop, name=f"sim-link-{self.link}", daemon=True
        )
        self._thread.start()

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
        with self._lock:
            if not self._pending:
                try:
                    data = data[sock.send(data) :]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    return  # UDP to a closed port (ICMP), or the peer reset: the data is gone
            self._pending += data
        if data:
            self._wake()

    def unacked(self) -> int:
        """Bytes handed over and not yet acknowledged by the peer (SIOCOUTQ + held + queued)."""
        outq = 0
        sock = self.sock
        if sock is not None and self.proto == "TCP" and self.state != "CLOSED":
            with contextlib.suppress(OSError, ValueError):
                raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
                outq = struct.unpack("i", raw)[0]
        with self._lock:
            queued = len(self._pending)
        return min(self.sent, outq + queued + len(self.held))

    # -- receiving ------------------------------------------------------------------------------
    def set_room(self, room: bool) -> None:
        """Whether the module's receive buffer can take more (False: stop reading the socket)."""
        if room:
            self._room.set()
            self._wake()
        else:
            self._room.clear()

    # -- ending ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket (the peer sees FIN) and stop the reader."""
        self._stop_reader()
        self.state = "CLOSED"
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()

    def abandon(self) -> socket.socket | None:
        """Stop reading but leave the socket open (power lost: the peer sees nothing)."""
        self._stop_reader()
        self.state = "CLOSED"
        sock, self.sock = self.sock, None
        return sock

    def _stop_reader(self) -> None:
        self._stopped = True
        self._room.set()
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _read_loop(self) -> None:
        sock = self.sock
        assert sock is not None
        while not self._stopped:
            with self._lock:
                want_write = bool(self._pending)
            readers = [self._wake_r] + ([sock] if self._room.is_set() else [])
            try:
                readable, writable, _ = select.select(readers, [sock] if want_write else [], [])
            except (OSError, ValueError):
                return
            if self._stopped:
                return
            if self._wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
            if sock in writable:
                self._flush(sock)
            if sock in readable:
                try:
                    data = sock.recv(READ_SIZE)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionRefusedError:
                    if self.proto == "UDP":
                        continue  # ICMP port unreachable for an earlier datagram
                    data = b""
                except OSError:
                    data = b""
                if data or self.proto == "UDP":
                    if data:
                        self._post(self, "data", data)
                    continue
                self._post(self, "closed", b"")
                return

    def _flush(self, sock: socket.socket) -> None:
        with self._lock:
            try:
                del self._pending[: sock.send(bytes(self._pending))]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._pending.clear()
