"""What each control request does to the `Peer`: modes for a connection or the next ones,
pushes, release, reset, statistics, and waits for a connection, bytes or an end. Everything a
request names is checked first, so a refused request changes nothing (a `RequestError`).
"""

from __future__ import annotations

from typing import Any

from harness.peer.core import Peer
from harness.peer.errors import RequestError, shown
from harness.peer.modes import ECHO, MAX_BYTES, PROTOS, parse_mode, whole
from harness.peer.sessions import Session
from harness.peer.stats import ConnStats, Ended, Record

#: Largest connection id a request may name (ids are JSON numbers: exact up to 2**53).
MAX_ID = 2**53 - 1
#: Largest `count` of a mode for the next connections.
MAX_COUNT = 1_000_000
#: Modes queued with `count` per protocol; more are refused (409) until one is used up.
MAX_ARMED = 64
#: Bytes that may wait to be sent (unsent and pushes not yet due) over all connections.
MAX_WAITING = 64 * 1024 * 1024


class PeerRequests:
    """The control requests against one `Peer`, run on its event loop (`Routes` maps HTTP
    requests to them)."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def _session(self, conn: Any, proto: str = "both") -> Session:
        record = self._get(conn)
        session = self.peer.sessions.get(record.id)
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
        record = self.peer.records.get(conn)
        if record is None:
            if 0 < conn <= self.peer.last_id:
                why = "it ended before the last reset() or is among the oldest forgotten"
                raise RequestError(404, f"connection {conn} is forgotten: {why}")
            known = f"1..{self.peer.last_id}" if self.peer.last_id else "none yet"
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
            self.peer.log(f"{session.proto} #{session.id} now {spec.describe()}")
            self.peer.notify()
            return {"conn": session.id, "mode": spec.as_json()}
        protos = PROTOS if proto == "both" else (proto,)
        if mode == "refuse":
            if count is not None:
                raise RequestError(400, "refuse takes no count: it lasts until reset()")
            for p in protos:
                await self.peer.unlisten(p)
            return {"refused": list(protos)}
        if count is not None:
            whole(count, "count", 1, MAX_COUNT)
            full = [p for p in protos if len(self.peer.armed[p]) >= MAX_ARMED]
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
                self.peer.modes[p] = spec
                self.peer.armed[p].clear()
            else:
                self.peer.armed[p].append([spec, count])
        self.peer.sync_listener()
        which = "all new" if count is None else f"the next {count}"
        self.peer.log(f"{'+'.join(protos)}: {which} connections {spec.describe()}")
        return {"protos": list(protos), "count": count, "mode": spec.as_json()}

    async def _listen_all(self, protos: tuple[str, ...]) -> None:
        """Listen again on every proto, or on none: if one cannot, the others are closed again."""
        done: list[str] = []
        try:
            for p in protos:
                if self.peer.refused[p]:
                    await self.peer.listen(p)
                    done.append(p)
        except RequestError:
            for p in done:
                await self.peer.unlisten(p)
            raise

    def push(self, conn: Any, data: bytes, delay: float) -> dict[str, Any]:
        session = self._session(conn)
        waiting = sum(s.unsent() + s.pending for s in self.peer.sessions.values())
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
        self.peer.log(f"{session.proto} #{session.id} released ({session.spec.describe()})")
        self.peer.notify()
        return {"conn": session.id, "mode": session.spec.as_json()}

    async def reset(self, close: bool = False) -> dict[str, Any]:
        """Listen again, echo for new connections, forget ended records; `close` ends the rest."""
        await self._listen_all(PROTOS)
        for p in PROTOS:
            self.peer.modes[p] = ECHO
            self.peer.armed[p].clear()
        self.peer.sync_listener()
        for rid in [r.id for r in self.peer.records.values() if r.ended is not Ended.OPEN]:
            del self.peer.records[rid]
        if close:  # their records stay, so a test can see how they ended
            for session in list(self.peer.sessions.values()):
                session.close_now("fin")
        self.peer.reset_mark = self.peer.last_id
        self.peer.log(f"reset: new connections echo; ids after {self.peer.reset_mark} are new")
        self.peer.notify()
        return {"reset_mark": self.peer.reset_mark}

    def snapshot(self, record: Record) -> ConnStats:
        session = self.peer.sessions.get(record.id)
        return session.snapshot() if session is not None else record.snapshot()

    def stats(self, conn: Any = None) -> list[ConnStats]:
        if conn is not None:
            return [self.snapshot(self._get(conn))]
        return [self.snapshot(r) for r in self.peer.records.values()]

    def info(self) -> dict[str, Any]:
        def armed(p: str) -> dict[str, Any]:
            return {
                "now": self.peer.modes[p].as_json(),
                "next": [{"mode": s.as_json(), "count": n} for s, n in self.peer.armed[p]],
            }

        return {
            "server": "modemcert-peer",
            "host": self.peer.host,
            "port": self.peer.port,
            "listening": {p: not self.peer.refused[p] for p in PROTOS},
            "armed": {p: armed(p) for p in PROTOS},
            "last_id": self.peer.last_id,
            "reset_mark": self.peer.reset_mark,
            "open": len(self.peer.sessions),
            "scale": self.peer.clock.scale,
            "idle_timeout": self.peer.limits.idle_timeout,
        }

    async def wait_connection(self, after: Any, proto: Any, wall: float) -> dict[str, Any]:
        if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
            raise RequestError(400, f"after must be a connection id or null, not {shown(after)}")
        if after is not None:
            whole(after, "after", 0, MAX_ID)
        if proto not in (None, *PROTOS):
            raise RequestError(400, f"proto {shown(proto)}: use tcp, udp or null (either)")
        since = self.peer.reset_mark if after is None else after

        def check() -> Record | None:
            # the oldest new one, so successive waits see connections in order
            return next(
                (
                    r
                    for r in self.peer.records.values()
                    if r.id > since and (proto is None or r.proto == proto)
                ),
                None,
            )

        record = await self.peer.wait_until(check, wall)
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

        why = await self.peer.wait_until(check, wall)
        out = {"found": why == "reached", "conn": self.snapshot(record).as_json()}
        if why == "ended":
            out["why"] = "ended"
        return out

    async def wait_ended(self, conn: Any, wall: float) -> dict[str, Any]:
        record = self._get(conn)
        done = await self.peer.wait_until(lambda: record.ended is not Ended.OPEN or None, wall)
        return {"found": bool(done), "conn": self.snapshot(record).as_json()}
