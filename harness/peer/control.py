"""The control channel: a small HTTP/1.1 + JSON server on asyncio streams, a request per connection.

A connection first waits in a cheap stage (a short deadline for its head, a quota per source
address) until its token is checked; only then may it take one of the few real slots
(docs/peer.md "Limits"), where `Routes` (harness/peer/routes.py) answers it. Bad requests get a
4xx with `{"ok": false, "error": reason}`; nothing a client sends is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import re
import struct
import termios
from collections.abc import Awaitable, Iterable
from typing import Any, SupportsIndex

from harness.peer.addresses import LISTEN_BACKLOG
from harness.peer.auth import bearer, token_matches
from harness.peer.core import Peer
from harness.peer.errors import RequestError
from harness.peer.guard import Crowd, PeerLimits
from harness.peer.routes import Routes
from harness.peer.wire import (
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
#: Bytes read at a time before the token is checked (with the reader's own buffer, what an
#: unauthenticated connection can make us hold).
PREAUTH_CHUNK = 4096
#: Bytes read at a time from an authenticated client.
CHUNK = 64 * 1024
#: Routes by name, for log lines that must not quote a client's path.
ROUTES = ("/", "/info", "/stats", "/mode", "/push", "/release", "/reset", "/wait")
_STATS_ID = re.compile(r"/stats/[0-9]{1,16}")


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
        self.routes = Routes(peer, token is not None, self.limits)

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
            route = self.routes.route(head, body.data)
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
