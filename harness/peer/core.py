"""The peer's state on its event loop: listeners, modes armed for new connections, records.

Every control request ends up here (`set_mode`, `push`, `release`, `reset`, `stats`, waits);
`PeerServer` runs it in a thread, `control.py` speaks HTTP to it.
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
from harness.peer.errors import PeerStartError, RequestError, shown
from harness.peer.guard import Crowd, LogLimiter, PeerLimits
from harness.peer.modes import ECHO, MAX_BYTES, PROTOS, ModeSpec, parse_mode, whole
from harness.peer.sessions import Session, TcpSession, UdpFlow
from harness.peer.stats import ConnStats, Ended, Record

#: Ended records kept for `stats()` (the oldest go first); `reset()` forgets them all.
MAX_RECORDS = 10_000
#: The SO_RCVBUF a connection gets back when it stops holding (kernel doubles it).
MIN_NORMAL_RCVBUF = 256 * 1024
#: Largest connection id a request may name (ids are JSON numbers: exact up to 2**53).
MAX_ID = 2**53 - 1
#: Largest `count` of a mode for the next connections.
MAX_COUNT = 1_000_000
#: Modes queued with `count` per protocol; more are refused (409) until one is used up.
MAX_ARMED = 64
#: Bytes that may wait to be sent (unsent and pushes not yet due) over all connections.
MAX_WAITING = 64 * 1024 * 1024


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
        self._base = dict.fromkeys(PROTOS, ECHO)
        self._next: dict[str, deque[list]] = {p: deque() for p in PROTOS}
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
        self._sync_listener()

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
        queue = self._next[proto]
        if not queue:
            return self._base[proto]
        entry = queue[0]
        entry[1] -= 1
        if entry[1] <= 0:
            queue.popleft()
        self._sync_listener()
        return entry[0]

    def _upcoming(self, proto: str) -> ModeSpec:
        queue = self._next[proto]
        return queue[0][0] if queue else self._base[proto]

    def _sync_listener(self) -> None:
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

    # -- control requests -----------------------------------------------------------------
    def _session(self, conn: Any, proto: str = "both") -> Session:
        record = self._get(conn)
        session = self.sessions.get(record.id)
        if session is None or not session.is_open:
            raise RequestError(
                409, f"connection {record.id} has ended ({record.ended})", "connection ended"
            )
        if proto not in ("both", record.proto):
            raise RequestError(400, f"connection {record.id} is {record.proto}, not {proto}")
        return session

    def _get(self, conn: Any) -> Record:
        if isinstance(conn, bool) or not isinstance(conn, int):
            raise RequestError(
                400, f"conn must be a connection id (a whole number), not {shown(conn)}", "bad id"
            )
        if conn > MAX_ID:
            raise RequestError(
                400, f"conn must be a connection id up to {MAX_ID}, not {shown(conn)}", "bad id"
            )
        record = self.records.get(conn)
        if record is None:
            if 0 < conn <= self.last_id:
                why = "it ended before the last reset() or is among the oldest forgotten"
                raise RequestError(404, f"connection {conn} is forgotten: {why}")
            known = f"1..{self.last_id}" if self.last_id else "none yet"
            raise RequestError(404, f"unknown connection {conn} (ids so far: {known})")
        return record

    async def set_mode(
        self, mode: Any, conn: Any = None, proto: Any = "both", params: Any = None
    ) -> dict[str, Any]:
        """Check everything first, then change: a refused request changes nothing."""
        if proto not in ("both", *PROTOS):
            raise RequestError(400, f"proto {shown(proto)}: use both, tcp or udp", "bad proto")
        if params is not None and not isinstance(params, dict):
            raise RequestError(400, f"params must be an object, not {shown(params)}", "bad params")
        params = dict(params or {})
        count = params.pop("count", None)
        spec = parse_mode(mode, params)
        if conn is not None:
            if count is not None:
                raise RequestError(400, "count applies to new connections: leave conn out")
            if mode == "refuse":
                raise RequestError(400, "refuse acts on the listener: leave conn out")
            session = self._session(conn, proto)
            session.apply(spec)
            session.touch()
            self.log(f"{session.proto} #{session.id} now {spec.describe()}")
            self.notify()
            return {"conn": session.id, "mode": spec.as_json()}
        protos = PROTOS if proto == "both" else (proto,)
        if mode == "refuse":
            if count is not None:
                raise RequestError(400, "refuse takes no count: it lasts until reset()")
            for p in protos:
                await self.unlisten(p)
            return {"refused": list(protos)}
        if count is not None:
            whole(count, "count", 1, MAX_COUNT)
            full = [p for p in protos if len(self._next[p]) >= MAX_ARMED]
            if full:
                raise RequestError(
                    409,
                    f"{'+'.join(full)}: {MAX_ARMED} modes already wait for the next connections; "
                    "reset() or set a mode without count",
                    "too many armed",
                )
        await self._listen_all(protos)
        for p in protos:
            if count is None:
                self._base[p] = spec
                self._next[p].clear()
            else:
                self._next[p].append([spec, count])
        self._sync_listener()
        which = "all new" if count is None else f"the next {count}"
        self.log(f"{'+'.join(protos)}: {which} connections {spec.describe()}")
        return {"protos": list(protos), "count": count, "mode": spec.as_json()}

    async def _listen_all(self, protos: tuple[str, ...]) -> None:
        """Listen again on every proto, or on none: if one cannot, the others are closed again."""
        done: list[str] = []
        try:
            for p in protos:
                if self.refused[p]:
                    await self.listen(p)
                    done.append(p)
        except RequestError:
            for p in done:
                await self.unlisten(p)
            raise

    def push(self, conn: Any, data: bytes, delay: float) -> dict[str, Any]:
        session = self._session(conn)
        waiting = sum(s.unsent() + s.pending for s in self.sessions.values())
        if waiting + len(data) > MAX_WAITING:
            raise RequestError(
                409,
                f"{waiting} B already wait to be sent over all connections; at most "
                f"{MAX_WAITING} B may wait",
                "too much unsent",
            )
        session.push(data, delay)
        session.touch()
        return {"conn": session.id, "queued": len(data), "delay": delay}

    def release(self, conn: Any, mode: Any = None) -> dict[str, Any]:
        session = self._session(conn)
        spec = None if mode is None else parse_mode(mode)
        if spec is not None and spec.mode in ("hold", "silent", "refuse", "push"):
            raise RequestError(
                400, f"release reads again: use echo, sink or close, not {shown(mode)}"
            )
        session.release(spec)
        session.touch()
        self.log(f"{session.proto} #{session.id} released ({session.spec.describe()})")
        self.notify()
        return {"conn": session.id, "mode": session.spec.as_json()}

    async def reset(self, close: bool = False) -> dict[str, Any]:
        """Listen again, echo for new connections, forget ended records; `close` ends the rest."""
        await self._listen_all(PROTOS)
        for p in PROTOS:
            self._base[p] = ECHO
            self._next[p].clear()
        self._sync_listener()
        for rid in [r.id for r in self.records.values() if r.ended is not Ended.OPEN]:
            del self.records[rid]
        if close:  # their records stay, so a test can see how they ended
            for session in list(self.sessions.values()):
                session.close_now("fin")
        self.reset_mark = self.last_id
        self.log(f"reset: new connections echo; ids after {self.reset_mark} are new")
        self.notify()
        return {"reset_mark": self.reset_mark}

    def snapshot(self, record: Record) -> ConnStats:
        session = self.sessions.get(record.id)
        return session.snapshot() if session is not None else record.snapshot()

    def stats(self, conn: Any = None) -> list[ConnStats]:
        if conn is not None:
            return [self.snapshot(self._get(conn))]
        return [self.snapshot(r) for r in self.records.values()]

    def info(self) -> dict[str, Any]:
        def armed(p: str) -> dict[str, Any]:
            return {
                "now": self._base[p].as_json(),
                "next": [{"mode": s.as_json(), "count": n} for s, n in self._next[p]],
            }

        return {
            "server": "modemcert-peer",
            "host": self.host,
            "port": self.port,
            "listening": {p: not self.refused[p] for p in PROTOS},
            "armed": {p: armed(p) for p in PROTOS},
            "last_id": self.last_id,
            "reset_mark": self.reset_mark,
            "open": len(self.sessions),
            "scale": self.clock.scale,
            "idle_timeout": self.limits.idle_timeout,
        }

    # -- waiting --------------------------------------------------------------------------
    def notify(self) -> None:
        if self._waiting:
            self._changed.set()
            self._changed = asyncio.Event()

    async def _wait(self, check: Callable[[], Any], wall: float) -> Any:
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

    async def wait_connection(self, after: Any, proto: Any, wall: float) -> dict[str, Any]:
        if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
            raise RequestError(400, f"after must be a connection id or null, not {shown(after)}")
        if after is not None:
            whole(after, "after", 0, MAX_ID)
        if proto not in (None, *PROTOS):
            raise RequestError(400, f"proto {shown(proto)}: use tcp, udp or null (either)")
        since = self.reset_mark if after is None else after

        def check() -> Record | None:
            # the oldest new one, so successive waits see connections in order
            return next(
                (
                    r
                    for r in self.records.values()
                    if r.id > since and (proto is None or r.proto == proto)
                ),
                None,
            )

        record = await self._wait(check, wall)
        if record is None:
            return {"found": False, "after": since}
        return {"found": True, "conn": self.snapshot(record).as_json()}

    async def wait_bytes(self, conn: Any, n: Any, wall: float) -> dict[str, Any]:
        record = self._get(conn)
        whole(n, "n (bytes)", 0, MAX_BYTES)

        def check() -> str | None:
            if record.bytes_in >= n:
                return "reached"
            return "ended" if record.ended is not Ended.OPEN else None

        why = await self._wait(check, wall)
        out = {"found": why == "reached", "conn": self.snapshot(record).as_json()}
        if why == "ended":
            out["why"] = "ended"
        return out

    async def wait_ended(self, conn: Any, wall: float) -> dict[str, Any]:
        record = self._get(conn)
        done = await self._wait(lambda: record.ended is not Ended.OPEN or None, wall)
        return {"found": bool(done), "conn": self.snapshot(record).as_json()}


class _UdpEndpoint(asyncio.DatagramProtocol):
    """The shared UDP socket: each datagram goes to the flow of its remote address."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.peer.datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable for an echo to a socket that has gone: nothing to do.
        self.peer.log(f"udp: {exc}")
