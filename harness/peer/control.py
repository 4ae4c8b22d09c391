"""The control channel: a small HTTP/1.1 + JSON server on asyncio streams, a request per connection.

Routes: GET /info, GET /stats[/<id>], POST /mode, /push, /release, /reset, /wait. Bad requests
get a 4xx with `{"ok": false, "error": reason}`; limits keep a misbehaving client from
exhausting the server (docs/peer.md "Control API").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from harness.peer.auth import bearer, token_matches
from harness.peer.core import Peer
from harness.peer.errors import RequestError
from harness.peer.modes import decode_push

#: Control connections served at once; more get 503.
MAX_CLIENTS = 32
#: Request line plus headers.
MAX_HEAD = 16 * 1024
#: Request body (a push of MAX_PUSH bytes is about 350 KB of base64).
MAX_BODY = 1024 * 1024
#: An oversized body is read and dropped up to this size so the client sees our 413.
MAX_DISCARD = 4 * 1024 * 1024
#: Wall seconds a client may take to send its request (these guard the HTTP channel itself
#: and are not module time).
READ_TIMEOUT_WALL = 15.0
#: Longest single wait (long poll) in wall seconds; `PeerControl` repeats it for longer ones.
MAX_WAIT_WALL = 20.0
#: Wall seconds to take in the request of a client turned away for being one too many.
BUSY_READ_WALL = 0.5


class ControlServer:
    """Answers control requests for one `Peer`; requires `token` if one is given."""

    def __init__(self, peer: Peer, token: str | None) -> None:
        self.peer = peer
        self.token = token
        self.clients = 0
        self.server: asyncio.Server | None = None
        self._routes: dict[tuple[str, str], Callable[[dict[str, Any]], Awaitable[Any]]] = {
            ("POST", "/mode"): self._mode,
            ("POST", "/push"): self._push,
            ("POST", "/release"): self._release,
            ("POST", "/reset"): self._reset,
            ("POST", "/wait"): self._wait,
        }

    async def start(self, sock) -> None:
        self.server = await asyncio.start_server(self._handle, sock=sock, limit=MAX_HEAD)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    # -- one HTTP exchange ----------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.clients >= MAX_CLIENTS:
            # Take in what the client sent first: closing on unread bytes would reset the
            # connection and lose the 503.
            with contextlib.suppress(TimeoutError, ConnectionError, OSError):
                await asyncio.wait_for(reader.read(MAX_HEAD), BUSY_READ_WALL)
            await self._respond(writer, 503, {"error": f"busy: {MAX_CLIENTS} control clients"})
            writer.close()
            return
        self.clients += 1
        try:
            await self._exchange(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away
        finally:
            self.clients -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_WALL)
        except asyncio.LimitOverrunError:
            await self._respond(writer, 431, {"error": f"request head over {MAX_HEAD} bytes"})
            return
        except TimeoutError:
            await self._respond(writer, 408, {"error": "request not received in time"})
            return
        except asyncio.IncompleteReadError:
            return
        try:
            method, path, headers = _parse_head(head)
            length = self._check(method, path, headers)
        except RequestError as e:
            self._refused(writer, head, e)
            await self._respond(writer, e.status, {"error": e.reason})
            # Drop the body we will not read, so closing does not reset the connection
            # before the client has read our answer.
            await _discard(reader, headers_length(head))
            return
        try:
            body = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT_WALL)
        except TimeoutError:
            await self._respond(writer, 408, {"error": "request body not received in time"})
            return
        try:
            status, payload = 200, await self._route(method, path, body)
        except RequestError as e:
            self._refused(writer, head, e)
            status, payload = e.status, {"error": e.reason}
        except Exception as e:  # a bug here must not stop the peer
            self.peer.log(f"control: internal error on {method} {path}: {e!r}")
            status, payload = 500, {"error": f"internal error: {e!r}"}
        await self._respond(writer, status, payload)

    def _check(self, method: str, path: str, headers: dict[str, str]) -> int:
        """Token, method, size; the body length to read."""
        if self.token is not None and not token_matches(
            bearer(headers.get("authorization")), self.token
        ):
            given = "a wrong" if headers.get("authorization") else "no"
            raise RequestError(401, f"{given} token: send 'Authorization: Bearer <token>'")
        if method not in ("GET", "POST"):
            raise RequestError(405, f"method {method} not allowed: use GET or POST")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise RequestError(411, "chunked bodies are not accepted: send Content-Length")
        text = headers.get("content-length")
        if text is None:
            if method == "POST":
                raise RequestError(411, "POST needs a Content-Length header")
            return 0
        if not text.isdigit():
            raise RequestError(400, f"Content-Length {text!r} is not a number")
        length = int(text)
        if length > MAX_BODY:
            raise RequestError(413, f"body of {length} bytes is over the limit of {MAX_BODY}")
        return length

    async def _route(self, method: str, path: str, body: bytes) -> dict[str, Any]:
        path = path.split("?", 1)[0].rstrip("/") or "/"
        if method == "GET":
            if path in ("/", "/info"):
                return self._info()
            if path == "/stats":
                return {"connections": [s.as_json() for s in self.peer.stats()]}
            if path.startswith("/stats/"):
                conn = _int(path[len("/stats/") :], "connection id in the path")
                return {"conn": self.peer.stats(conn)[0].as_json()}
        handler = self._routes.get((method, path))
        if handler is None:
            if any(p == path for _, p in self._routes):
                raise RequestError(405, f"{path} needs POST")
            raise RequestError(404, f"no such endpoint {method} {path}; see GET /info")
        return await handler(_json_object(body))

    def _info(self) -> dict[str, Any]:
        info = self.peer.info()
        info["token_required"] = self.token is not None
        info["limits"] = {"max_body": MAX_BODY, "max_wait_wall": MAX_WAIT_WALL}
        return info

    # -- endpoints ------------------------------------------------------------------------
    async def _mode(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "mode", ("mode", "conn", "proto", "params"), required=("mode",))
        return await self.peer.set_mode(
            req["mode"], req.get("conn"), req.get("proto", "both"), req.get("params")
        )

    async def _push(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "push", ("conn", "data", "delay"), required=("conn", "data"))
        delay = req.get("delay", 0.0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not delay >= 0:
            raise RequestError(400, f"delay must be ≥ 0 module seconds, not {delay!r}")
        if not math.isfinite(delay):
            raise RequestError(400, f"delay must be finite, not {delay!r}")
        return self.peer.push(req["conn"], decode_push(req["data"], "data"), float(delay))

    async def _release(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "release", ("conn", "mode"), required=("conn",))
        return self.peer.release(req["conn"], req.get("mode"))

    async def _reset(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "reset", ("close",))
        close = req.get("close", False)
        if not isinstance(close, bool):
            raise RequestError(400, f"close must be true or false, not {close!r}")
        return await self.peer.reset(close)

    async def _wait(self, req: dict[str, Any]) -> dict[str, Any]:
        event = req.get("event")
        wall = req.get("wall", 0.0)
        if isinstance(wall, bool) or not isinstance(wall, int | float) or not wall >= 0:
            raise RequestError(400, f"wall must be ≥ 0 seconds, not {wall!r}")
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
        raise RequestError(400, f"wait: event {event!r}; use connection, bytes or ended")

    # -- plumbing -------------------------------------------------------------------------
    def _refused(self, writer: asyncio.StreamWriter, head: bytes, e: RequestError) -> None:
        """One log line per refused request (on a VPS this shows who knocks without a token)."""
        peer = writer.get_extra_info("peername") or ("?", 0)
        line = head.split(b"\r\n", 1)[0][:80].decode("latin-1")
        self.peer.log(f"control: {e.status} for {line!r} from {peer[0]}: {e.reason}")

    async def _respond(self, writer: asyncio.StreamWriter, status: int, payload: dict) -> None:
        body = json.dumps({"ok": status < 400, **payload}).encode()
        extra = "WWW-Authenticate: Bearer\r\n" if status == 401 else ""
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}"
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(head.encode() + body)
            await writer.drain()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
        raise RequestError(400, "request head is not text")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise RequestError(400, f"bad request line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise RequestError(400, f"bad header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers


def headers_length(head: bytes) -> int:
    """The Content-Length of a request head (0 if absent or bad)."""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return 0


async def _discard(reader: asyncio.StreamReader, length: int) -> None:
    """Drop an oversized body we refused, so closing does not reset the client's connection."""
    left = min(length, MAX_DISCARD)
    with contextlib.suppress(TimeoutError, ConnectionError, OSError):
        while left > 0:
            chunk = await asyncio.wait_for(reader.read(min(left, 65536)), READ_TIMEOUT_WALL)
            if not chunk:
                return
            left -= len(chunk)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(400, f"body is not JSON: {e}")
    if not isinstance(value, dict):
        raise RequestError(400, f"body must be a JSON object, not {type(value).__name__}")
    return value


def _fields(req: dict[str, Any], what: str, allowed: tuple[str, ...], required=()) -> None:
    unknown = sorted(set(req) - set(allowed))
    if unknown:
        raise RequestError(
            400, f"{what}: unknown field {', '.join(unknown)}; known: {', '.join(allowed)}"
        )
    missing = [k for k in required if k not in req]
    if missing:
        raise RequestError(400, f"{what}: missing field {', '.join(missing)}")


def _int(text: str, what: str) -> int:
    if not text.isdigit():
        raise RequestError(400, f"{what} must be a number, not {text!r}")
    return int(text)
