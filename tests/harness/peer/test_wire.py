"""The control channel's request reader: strict HTTP/1.1 heads, bounded memory, and for any bytes
in any chunks a request, a 4xx refusal or a clean close — never an exception."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.peer.wire import (
    MAX_HEAD,
    MAX_HEADERS,
    NEED_DATA,
    PAUSED,
    Body,
    Closed,
    ReaderState,
    Refusal,
    Request,
    RequestReader,
)

TOKEN = "test-token-0123456789abcdef"
#: The fixed words a refusal may log (`Refusal.kind`): none of them quotes the client.
KINDS = {
    "bad head",
    "bad request line",
    "HTTP version",
    "bad target",
    "too many headers",
    "bad header line",
    "repeated header",
    "method",
    "transfer-encoding",
    "no length",
    "bad length",
    "body too big",
    "head too big",
}


def events(data: bytes, chunks=None, eof: bool = True, max_body: int = 1024) -> list:
    """Every event the reader gives for `data` fed in `chunks` (sizes), then end of input."""
    reader = RequestReader(max_head=MAX_HEAD, max_body=max_body)
    out: list = []
    pos = 0
    for size in [*(chunks or []), len(data)]:
        part = data[pos : pos + size]
        pos += len(part)
        if part:
            reader.receive(part)
        out += _drain(reader)
    if eof:
        reader.receive(b"")
        out += _drain(reader)
    return out


def _drain(reader: RequestReader) -> list:
    got = []
    while (event := reader.next_event()) not in (NEED_DATA, PAUSED):
        got.append(event)
    return got


def only(data: bytes, **kw):
    """The one event that ends `data`'s request (a Refusal or Closed), or (Request, Body)."""
    got = events(data, **kw)
    return got[0] if len(got) == 1 else tuple(got)


