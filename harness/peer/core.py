"""The peer's state on its event loop: listeners, modes armed for new connections, records.

Every control request ends up here (`set_mode`, `push`, `release`, `reset`, `stats`, waits);
`PeerServer` runs it in a thread, `control.py` speaks HTTP to it.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.clock import Clock, stamp
from harness.peer.addresses import bind_tcp, bind_udp
from harness.peer.errors import PeerStartError, RequestError
from harness.peer.modes import ECHO, PROTOS, ModeSpec, parse_mode
from harness.peer.sessions import Session, TcpSession, UdpFlow
from harness.peer.stats import ConnStats, Ended, Record

#: Ended records kept for `stats()` (the oldest go first); `reset()` forgets them all.
MAX_RECORDS = 10_000
#: Open TCP connections; more are aborted at once (a VPS port attracts scanners).
MAX_TCP_OPEN = 1000
#: Remote UDP addresses tracked at once; the oldest flow ends to make room.
MAX_UDP_FLOWS = 1000
#: The SO_RCVBUF a connection gets back when it stops holding (kernel doubles it).
MIN_NORMAL_RCVBUF = 256 * 1024


class Peer:
    """TCP and UDP on one port, per-connection modes, records and waits (event-loop side)."""

    def __init__(
        self, host: str, port: int, clock: Clock, log: Callable[[str], None] | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.clock = clock
        self._log = log
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
        self.udp_transport: asyncio.DatagramTransport | None = None
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
        self._tcp_server = await self.loop.create_server(lambda: TcpSession(self), sock=sock)
        self._sync_listener()

    async def _serve_udp(self, sock: socket.socket) -> None:
        transport, _ = await self.loop.create_datagram_endpoint(
            lambda: _UdpEndpoint(self), sock=sock
        )
        self.udp_transport = transport  # type: ignore[assignment]

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
        if spec.holds:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, spec.rcvbuf)
            self._listener_small = True
        elif self._listener_small:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.normal_rcvbuf // 2)
            self._listener_small = False

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
        remote = transport.get_extra_info("peername")
        if sum(s.proto == "tcp" for s in self.sessions.values()) >= MAX_TCP_OPEN:
            self.log(f"tcp {remote[0]}:{remote[1]} aborted: {MAX_TCP_OPEN} connections open")
            return None
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
            if len(self.flows) >= MAX_UDP_FLOWS:
                next(iter(self.flows.values())).close_now()
            spec = self._take("udp")
            local = self.udp_transport.get_extra_info("sockname") if self.udp_transport else ()
            record = self._record("udp", addr, local or ("", 0), spec.mode)
            flow = UdpFlow(self, record, addr)
            self.flows[addr] = flow
            self.sessions[record.id] = flow
            self.log(f"udp #{record.id} {addr[0]}:{addr[1]} first datagram ({spec.describe()})")
            flow.apply(spec)
        flow.on_data(data, t_ns)

    def ended(self, session: Session) -> None:
        r = session.record
        self.log(f"{r.proto} #{r.id} ended: {r.ended} (in {r.bytes_in} B, out {r.bytes_out} B)")
        self.notify()

    def gone(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        if isinstance(session, UdpFlow) and self.flows.get(session.addr) is session:
            del self.flows[session.addr]

    # -- control requests -----------------------------------------------------------------
    def _session(self, conn: Any, proto: str = "both") -> Session:
        record = self._get(conn)
        session = self.sessions.get(record.id)
        if session is None or not session.is_open:
            raise RequestError(409, f"connection {record.id} has ended ({record.ended})")
        if proto not in ("both", record.proto):
            raise RequestError(400, f"connection {record.id} is {record.proto}, not {proto}")
        return session

    def _get(self, conn: Any) -> Record:
        if isinstance(conn, bool) or not isinstance(conn, int):
            raise RequestError(400, f"conn must be a connection id (a whole number), not {conn!r}")
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
        if proto not in ("both", *PROTOS):
            raise RequestError(400, f"proto {proto!r}: use both, tcp or udp")
        if params is not None and not isinstance(params, dict):
            raise RequestError(400, f"params must be an object, not {params!r}")
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
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise RequestError(400, f"count must be a whole number ≥ 1, not {count!r}")
        if count is not None and count < 1:
            raise RequestError(400, f"count must be ≥ 1, not {count}")
        for p in protos:
            await self.listen(p)
            if count is None:
                self._base[p] = spec
                self._next[p].clear()
            else:
                self._next[p].append([spec, count])
        self._sync_listener()
        which = "all new" if count is None else f"the next {count}"
        self.log(f"{'+'.join(protos)}: {which} connections {spec.describe()}")
        return {"protos": list(protos), "count": count, "mode": spec.as_json()}

    def push(self, conn: Any, data: bytes, delay: float) -> dict[str, Any]:
        session = self._session(conn)
        session.push(data, delay)
        return {"conn": session.id, "queued": len(data), "delay": delay}

    def release(self, conn: Any, mode: Any = None) -> dict[str, Any]:
        session = self._session(conn)
        spec = None if mode is None else parse_mode(mode)
        if spec is not None and spec.mode in ("hold", "silent", "refuse", "push"):
            raise RequestError(400, f"release reads again: use echo, sink or close, not {mode!r}")
        session.release(spec)
        self.log(f"{session.proto} #{session.id} released ({session.spec.describe()})")
        self.notify()
        return {"conn": session.id, "mode": session.spec.as_json()}

    async def reset(self, close: bool = False) -> dict[str, Any]:
        """Listen again, echo for new connections, forget ended records; `close` ends the rest."""
        for p in PROTOS:
            self._base[p] = ECHO
            self._next[p].clear()
            await self.listen(p)
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
            raise RequestError(400, f"after must be a connection id or null, not {after!r}")
        if proto not in (None, *PROTOS):
            raise RequestError(400, f"proto {proto!r}: use tcp, udp or null (either)")
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
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise RequestError(400, f"n must be a whole number of bytes ≥ 0, not {n!r}")

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
