"""One TCP connection or one UDP remote address, behaving in its mode.

`Session` holds what both share (echo, sink, hold, close, push, silent and their timers);
`TcpSession` is an asyncio protocol that can stop reading, `UdpFlow` rides on the shared socket.
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import termios
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.clock import stamp
from harness.peer.errors import RequestError
from harness.peer.modes import ECHO, ModeSpec
from harness.peer.stats import ConnStats, Ended, Record

if TYPE_CHECKING:
    from harness.peer.core import Peer

#: Bytes that may wait for one connection (unsent, and pushes not yet due) before a push is
#: refused (409).
MAX_BUFFERED = 4 * 1024 * 1024
#: After our FIN (close mode) we keep reading until the module closes its side, at most this
#: many module seconds; then the socket is dropped.
CLOSE_LINGER = 40.0
#: Largest UDP payload over IPv4.
MAX_DATAGRAM = 65507
_READING = ("echo", "sink", "close")


class Session:
    """Mode logic shared by TCP connections and UDP flows; lives on the server's event loop."""

    proto = ""

    def __init__(self, peer: Peer, record: Record) -> None:
        self.peer = peer
        self.record = record
        self.spec: ModeSpec = ECHO
        self.before_hold: ModeSpec = ECHO
        self._close_left: int | None = None
        self._mode_timers: set[asyncio.TimerHandle] = set()
        self._push_timers: set[asyncio.TimerHandle] = set()
        self.pending = 0  # bytes of pushes not yet due
        self.active_ns = stamp()  # the last byte either way, or control request on it
        self._idle: asyncio.TimerHandle | None = None

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def is_open(self) -> bool:
        return self.record.ended is Ended.OPEN

    # -- what a mode does -----------------------------------------------------------------
    def acting(self) -> str:
        """The behaviour for arriving bytes: a push acts like its `then` (close → sink)."""
        mode = self.spec.mode
        if mode == "push":
            return "sink" if self.spec.then == "close" else self.spec.then
        return mode

    def apply(self, spec: ModeSpec) -> None:
        """Switch to `spec` now (also the first mode of a new connection)."""
        self._cancel(self._mode_timers)
        if (spec.holds or spec.mode == "silent") and self.spec.mode in _READING:
            self.before_hold = self.spec if self.spec.mode != "close" else ECHO
        self.spec = spec
        self.record.mode = spec.mode
        self._set_buffer(small=spec.holds)
        if spec.mode == "close":
            self._arm_close(spec)
        elif spec.mode == "push":
            self._later(spec.delay, self._mode_push, self._mode_timers)
        self._update_reading()

    def release(self, mode: ModeSpec | None) -> None:
        if not (self.spec.holds or self.spec.mode == "silent"):
            raise RequestError(
                409, f"connection {self.id} is not held (mode {self.spec.mode}): nothing to release"
            )
        self.apply(mode or self.before_hold)

    def _arm_close(self, spec: ModeSpec) -> None:
        self._close_left = spec.after_bytes
        if (spec.after_bytes is None and spec.after is None) or spec.after_bytes == 0:
            self.close_now(spec.how)
            return
        if spec.after is not None:
            self._later(spec.after, lambda: self.close_now(spec.how), self._mode_timers)

    def _mode_push(self) -> None:
        if not self.is_open or self.spec.mode != "push":
            return
        spec = self.spec
        self.send(spec.data)
        self.peer.log(f"{self.proto} #{self.id} pushed {len(spec.data)} B")
        self.apply(ModeSpec("close") if spec.then == "close" else ModeSpec(spec.then))

    def on_data(self, data: bytes, t_ns: int) -> None:
        self.active_ns = t_ns
        self.record.received(data, t_ns, datagram=self.proto == "udp")
        acting = self.acting()
        if acting == "echo":
            self.send(data)
        elif acting == "close" and self._close_left is not None and self.is_open:
            self._close_left -= len(data)
            if self._close_left <= 0:
                self.close_now(self.spec.how)
        self.peer.notify()

    # -- pushing on command ---------------------------------------------------------------
    def push(self, data: bytes, delay: float) -> None:
        if not self.is_open:
            raise RequestError(
                409, f"connection {self.id} has ended ({self.record.ended})", "connection ended"
            )
        waiting = self.unsent() + self.pending
        if waiting + len(data) > MAX_BUFFERED:
            raise RequestError(
                409,
                f"connection {self.id} already has {waiting} B waiting to be sent (unsent, or "
                f"pushes not yet due); at most {MAX_BUFFERED} B may wait",
                "too much unsent",
            )
        self.pending += len(data)
        self._later(delay, lambda: self._command_push(data), self._push_timers)

    def _command_push(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.is_open:
            self.send(data)
            self.peer.notify()

    # -- idle -----------------------------------------------------------------------------
    def touch(self) -> None:
        """A control request acted on this connection: it is not idle."""
        self.active_ns = stamp()

    def watch_idle(self) -> None:
        """End this connection after the peer's idle timeout without a byte either way."""
        timeout = self.peer.limits.idle_timeout
        if timeout is None or not self.is_open:
            return
        left = timeout - self.peer.clock.since(self.active_ns)
        if left <= 0:
            r = self.record
            self.peer.log(
                f"{r.proto} #{r.id} {r.remote[0]}:{r.remote[1]} idle for {timeout:g} s: ended"
            )
            self.end_now(Ended.IDLE)
            return
        self._idle = self.peer.loop.call_later(self.peer.clock.to_wall(left), self.watch_idle)

    # -- timers ---------------------------------------------------------------------------
    def _later(
        self, module_seconds: float, fn: Callable[[], object], bucket: set[asyncio.TimerHandle]
    ) -> None:
        """Run `fn` after `module_seconds` on the peer's clock (at once if 0); cancellable."""
        if module_seconds <= 0:
            fn()
            return

        def fire() -> None:
            bucket.discard(handle)
            fn()

        handle = self.peer.loop.call_later(self.peer.clock.to_wall(module_seconds), fire)
        bucket.add(handle)

    @staticmethod
    def _cancel(timers: set[asyncio.TimerHandle]) -> None:
        for handle in timers:
            handle.cancel()
        timers.clear()

    def cancel_timers(self) -> None:
        self._cancel(self._mode_timers)
        self._cancel(self._push_timers)
        self.pending = 0
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    # -- per protocol ---------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def close_now(self, how: str = "fin") -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def end_now(self, why: Ended) -> None:
        """End at once for a reason of the server's own (idle, evicted), with RST on TCP."""
        raise NotImplementedError

    def unsent(self) -> int:
        return 0

    def _update_reading(self) -> None:
        pass

    def _set_buffer(self, small: bool) -> None:
        pass

    def snapshot(self) -> ConnStats:
        return self.record.snapshot(unsent=self.unsent())


class TcpSession(Session, asyncio.Protocol):
    """A TCP connection: reading stops in hold/silent, so the module's unacknowledged bytes grow."""

    proto = "tcp"

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        #: Counted by the peer: `Session.__init__` ran in `connection_made` and set `record`.
        self.counted = False
        self.source = ""  # the remote IP address, once counted
        self.transport: asyncio.Transport | None = None
        self._reading = True
        self._write_paused = False
        self._small_buffer = False

    # -- asyncio callbacks ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        spec_record = self.peer.tcp_connected(self, transport)
        if spec_record is None:  # over a limit of open connections
            self._linger_zero()  # RST: no TIME_WAIT left behind for a flood
            transport.abort()
            return
        spec, record = spec_record
        Session.__init__(self, self.peer, record)
        self.counted = True
        self._small_buffer = self._rcvbuf() < self.peer.default_rcvbuf
        self.apply(spec)
        self.watch_idle()

    def data_received(self, data: bytes) -> None:
        if self.counted:
            self.on_data(data, stamp())

    def eof_received(self) -> bool:
        if self.counted and self.record.end(Ended.PEER_CLOSED):
            self.peer.ended(self)
        return False  # close our side too, once what we echoed is flushed

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.counted:  # aborted before it was counted
            return
        if self.record.end(Ended.RESET if exc is not None else Ended.WE_CLOSED):
            self.peer.ended(self)
        self.cancel_timers()
        self.peer.gone(self)

    def pause_writing(self) -> None:  # the module is not reading our echo: stop reading too
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._update_reading()

    # -- mode mechanics -------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        self.active_ns = stamp()
        self.record.sent(data, self.active_ns)

    def close_now(self, how: str = "fin") -> None:
        """Our close: FIN and keep reading until the module closes too, or RST at once."""
        if self.transport is None or not self.is_open:
            return
        if how == "reset":
            self.record.end(Ended.WE_RESET)
            self._linger_zero()
            self.transport.abort()
        else:
            self.record.end(Ended.WE_CLOSED)
            # Closing a socket with unread bytes makes Linux send RST instead of FIN, so half
            # close and keep draining until the module answers our FIN (it prints CLOSED).
            self.transport.write_eof()
            self._later(CLOSE_LINGER, self.abort, self._push_timers)
        self.peer.ended(self)
        self._update_reading()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def end_now(self, why: Ended) -> None:
        ended = self.record.end(why)
        self._linger_zero()
        self.abort()
        if ended:
            self.peer.ended(self)

    def unsent(self) -> int:
        return 0 if self.transport is None else self.transport.get_write_buffer_size()

    def unread(self) -> int | None:
        sock = self._sock()
        if sock is None or sock.fileno() < 0:
            return None
        try:
            return struct.unpack("i", fcntl.ioctl(sock, termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            return None

    def snapshot(self) -> ConnStats:
        return self.record.snapshot(unread=self.unread(), unsent=self.unsent())

    def _update_reading(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        ended_by_us = self.record.ended in (Ended.WE_CLOSED, Ended.WE_RESET)
        want = (self.acting() in _READING or ended_by_us) and not self._write_paused
        if want and not self._reading:
            self.transport.resume_reading()
        elif not want and self._reading:
            self.transport.pause_reading()
        self._reading = want

    def _set_buffer(self, small: bool) -> None:
        # Hold armed before the connection: the listener's small SO_RCVBUF was inherited, so
        # the advertised window was small from the handshake on (SEND-WINDOW, KEEP-CHECK).
        # Hold on an established connection only stops reading: the window already advertised
        # cannot be taken back, and shrinking the buffer now clamps the window for good (Linux
        # did not regrow it on loopback after release), so the buffer is left alone.
        if not small and self._small_buffer:
            self._setsockopt_rcvbuf(self.peer.normal_rcvbuf // 2)
            self._small_buffer = False

    def _rcvbuf(self) -> int:
        sock = self._sock()
        if sock is None:
            return self.peer.normal_rcvbuf
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def _setsockopt_rcvbuf(self, size: int) -> None:
        sock = self._sock()
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            except OSError:
                pass

    def _linger_zero(self) -> None:
        sock = self._sock()
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass

    def _sock(self) -> socket.socket | None:
        return None if self.transport is None else self.transport.get_extra_info("socket")


class UdpFlow(Session):
    """Datagrams from one remote address; hold and silent never answer (UDP has no window)."""

    proto = "udp"

    def __init__(self, peer: Peer, record: Record, addr: tuple) -> None:
        super().__init__(peer, record)
        self.addr = addr

    def send(self, data: bytes) -> None:
        transport = self.peer.udp_transport
        if transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size() > MAX_BUFFERED:  # the OS is not taking datagrams
            self.peer.log(f"udp #{self.id}: {len(data)} B not sent, send buffer full")
            return
        transport.sendto(data, self.addr)
        self.active_ns = stamp()
        self.record.sent(data, self.active_ns, datagram=True)

    def push(self, data: bytes, delay: float) -> None:
        if self.peer.udp_transport is None:
            raise RequestError(409, "the UDP port is closed (refuse): reset() or set a mode first")
        if len(data) > MAX_DATAGRAM:
            raise RequestError(
                400, f"{len(data)} B do not fit in one datagram (at most {MAX_DATAGRAM})"
            )
        super().push(data, delay)

    def close_now(self, how: str = "fin") -> None:
        """UDP has no close: the flow ends, and the next datagram from there starts a new one."""
        self.end_now(Ended.WE_CLOSED)

    def end_now(self, why: Ended) -> None:
        if self.record.end(why):
            self.peer.ended(self)
        self.cancel_timers()
        self.peer.gone(self)

    def abort(self) -> None:
        self.close_now()
