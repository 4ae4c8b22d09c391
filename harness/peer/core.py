"""The peer's data port on its event loop: TCP and UDP on one port, the modes armed for new
connections, each connection's session and record within the limits, and waiting for a change.

`PeerServer` runs it in a thread; what control requests do to it is harness/peer/requests.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from harness.clock import Clock, stamp
from harness.errors import HarnessBug
from harness.peer.addresses import LISTEN_BACKLOG, bind_tcp, bind_udp
from harness.peer.errors import PeerStartError, RequestError
from harness.peer.guard import Crowd, LogLimiter, PeerLimits
from harness.peer.modes import ECHO, PROTOS, ModeSpec
from harness.peer.sessions import Session, TcpSession, UdpFlow
from harness.peer.stats import Ended, Record

#: Ended records kept for `stats()` (the oldest go first); `reset()` forgets them all.
MAX_RECORDS = 10_000
#: The SO_RCVBUF a connection gets back when it stops holding (kernel doubles it).
MIN_NORMAL_RCVBUF = 256 * 1024


class UdpTransport(Protocol):
    """The UDP port's transport as asyncio's selector loop makes it: a datagram transport that
    also tells how much it still has to send (typeshed's DatagramTransport leaves that out)."""

    def sendto(self, data: bytes, addr: tuple[Any, ...] | None = None) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...

    def is_closing(self) -> bool: ...

    def close(self) -> None: ...


class Peer:
    """TCP and UDP on one port, per-connection modes, records and waits (event-loop side)."""

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        log: Callable[[str], None] | None = None,
        limits: PeerLimits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.clock = clock
        self._log = log
        self.limits = limits or PeerLimits()
        self._tcp_crowd: Crowd[TcpSession] = Crowd(
            self.limits.data_per_source, self.limits.data_open, own="refuse"
        )
        self._udp_crowd: Crowd[UdpFlow] = Crowd(
            self.limits.data_per_source, self.limits.udp_flows, own="evict"
        )
        #: Lines about what a flood causes (refused connections, evictions) are rate-limited.
        self.limited = LogLimiter(self.log)
        self.loop: asyncio.AbstractEventLoop
        self.records: dict[int, Record] = {}
        self.sessions: dict[int, Session] = {}
        self.flows: dict[tuple, UdpFlow] = {}
        self.last_id = 0
        self.reset_mark = 0
        #: The mode new connections get, per protocol; `armed` queues modes for the next few
        #: (`[spec, connections left]`, first in first used) ahead of it.
        self.modes = dict.fromkeys(PROTOS, ECHO)
        self.armed: dict[str, deque[list]] = {p: deque() for p in PROTOS}
        self.refused = dict.fromkeys(PROTOS, False)
        self._tcp_server: asyncio.Server | None = None
        self._tcp_sock: socket.socket | None = None
        self.udp_transport: UdpTransport | None = None
        self.default_rcvbuf = self.normal_rcvbuf = 2 * MIN_NORMAL_RCVBUF
        self._listener_small = False
        self._changed: asyncio.Event
        self._waiting = 0

    def log(self, text: str) -> None:
        if self._log is not None:
            self._log(text)

    # -- listening ------------------------------------------------------------------------
    async def open(self, tcp: socket.socket, udp: socket.socket) -> None:
        """Serve on sockets from `bind_pair` (bound by the caller, so errors surface there)."""
        self.loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self.port = tcp.getsockname()[1]
        self.default_rcvbuf = tcp.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self.normal_rcvbuf = max(self.default_rcvbuf, 2 * MIN_NORMAL_RCVBUF)
        await self._serve_tcp(tcp)
        await self._serve_udp(udp)

    async def _serve_tcp(self, sock: socket.socket) -> None:
        self._tcp_sock = sock
        self._listener_small = False
        self._tcp_server = await self.loop.create_server(
            lambda: TcpSession(self), sock=sock, backlog=LISTEN_BACKLOG
        )
        self.sync_listener()

    async def _serve_udp(self, sock: socket.socket) -> None:
        transport, _ = await self.loop.create_datagram_endpoint(
            lambda: _UdpEndpoint(self), sock=sock
        )
        if not isinstance(transport, asyncio.WriteTransport):  # the selector loop's always is
            transport.close()
            raise HarnessBug(f"the event loop's UDP transport {transport!r} has no send buffer")
        self.udp_transport = transport

    async def listen(self, proto: str) -> None:
        """Listen again after `refuse` (same port)."""
        if not self.refused[proto]:
            return
        try:
            if proto == "tcp":
                await self._serve_tcp(bind_tcp(self.host, self.port))
            else:
                await self._serve_udp(bind_udp(self.host, self.port))
        except PeerStartError as e:
            raise RequestError(409, f"cannot listen again: {e}")
        self.refused[proto] = False
        self.log(f"{proto} listening again on port {self.port}")

    async def unlisten(self, proto: str) -> None:
        """`refuse`: close the listener so connects are refused (→ CONNECT FAIL at the module)."""
        if self.refused[proto]:
            return
        if proto == "tcp" and self._tcp_server is not None:
            # close() shuts the listening socket at once; wait_closed() would also wait for
            # the connections still open, which stay (refuse only stops new ones).
            self._tcp_server.close()
            self._tcp_server = self._tcp_sock = None
        elif proto == "udp" and self.udp_transport is not None:
            self.udp_transport.close()
            self.udp_transport = None
        self.refused[proto] = True
        self.log(f"{proto} refusing: port {self.port} closed")

    async def close(self) -> None:
        for proto in PROTOS:
            await self.unlisten(proto)
        for session in list(self.sessions.values()) + list(self.flows.values()):
            session.record.end(Ended.WE_CLOSED)
            session.cancel_timers()
            session.abort()
        self.limited.flush()
        self.notify()

    # -- modes for new connections --------------------------------------------------------
    def _take(self, proto: str) -> ModeSpec:
        queue = self.armed[proto]
        if not queue:
            return self.modes[proto]
        entry = queue[0]
        entry[1] -= 1
        if entry[1] <= 0:
            queue.popleft()
        self.sync_listener()
        return entry[0]

    def _upcoming(self, proto: str) -> ModeSpec:
        queue = self.armed[proto]
        return queue[0][0] if queue else self.modes[proto]

    def sync_listener(self) -> None:
        """Small SO_RCVBUF on the listener while the next TCP connection is to be held."""
        sock = self._tcp_sock
        if sock is None:
            return
        spec = self._upcoming("tcp")
        try:
            if spec.holds:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, spec.rcvbuf)
                self._listener_small = True
            elif self._listener_small:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.normal_rcvbuf // 2)
                self._listener_small = False
        except OSError as e:  # the size was checked; the OS may still say no
            self.log(f"tcp listener: SO_RCVBUF not changed: {e.strerror or e}")

    # -- connections ----------------------------------------------------------------------
    def _record(self, proto: str, remote: tuple, local: tuple, mode: str) -> Record:
        self.last_id += 1
        record = Record(self.last_id, proto, remote[:2], local[:2], mode, self.clock)
        self.records[record.id] = record
        if len(self.records) > MAX_RECORDS:
            for rid in [r.id for r in self.records.values() if r.ended is not Ended.OPEN]:
                del self.records[rid]
                if len(self.records) <= MAX_RECORDS:
                    break
        return record

    def tcp_connected(
        self, session: TcpSession, transport: asyncio.Transport
    ) -> tuple[ModeSpec, Record] | None:
        """Count a new connection against the limits; its mode and record, or None to abort."""
        remote = transport.get_extra_info("peername")
        if not remote:  # gone before we looked
            return None
        admitted, evicted = self._tcp_crowd.admit(remote[0], session)
        if not admitted:
            self.limited(
                "data quota",
                f"tcp {remote[0]}:{remote[1]} aborted: {self._tcp_crowd.count(remote[0])} "
                f"connections from that address open (limit {self.limits.data_per_source}, "
                f"{self.limits.data_open} in all)",
            )
            return None
        for other in evicted:
            self._evict(other, f"{len(self._tcp_crowd)} connections open")
        session.source = remote[0]
        spec = self._take("tcp")
        record = self._record("tcp", remote, transport.get_extra_info("sockname"), spec.mode)
        self.sessions[record.id] = session
        self.log(f"tcp #{record.id} {remote[0]}:{remote[1]} connected ({spec.describe()})")
        self.notify()
        return spec, record

    def datagram(self, data: bytes, addr: tuple) -> None:
        t_ns = stamp()
        flow = self.flows.get(addr)
        if flow is None:
            spec = self._take("udp")
            local = self.udp_transport.get_extra_info("sockname") if self.udp_transport else ()
            record = self._record("udp", addr, local or ("", 0), spec.mode)
            flow = UdpFlow(self, record, addr)
            _, evicted = self._udp_crowd.admit(addr[0], flow)
            for other in evicted:
                self._evict(other, f"{len(self._udp_crowd)} UDP addresses tracked")
            self.flows[addr] = flow
            self.sessions[record.id] = flow
            self.log(f"udp #{record.id} {addr[0]}:{addr[1]} first datagram ({spec.describe()})")
            flow.apply(spec)
            flow.watch_idle()
        flow.on_data(data, t_ns)

    def _evict(self, session: Session, why: str) -> None:
        """End the oldest connection of the address holding the most, to let another in."""
        r = session.record
        self.limited(
            "data quota",
            f"{r.proto} #{r.id} {r.remote[0]}:{r.remote[1]} ended to make room: {why}",
        )
        session.end_now(Ended.EVICTED)

    def ended(self, session: Session) -> None:
        r = session.record
        self.log(f"{r.proto} #{r.id} ended: {r.ended} (in {r.bytes_in} B, out {r.bytes_out} B)")
        self.notify()

    def gone(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        if isinstance(session, UdpFlow):
            self._udp_crowd.leave(session.addr[0], session)
            if self.flows.get(session.addr) is session:
                del self.flows[session.addr]
        elif isinstance(session, TcpSession):
            self._tcp_crowd.leave(session.source, session)

    def open_from(self, source: str) -> int:
        """Open TCP connections and tracked UDP addresses from `source` (an IP address)."""
        return self._tcp_crowd.count(source) + self._udp_crowd.count(source)

    # -- waiting --------------------------------------------------------------------------
    def notify(self) -> None:
        """Something changed (a connection, its bytes, its end): every wait looks again."""
        if self._waiting:
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_until(self, check: Callable[[], Any], wall: float) -> Any:
        """The first answer of `check()` that is not None, looked for after each change; None
        once `wall` seconds have passed."""
        deadline = self.clock.deadline(self.clock.to_module(max(0.0, wall)))
        self._waiting += 1
        try:
            while True:
                found = check()
                if found is not None:
                    return found
                left = deadline.wall_remaining() or 0.0
                if left <= 0:
                    return None
                changed = self._changed
                try:
                    await asyncio.wait_for(changed.wait(), left)
                except TimeoutError:
                    pass
        finally:
            self._waiting -= 1


class _UdpEndpoint(asyncio.DatagramProtocol):
    """The shared UDP socket: each datagram goes to the flow of its remote address."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.peer.datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable for an echo to a socket that has gone: nothing to do.
        self.peer.log(f"udp: {exc}")
