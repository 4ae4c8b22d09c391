"""The control channel's HTTP/1.1 request reader: a pure state machine, bytes in, events out.

`RequestReader.receive(data)` takes what arrived (b"" for end of input); `next_event()` gives
`Request` (the head), then `Body`, or a `Refusal` (4xx with a reason), `Closed`, or NEED_DATA.
It never raises on any input and holds at most `max_head` + `max_body` bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus

#: Request line plus headers.
MAX_HEAD = 16 * 1024
#: Request body (a push of MAX_PUSH bytes is about 350 KB of base64).
MAX_BODY = 1024 * 1024
#: Header lines in one request.
MAX_HEADERS = 64
#: Digits a Content-Length may have before it is surely over MAX_BODY (413, not a number).
MAX_LENGTH_DIGITS = 12
#: The methods the control channel answers.
METHODS = ("GET", "POST")
#: Headers a request may carry once only: two different answers to "how long, who" are a
#: smuggling trick, not a mistake to guess around.
SINGLE = ("content-length", "transfer-encoding", "authorization", "host")

_TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_REQUEST_LINE = re.compile(
    rb"(?P<method>" + _TCHAR + rb"+) (?P<target>[\x21-\x7e]+) HTTP/(?P<major>[0-9])\.[0-9]"
)
_HEADER = re.compile(
    rb"(?P<name>" + _TCHAR + rb"+):[ \t]*(?P<value>[^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*"
)
_DIGITS = re.compile(rb"[0-9]+")


class ReaderState(StrEnum):
    """Where the reader is in one request; REFUSED and DONE are final."""

    HEAD = "reading the head"
    BODY = "reading the body"
    DONE = "request complete"
    REFUSED = "refused"
    CLOSED = "closed by the client"


@dataclass(frozen=True)
class Request:
    """The head of a request: method, path (query and fragment removed), headers, body length."""

    method: str
    path: str
    headers: Mapping[str, str] = field(repr=False)
    length: int = 0
    has_query: bool = False


@dataclass(frozen=True)
class Body:
    """The whole body (`Request.length` bytes)."""

    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Refusal:
    """Answer `status` with `reason` and close; `discard` body bytes are still on their way.

    `reason` may quote what the client sent (it goes back to that client only); `kind` is a
    fixed description, safe to log.
    """

    status: int
    reason: str
    kind: str
    discard: int = 0


@dataclass(frozen=True)
class Closed:
    """The client ended its side before a whole request arrived (`partial`: some bytes came)."""

    partial: bool


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: More bytes are needed for the next event.
NEED_DATA = _Sentinel("NEED_DATA")
#: The reader has given its last event (Body, Refusal or Closed).
PAUSED = _Sentinel("PAUSED")

Event = Request | Body | Refusal | Closed | _Sentinel


class RequestReader:
    """One HTTP/1.1 request (Content-Length bodies only), read strictly."""

    def __init__(self, max_head: int = MAX_HEAD, max_body: int = MAX_BODY) -> None:
        self.max_head = max_head
        self.max_body = max_body
        self.state = ReaderState.HEAD
        self.request: Request | None = None
        self._buf = bytearray()
        self._scanned = 0  # head bytes already searched for the blank line
        self._eof = False
        self.received = 0  # bytes fed in all (past the end too)

    # -- input ----------------------------------------------------------------------------
    def receive(self, data: bytes) -> None:
        """Feed what arrived; b"" means the client closed its side."""
        self.received += len(data)
        if not data:
            self._eof = True
        elif self.state in (ReaderState.HEAD, ReaderState.BODY):
            # Keep at most what a request may still need (bytes past it are pipelining,
            # which the channel does not do), so memory stays bounded.
            room = self._room() - len(self._buf)
            if room > 0:
                self._buf += data[:room]

    def _room(self) -> int:
        if self.state is ReaderState.HEAD:
            return self.max_head + 4 + self.max_body
        assert self.request is not None
        return self.request.length

    # -- output ---------------------------------------------------------------------------
    def next_event(self) -> Event:
        """The next event: Request, then Body; or Refusal / Closed; NEED_DATA; PAUSED after
        the last one."""
        if self.state is ReaderState.HEAD:
            return self._head()
        if self.state is ReaderState.BODY:
            return self._body()
        return PAUSED

    def _head(self) -> Event:
        end = self._buf.find(b"\r\n\r\n", max(0, self._scanned - 3))
        if end < 0:
            self._scanned = len(self._buf)
            if len(self._buf) > self.max_head:
                return self._refuse(431, f"request head over {self.max_head} bytes", "head too big")
            if self._eof:
                self.state = ReaderState.CLOSED
                return Closed(partial=bool(self._buf))
            return NEED_DATA
        if end > self.max_head:
            return self._refuse(431, f"request head over {self.max_head} bytes", "head too big")
        head = bytes(self._buf[:end])
        rest = self._buf[end + 4 :]
        outcome = parse_head(head, self.max_body)
        if isinstance(outcome, Refusal):
            self.state = ReaderState.REFUSED
            self._buf.clear()
            return outcome
        self.request = outcome
        self.state = ReaderState.BODY
        self._buf = bytearray(rest[: outcome.length])
        return outcome

    def _body(self) -> Event:
        assert self.request is not None
        if len(self._buf) >= self.request.length:
            self.state = ReaderState.DONE
            data = bytes(self._buf[: self.request.length])
            self._buf.clear()
            return Body(data)
        if self._eof:
            self.state = ReaderState.CLOSED
            return Closed(partial=True)
        return NEED_DATA

    def _refuse(self, status: int, reason: str, kind: str, discard: int = 0) -> Refusal:
        self.state = ReaderState.REFUSED
        self._buf.clear()
        return Refusal(status, reason, kind, discard)


# -- the head --------------------------------------------------------------------------------
def parse_head(head: bytes, max_body: int = MAX_BODY) -> Request | Refusal:
    """A request head (without its blank line) → `Request`, or the `Refusal` it earns."""
    lines = head.split(b"\r\n")
    if any(b"\n" in line or b"\r" in line for line in lines):
        return Refusal(400, "bare CR or LF in the request head: end lines with CRLF", "bad head")
    m = _REQUEST_LINE.fullmatch(lines[0])
    if m is None:
        return Refusal(400, "bad request line: send 'METHOD /path HTTP/1.1'", "bad request line")
    if m["major"] != b"1":
        return Refusal(505, "only HTTP/1.0 and HTTP/1.1 are spoken here", "HTTP version")
    method = m["method"].decode("ascii")
    target = m["target"].decode("ascii")
    if not target.startswith("/"):
        return Refusal(400, "the request target must be a path starting with /", "bad target")
    headers: dict[str, str] = {}
    if len(lines) - 1 > MAX_HEADERS:
        return Refusal(431, f"more than {MAX_HEADERS} header lines", "too many headers")
    for line in lines[1:]:
        h = _HEADER.fullmatch(line)
        if h is None:
            # Do not quote it: a header line may hold the token.
            return Refusal(
                400, "bad header line: send 'Name: value' without control characters",
                "bad header line",
            )  # fmt: skip
        name = h["name"].decode("ascii").lower()
        if name in headers:
            if name in SINGLE:
                return Refusal(400, f"header {name} given twice; send it once", "repeated header")
            continue
        headers[name] = h["value"].decode("latin-1")
    discard = _declared_length(headers)
    if method not in METHODS:
        return Refusal(
            405, f"method {_shown(method)} not allowed: use GET or POST", "method", discard
        )
    if "transfer-encoding" in headers:
        return Refusal(
            411,
            "Transfer-Encoding (chunked) is not accepted: send the body with Content-Length",
            "transfer-encoding",
        )
    text = headers.get("content-length")
    if text is None:
        if method == "POST":
            return Refusal(411, "POST needs a Content-Length header", "no length")
        length = 0
    else:
        raw = text.encode("latin-1")
        if _DIGITS.fullmatch(raw) is None:
            return Refusal(
                400, f"Content-Length {_shown(text)} is not a number (ASCII digits 0-9)",
                "bad length",
            )  # fmt: skip
        if len(raw) > MAX_LENGTH_DIGITS or int(raw) > max_body:
            shown = f"{int(raw)} bytes" if len(raw) <= MAX_LENGTH_DIGITS else f"{len(raw)} digits"
            return Refusal(
                413, f"body of {shown} is over the limit of {max_body}", "body too big", discard
            )
        length = int(raw)
    path, query = _split_target(target)
    return Request(method, path, headers, length, has_query=query)


def _declared_length(headers: Mapping[str, str]) -> int:
    """The body the client will send anyway (to drop it before closing); 0 if unreadable."""
    raw = headers.get("content-length", "").encode("latin-1")
    if _DIGITS.fullmatch(raw) is None or len(raw) > MAX_LENGTH_DIGITS:
        return 0
    return int(raw)


def _split_target(target: str) -> tuple[str, bool]:
    path = target.split("#", 1)[0]
    path, sep, _ = path.partition("?")
    return (path.rstrip("/") or "/"), bool(sep)


def _shown(text: str, limit: int = 40) -> str:
    """`text` quoted for a reason line, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status ("Bad Request")."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