# -- requests that are fine ------------------------------------------------------------------
def test_get_and_post_with_a_body_in_pieces():
    got = events(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got == [Request("GET", "/info", {"host": "x"}, 0), Body(b"")]
    data = b'POST /mode HTTP/1.1\r\nContent-Length: 15\r\n\r\n{"mode":"sink"}'
    assert events(data, chunks=[1] * len(data))[1] == Body(b'{"mode":"sink"}')


def test_query_and_fragment_leave_the_path_and_a_trailing_slash_goes():
    head, _ = events(b"GET /stats/?token=abc#x HTTP/1.1\r\n\r\n")
    assert head.path == "/stats" and head.has_query
    assert events(b"GET / HTTP/1.0\r\n\r\n")[0].path == "/"


def test_header_names_are_case_blind_and_values_trimmed():
    head, _ = events(f"GET / HTTP/1.1\r\naUtHoRiZaTiOn:  Bearer {TOKEN} \t\r\n\r\n".encode())
    assert head.headers == {"authorization": f"Bearer {TOKEN}"}


def test_bytes_after_the_body_are_not_kept():
    reader = RequestReader(max_body=10)
    reader.receive(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab" + b"x" * 100_000)
    assert isinstance(reader.next_event(), Request)
    assert reader.next_event() == Body(b"ab")
    assert reader.next_event() is PAUSED and reader.state is ReaderState.DONE
    assert len(reader._buf) == 0


# -- refusals --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "status", "kind"),
    [
        # Unicode digits pass str.isdigit() but are not a length (the handler used to crash).
        (b"GET / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400, "bad length"),  # ² in Latin-1
        ("GET / HTTP/1.1\r\nContent-Length: ²\r\n\r\n".encode(), 400, "bad length"),
        (b"GET / HTTP/1.1\r\nContent-Length: \xd9\xa3\r\n\r\n", 400, "bad length"),
        (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad length"),
        (b"GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "bad length"),
        (b"GET / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 413, "body too big"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413, "body too big"),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            400,
            "repeated header",
        ),
        (b"GET / HTTP/1.1\r\nAuthorization: a\r\nauthorization: b\r\n\r\n", 400, "repeated header"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "transfer-encoding"),
        (b"POST /mode HTTP/1.1\r\n\r\n", 411, "no length"),
        (b"DELETE /info HTTP/1.1\r\n\r\n", 405, "method"),
        (b"GET /info HTTP/2.0\r\n\r\n", 505, "HTTP version"),
        (b"GET http://x/info HTTP/1.1\r\n\r\n", 400, "bad target"),
        (b"GET  /info HTTP/1.1\r\n\r\n", 400, "bad request line"),
        (b"\x00\xff hello\r\n\r\n", 400, "bad request line"),
        (b"GET /info HTTP/1.1\nHost: x\r\n\r\n", 400, "bad head"),
        (b"GET /info HTTP/1.1\r\nX-A: a\x01b\r\n\r\n", 400, "bad header line"),
        (b"GET /info HTTP/1.1\r\nX-A: a\r\n continued\r\n\r\n", 400, "bad header line"),
        (b"GET /info HTTP/1.1\r\nNo colon here\r\n\r\n", 400, "bad header line"),
        (
            b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n",
            431,
            "too many headers",
        ),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n", 431, "head too big"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD, 431, "head too big"),
    ],
)
def test_malformed_heads_are_refused_with_a_reason(raw, status, kind):
    refusal = only(raw)
    assert isinstance(refusal, Refusal), refusal
    assert (refusal.status, refusal.kind) == (status, kind)
    assert refusal.reason


def test_a_refused_header_line_is_not_quoted_back():
    refusal = only(f"GET / HTTP/1.1\r\nAuthorization Bearer {TOKEN}\r\n\r\n".encode())
    assert refusal.status == 400 and TOKEN not in refusal.reason


def test_a_refused_body_length_is_there_to_drop():
    refusal = only(b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", max_body=1024)
    assert refusal.status == 413 and refusal.discard == 5000


def test_end_of_input_before_a_whole_request_is_a_clean_close():
    assert only(b"") == Closed(partial=False)
    assert only(b"GET /info HTT") == Closed(partial=True)
    got = events(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc")
    assert isinstance(got[0], Request) and got[1] == Closed(partial=True)


def test_an_unfinished_head_needs_data():
    reader = RequestReader()
    reader.receive(b"GET /info HTTP/1.1\r\n")
    assert reader.next_event() is NEED_DATA and reader.state is ReaderState.HEAD


# -- properties ------------------------------------------------------------------------------
_LINES = [
    b"GET /info HTTP/1.1",
    b"POST /mode HTTP/1.1",
    b"POST /wait HTTP/1.0",
    b"GET /stats/12 HTTP/1.1",
    b"Content-Length: 0",
    b"Content-Length: 5",
    b"Content-Length: \xb2",
    b"Content-Length: 99999999999999999999",
    b"Transfer-Encoding: chunked",
    f"Authorization: Bearer {TOKEN}".encode(),
    b"Host: 127.0.0.1",
    b"",
    b" folded",
    b"X-\x00: \xff",
]
request_like = st.lists(st.one_of(st.sampled_from(_LINES), st.binary(max_size=40)), max_size=8).map(
    lambda lines: b"\r\n".join(lines) + b"\r\n\r\n"
)
any_input = st.one_of(st.binary(max_size=600), request_like, request_like.map(lambda b: b + b"{}"))


@given(data=any_input, cuts=st.lists(st.integers(1, 64), max_size=12), eof=st.booleans())
@example(data=b"GET / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", cuts=[], eof=True)
def test_any_bytes_in_any_chunks_give_one_answer_and_never_raise(data, cuts, eof):
    got = events(data, chunks=cuts, eof=eof, max_body=64)
    assert got == events(data, eof=eof, max_body=64)  # chunking never changes the outcome
    if not got:  # waiting for more: only before the end of input
        assert not eof
        return
    first, last = got[0], got[-1]
    if isinstance(first, Request):
        assert first.method in ("GET", "POST") and first.path.startswith("/")
        assert 0 <= first.length <= 64
        if len(got) == 1:  # still waiting for the body: only before the end of input
            assert not eof
        else:
            assert len(got) == 2 and isinstance(last, Body | Closed)
            if isinstance(last, Body):
                assert len(last.data) == first.length
    else:
        assert len(got) == 1 and isinstance(first, Refusal | Closed)
        if isinstance(first, Refusal):
            assert 400 <= first.status < 500 or first.status == 505
            assert first.kind in KINDS and first.reason
            assert TOKEN not in first.reason  # a reason never quotes a header line


@given(
    method=st.sampled_from(["GET", "POST"]),
    path=st.from_regex(r"/[a-z0-9/]{0,20}", fullmatch=True),
    body=st.binary(max_size=200),
    extra=st.dictionaries(
        st.from_regex(r"x-[a-z0-9-]{1,10}", fullmatch=True),  # unique whatever the case
        st.from_regex(r"[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?", fullmatch=True),
        max_size=5,
    ),
)
def test_well_formed_requests_read_back_exactly(method, path, body, extra):
    lines = [f"{method} {path} HTTP/1.1", f"Content-Length: {len(body)}"]
    lines += [f"{k.title() if len(k) % 2 else k.upper()}: {v}" for k, v in extra.items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    head, got = events(raw, max_body=200)
    assert (head.method, head.path, head.length) == (method, path.rstrip("/") or "/", len(body))
    assert head.headers == {"content-length": str(len(body))} | extra
    assert got == Body(body)


@given(st.binary(min_size=1, max_size=4096))
def test_memory_stays_bounded(junk):
    reader = RequestReader(max_head=256, max_body=64)
    for _ in range(50):
        reader.receive(junk)
        reader.next_event()
    assert len(reader._buf) <= 256 + 4 + 64
