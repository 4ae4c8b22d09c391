"""The control channel: a small HTTP/1.1 + JSON server on asyncio streams, a request per connection.

Routes: GET /info, GET /stats[/<id>], POST /mode, /push, /release, /reset, /wait. A connection
first waits in a cheap stage (a short deadline for its head, a quota per source address) until
its token is checked; only then may it take one of the few real slots (docs/peer.md "Limits").
Bad requests get a 4xx with `{"ok": false, "error": reason}`; nothing a client sends is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import re
import struct
import termios
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, SupportsIndex

from harness.peer.addresses import LISTEN_BACKLOG
from harness.peer.auth import bearer, token_matches
from harness.peer.core import MAX_ID, Peer
from harness.peer.errors import RequestError, shown
from harness.peer.guard import Crowd, PeerLimits
from harness.peer.modes import decode_push, seconds
from harness.peer.wire import (
    MAX_BODY,
    MAX_HEAD,
    NEED_DATA,
    Body,
    Closed,
    Refusal,
    Request,
    RequestReader,
    phrase,
)

#: An oversized or refused body is read and dropped up to this size so the client sees our
#: answer (closing on unread bytes would reset the connection and lose it).
MAX_DISCARD = 4 * 1024 * 1024
#: Longest single wait (long poll) in wall seconds; `PeerControl` repeats it for longer ones.
MAX_WAIT_WALL = 20.0
#: Bytes read at a time before the token is checked (with the reader's own buffer, what an
#: unauthenticated connection can make us hold).
PREAUTH_CHUNK = 4096
#: Bytes read at a time from an authenticated client.
CHUNK = 64 * 1024
#: JSON nesting a request may use (the deepest real one, push data in params, is 3).
MAX_JSON_DEPTH = 8
#: Digits of a JSON integer (ids and byte counts fit in 16; more is not a mistake to parse).
MAX_JSON_DIGITS = 20
#: Routes by name, for log lines that must not quote a client's path.
ROUTES = ("/", "/info", "/stats", "/mode", "/push", "/release", "/reset", "/wait")
_STATS_ID = re.compile(r"/stats/[0-9]{1,16}")
_ID_DIGITS = 16


class _CountingReader(asyncio.StreamReader):
    """A StreamReader that counts what arrived, read or not (idle clients are evicted first)."""

    received = 0

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:
        chunk = data if isinstance(data, bytes) else bytes(data)  # asyncio hands it bytes
        self.received += len(chunk)
        super().feed_data(chunk)


class _Client:
    """One control connection in the pending quota: its streams, whether we have begun to
    answer it, whether it was evicted to make room."""

    __slots__ = ("answering", "evicted", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.answering = False
        self.evicted = False

    def sending(self) -> bool:
        """Has it sent anything (arrived here, or waiting in the socket)? Idle ones go first."""
        reader = self.reader
        if self.answering or (isinstance(reader, _CountingReader) and reader.received):
            return True
        sock = self.writer.get_extra_info("socket")
        if sock is None:
            return False
        try:
            waiting = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return False
        return struct.unpack("i", waiting)[0] > 0


class ControlServer:
    """Answers control requests for one `Peer`; requires `token` if one is given."""

    def __init__(self, peer: Peer, token: str | None, limits: PeerLimits | None = None) -> None:
        self.peer = peer
        self.token = token
        self.limits = limits or peer.limits
        self.clients = 0  # authenticated requests being served
        self.pending: Crowd[_Client] = Crowd(
            self.limits.control_per_source, self.limits.control_pending, own="evict"
        )
        self.errors: list[BaseException] = []  # our own bugs met while serving (500s)
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._routes: dict[tuple[str, str], Callable[[dict[str, Any]], Awaitable[Any]]] = {
            ("POST", "/mode"): self._mode,
            ("POST", "/push"): self._push,
            ("POST", "/release"): self._release,
            ("POST", "/reset"): self._reset,
            ("POST", "/wait"): self._wait,
        }

    async def start(self, sock) -> None:
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.StreamReaderProtocol:
            reader = _CountingReader(limit=MAX_HEAD, loop=loop)
            return asyncio.StreamReaderProtocol(reader, self._handle, loop=loop)

        self.server = await loop.create_server(protocol, sock=sock, backlog=LISTEN_BACKLOG)

    async def close(self) -> None:
        self.abort_all()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def abort_all(self) -> None:
        """Cut every control connection at once (the server is stopping)."""
        if self.server is not None:
            self.server.close()  # no new ones
        for writer in list(self._writers):
            writer.transport.abort()

    # -- one connection -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        remote = writer.get_extra_info("peername") or ("?", 0)
        source = str(remote[0])
        me = _Client(reader, writer)
        self._writers.add(writer)
        _, evicted = self.pending.admit(source, me, spare=_Client.sending)
        for other in evicted:
            self._evict(other)
        try:
            await self._serve(reader, writer, me, source)
        except (ConnectionError, OSError):
            pass  # the client went away
        except Exception as e:  # a bug here must not stop the peer, nor tell the client much
            self._bug(e, "a control connection")
        finally:
            self.pending.leave(source, me)
            try:
                await self._close(writer)
            finally:
                self._writers.discard(writer)

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        """Close once the answer is out; a client that will not take it is cut off."""
        writer.close()
        try:
            async with asyncio.timeout(self.limits.body_wall):
                await writer.wait_closed()
        except TimeoutError:
            writer.transport.abort()
        except (ConnectionError, OSError):
            pass

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        me: _Client,
        source: str,
    ) -> None:
        parser = RequestReader()
        # Stage 1, unauthenticated: the head under a short deadline, in small reads.
        try:
            async with asyncio.timeout(self.limits.head_wall):
                head = await _next_event(reader, parser, PREAUTH_CHUNK)
        except TimeoutError:
            me.answering = True
            if not me.evicted:
                self._log_refusal(408, "head not in time", None, source)
                await self._respond(
                    writer,
                    408,
                    {"error": f"request head not received within {self.limits.head_wall:g} s"},
                )
            return
        me.answering = True
        if me.evicted or isinstance(head, Closed):
            return
        if isinstance(head, Refusal):
            self._log_refusal(head.status, head.kind, None, source)
            await self._refuse(writer, reader, head.status, head.reason, head.discard, False)
            return
        assert isinstance(head, Request)
        refusal = self._authorize(head)
        if refusal is not None:
            self._log_refusal(refusal.status, refusal.kind, head, source)
            await self._refuse(writer, reader, refusal.status, refusal.reason, head.length, False)
            return
        # Stage 2, authenticated: a real slot.
        self.pending.leave(source, me)
        if self.clients >= self.limits.control_clients:
            reason = f"busy: {self.limits.control_clients} control requests in progress"
            self._log_refusal(503, "busy", head, source)
            await self._refuse(writer, reader, 503, reason, head.length, True)
            return
        self.clients += 1
        try:
            await self._exchange(reader, writer, parser, head, source)
        finally:
            self.clients -= 1

    def _authorize(self, head: Request) -> Refusal | None:
        if self.token is None:
            return None
        given = head.headers.get("authorization")
        if token_matches(bearer(given), self.token):
            return None
        which = "wrong token" if given else "no token"
        return Refusal(401, f"{which}: send 'Authorization: Bearer <token>'", which)

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: RequestReader,
        head: Request,
        source: str,
    ) -> None:
        try:
            async with asyncio.timeout(self.limits.body_wall):
                body = await _next_event(reader, parser, CHUNK)
        except TimeoutError:
            self._log_refusal(408, "body not in time", head, source)
            await self._respond(writer, 408, {"error": "request body not received in time"})
            return
        if not isinstance(body, Body):  # the client closed before the whole body came
            return
        try:
            route = self._route(head, body.data)
            if head.path == "/wait":
                answer = await _unless_gone(reader, route)
                if answer is None:
                    return  # the client went away: its long poll ends now and frees the slot
            else:
                answer = await route
            status, payload = 200, answer
        except RequestError as e:
            self._log_refusal(e.status, e.kind, head, source)
            status, payload = e.status, {"error": e.reason}
        except Exception as e:  # a bug here must not stop the peer
            self._bug(e, f"{head.method} {route_label(head.path)}")
            status, payload = 500, {"error": f"internal error ({type(e).__name__}); see the log"}
        await self._respond(writer, status, payload)

    # -- routes ---------------------------------------------------------------------------
    async def _route(self, head: Request, body: bytes) -> dict[str, Any]:
        method, path = head.method, head.path
        if method == "GET":
            if path in ("/", "/info"):
                return self._info()
            if path == "/stats":
                return {"connections": [s.as_json() for s in self.peer.stats()]}
            if path.startswith("/stats/"):
                return {"conn": self.peer.stats(_path_id(path[len("/stats/") :]))[0].as_json()}
        handler = self._routes.get((method, path))
        if handler is None:
            if any(p == path for _, p in self._routes):
                raise RequestError(405, f"{path} needs POST", "needs POST")
            raise RequestError(
                404, f"no such endpoint {method} {shown(path)}; see GET /info", "no such endpoint"
            )
        return await handler(json_object(body))

    def _info(self) -> dict[str, Any]:
        info = self.peer.info()
        info["token_required"] = self.token is not None
        lim = self.limits
        info["limits"] = {
            "max_body": MAX_BODY,
            "max_head": MAX_HEAD,
            "max_wait_wall": MAX_WAIT_WALL,
            "head_wall": lim.head_wall,
            "body_wall": lim.body_wall,
            "control_per_source": lim.control_per_source,
            "control_pending": lim.control_pending,
            "control_clients": lim.control_clients,
            "data_per_source": lim.data_per_source,
            "data_open": lim.data_open,
            "udp_flows": lim.udp_flows,
            "idle_timeout": lim.idle_timeout,
        }
        return info

    async def _mode(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "mode", ("mode", "conn", "proto", "params"), required=("mode",))
        return await self.peer.set_mode(
            req["mode"], req.get("conn"), req.get("proto", "both"), req.get("params")
        )

    async def _push(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "push", ("conn", "data", "delay"), required=("conn", "data"))
        delay = seconds(req.get("delay", 0.0), "delay")
        return self.peer.push(req["conn"], decode_push(req["data"], "data"), delay)

    async def _release(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "release", ("conn", "mode"), required=("conn",))
        return self.peer.release(req["conn"], req.get("mode"))

    async def _reset(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "reset", ("close",))
        close = req.get("close", False)
        if not isinstance(close, bool):
            raise RequestError(400, f"close must be true or false, not {shown(close)}")
        return await self.peer.reset(close)

    async def _wait(self, req: dict[str, Any]) -> dict[str, Any]:
        event = req.get("event")
        wall = req.get("wall", 0.0)
        if isinstance(wall, bool) or not isinstance(wall, int | float) or not wall >= 0:
            raise RequestError(400, f"wall must be ≥ 0 seconds, not {shown(wall)}")
        wall = min(float(wall), MAX_WAIT_WALL)
        if event == "connection":
            _fields(req, "wait", ("event", "after", "proto", "wall"))
            return await self.peer.wait_connection(req.get("after"), req.get("proto"), wall)
        if event == "bytes":
            _fields(req, "wait", ("event", "conn", "n", "wall"), required=("conn", "n"))
            return await self.peer.wait_bytes(req["conn"], req["n"], wall)
        if event == "ended":
            _fields(req, "wait", ("event", "conn", "wall"), required=("conn",))
            return await self.peer.wait_ended(req["conn"], wall)
        raise RequestError(
            400, f"wait: event {shown(event)}; use connection, bytes or ended", "bad event"
        )

    # -- plumbing -------------------------------------------------------------------------
    def _evict(self, client: _Client) -> None:
        """Make room in the pending quota: tell the oldest waiting client and close it."""
        client.evicted = True
        writer = client.writer
        remote = writer.get_extra_info("peername") or ("?", 0)
        self.peer.limited(
            "control quota",
            f"control: unauthenticated connection from {remote[0]} closed: over "
            f"{self.limits.control_per_source} from that address or "
            f"{self.limits.control_pending} in all",
        )
        if not client.answering:  # else it is being answered already: just close
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                writer.write(_EVICTED)
        writer.transport.close()  # flushes the answer, then FIN; its task then sees the end

    async def _refuse(
        self,
        writer: asyncio.StreamWriter,
        reader: asyncio.StreamReader,
        status: int,
        reason: str,
        discard: int,
        authenticated: bool,
    ) -> None:
        """Answer a refusal, then drop the body still on its way (bounded in bytes and time)."""
        await self._respond(writer, status, {"error": reason})
        wall = self.limits.body_wall if authenticated else self.limits.head_wall
        left = min(discard, MAX_DISCARD)
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            async with asyncio.timeout(wall):
                while left > 0:
                    chunk = await reader.read(min(left, CHUNK))
                    if not chunk:
                        return
                    left -= len(chunk)

    def _log_refusal(self, status: int, kind: str, head: Request | None, source: str) -> None:
        """One line per refused request, naming only fixed words: a request line or header
        can carry the token, so neither is ever logged (docs/peer.md "What is logged")."""
        what = "a malformed request" if head is None else f"{head.method} {route_label(head.path)}"
        self.peer.limited(
            "control refusals",
            f"control: {status} {kind or phrase(status)} for {what} from {source}",
        )

    def _bug(self, error: Exception, where: str) -> None:
        self.errors.append(error)
        self.peer.log(f"control: internal error on {where}: {describe_bug(error)}")

    async def _respond(self, writer: asyncio.StreamWriter, status: int, payload: dict) -> None:
        body = json.dumps({"ok": status < 400, **payload}).encode()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            writer.write(_answer(status, body))
            async with asyncio.timeout(self.limits.body_wall):
                await writer.drain()


def _answer(status: int, body: bytes) -> bytes:
    extra = "WWW-Authenticate: Bearer\r\n" if status == 401 else ""
    head = (
        f"HTTP/1.1 {status} {phrase(status)}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


_EVICTED = _answer(
    503, json.dumps({"ok": False, "error": "too many unauthenticated connections"}).encode()
)


async def _unless_gone(reader: asyncio.StreamReader, work: Awaitable[Any]) -> Any:
    """`work`'s result, or None (and `work` cancelled) if the client closes first.

    Only for waits: they change nothing, so cancelling one half-way is safe.
    """
    task = asyncio.ensure_future(work)
    watch: asyncio.Future | None = None
    try:
        while True:
            watch = asyncio.ensure_future(reader.read(CHUNK))
            await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            try:
                more = watch.result()
            except (ConnectionError, OSError):
                more = b""
            if not more:  # end of input: nobody will read the answer
                return None
    finally:
        for future in (task, watch):
            if future is not None and not future.done():
                future.cancel()


async def _next_event(reader: asyncio.StreamReader, parser: RequestReader, chunk: int):
    """Read until the parser has its next event."""
    while True:
        event = parser.next_event()
        if event is not NEED_DATA:
            return event
        parser.receive(await reader.read(chunk))


def route_label(path: str) -> str:
    """A path as the log may show it: a known route, /stats/<id>, or a fixed description."""
    if path in ROUTES:
        return path
    if _STATS_ID.fullmatch(path):
        return "/stats/<id>"
    return "an unknown path"


def describe_bug(error: BaseException) -> str:
    """An internal error as type and place, without its message (which may quote input)."""
    tb = error.__traceback__
    where = ""
    while tb is not None:
        where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    return f"{type(error).__name__} at {where}" if where else type(error).__name__


# -- request bodies ----------------------------------------------------------------------------
def json_object(body: bytes) -> dict[str, Any]:
    """A request body → a JSON object, or RequestError(400) saying why not: never more than
    MAX_JSON_DEPTH deep, integers of at most MAX_JSON_DIGITS digits, numbers finite."""
    if not body.strip():
        return {}
    try:
        value = json.loads(
            body, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except RecursionError:
        raise RequestError(400, f"body nests deeper than {MAX_JSON_DEPTH}", "bad JSON")
    except _Unfit as e:
        raise RequestError(400, f"body: {e}", "bad JSON")
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise RequestError(400, f"body is not JSON: {_first_line(e)}", "bad JSON")
    if _depth(value) > MAX_JSON_DEPTH:
        raise RequestError(400, f"body nests deeper than {MAX_JSON_DEPTH}", "bad JSON")
    if not isinstance(value, dict):
        raise RequestError(
            400, f"body must be a JSON object, not {type(value).__name__}", "bad JSON"
        )
    return value


class _Unfit(ValueError):
    """A JSON number the channel will not take."""


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_DIGITS:
        raise _Unfit(f"an integer of {digits} digits; at most {MAX_JSON_DIGITS}")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > 2 * MAX_JSON_DIGITS + 10:
        raise _Unfit(f"a number written with {len(text)} characters")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Unfit("a number too large for a float")
    return value


def _json_constant(text: str) -> float:
    raise _Unfit(f"{text} is not a JSON number")


def _depth(value: Any) -> int:
    """How deep lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((child, level + 1) for child in item)
    return deepest


def _first_line(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:120]


def _fields(req: dict[str, Any], what: str, allowed: tuple[str, ...], required=()) -> None:
    unknown = sorted(set(req) - set(allowed))
    if unknown:
        raise RequestError(
            400,
            f"{what}: unknown field {_cut(', '.join(unknown))}; known: {', '.join(allowed)}",
            "unknown field",
        )
    missing = [k for k in required if k not in req]
    if missing:
        raise RequestError(400, f"{what}: missing field {', '.join(missing)}", "missing field")


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path_id(text: str) -> int:
    """The connection id in /stats/<id>: ASCII digits only, within the ids a request may name."""
    if not text or len(text) > _ID_DIGITS or not (text.isascii() and text.isdigit()):
        raise RequestError(
            400,
            f"connection id in the path must be a number (ASCII digits, at most {_ID_DIGITS}), "
            f"not {shown(text)}",
            "bad id",
        )
    value = int(text)
    if value > MAX_ID:
        raise RequestError(400, f"connection id in the path is over {MAX_ID}", "bad id")
    return value
