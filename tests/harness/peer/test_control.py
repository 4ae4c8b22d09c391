"""The HTTP control channel: bad requests get a 4xx with a JSON reason; the server keeps serving."""

from __future__ import annotations

import http.client
import json
import socket

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.clock import Clock
from harness.peer import PeerControl, PeerServer, wire
from harness.peer.guard import PeerLimits

TOKEN = "test-token-0123456789abcdef"
#: Module seconds for what should happen "at once" (5 s of wall time at the test scale).
SOON = 250.0
pytestmark = pytest.mark.timeout(60)


def request(server, method, path, body=None, headers=None, raw=None):
    """One HTTP exchange with the control channel → (status, JSON answer)."""
    host, port = server.control_address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def still_serving(server, headers=None):
    status, info = request(server, "GET", "/info", headers=headers)
    assert status == 200 and info["ok"] and info["server"] == "modemcert-peer"


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "reason"),
    [
        ("POST", "/mode", b"{not json", 400, "not JSON"),
        ("POST", "/mode", b"[1, 2]", 400, "JSON object"),
        ("POST", "/mode", b'{"mode": "bounce"}', 400, "unknown mode 'bounce'"),
        ("POST", "/mode", b'{"mode": "echo", "colour": 1}', 400, "unknown field colour"),
        ("POST", "/mode", b'{"mode": "close", "params": {"after": -1}}', 400, "≥ 0"),
        ("POST", "/mode", b'{"mode": "close", "params": {"how": "slam"}}', 400, "fin, reset"),
        ("POST", "/mode", b'{"mode": "push", "params": {}}', 400, "data is missing"),
        ("POST", "/mode", b'{"mode": "push", "params": {"data": {"base64": "!!"}}}', 400, "base64"),
        ("POST", "/mode", b'{"mode": "echo", "proto": "sctp"}', 400, "proto"),
        ("POST", "/mode", b'{"mode": "echo", "params": {"count": 0}}', 400, "count"),
        ("POST", "/mode", b'{"mode": "echo", "conn": 99}', 404, "unknown connection 99"),
        ("POST", "/push", b'{"conn": 99, "data": "x"}', 404, "unknown connection 99"),
        ("POST", "/push", b'{"conn": "one", "data": "x"}', 400, "connection id"),
        ("POST", "/release", b'{"conn": 99}', 404, "unknown connection"),
        ("POST", "/wait", b'{"event": "coffee"}', 400, "event"),
        ("POST", "/wait", b'{"event": "bytes", "conn": 99, "n": 1}', 404, "unknown connection"),
        ("POST", "/reset", b'{"close": "yes"}', 400, "true or false"),
        ("GET", "/stats/99", None, 404, "unknown connection"),
        ("GET", "/stats/x", None, 400, "must be a number"),
        ("GET", "/nowhere", None, 404, "no such endpoint"),
        ("GET", "/mode", None, 405, "needs POST"),
        ("DELETE", "/info", None, 405, "not allowed"),
    ],
)
def test_bad_requests_get_a_reason_and_the_server_keeps_serving(
    server, method, path, raw, status, reason
):
    before = state(server)
    got, answer = request(server, method, path, raw=raw)
    assert got == status, answer
    assert answer["ok"] is False and reason in answer["error"]
    assert state(server) == before  # a refused request changes nothing
    still_serving(server)


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/mode", {"mode": "sink", "conn": 1, "proto": "udp"}, 400, "is tcp"),
        ("/mode", {"mode": "hold", "conn": 1, "params": {"count": 2}}, 400, "count applies"),
        ("/mode", {"mode": "close", "conn": 1, "params": {"after": 1e9}}, 400, "module seconds"),
        ("/mode", {"mode": "hold", "proto": "tcp", "params": {"rcvbuf": 2**31}}, 400, "rcvbuf"),
        ("/mode", {"mode": "sink", "params": {"count": 10**7}}, 400, "count"),
        ("/mode", {"mode": "refuse", "params": {"count": 1}}, 400, "no count"),
        ("/push", {"conn": 1, "data": "x", "delay": -1}, 400, "delay"),
        ("/push", {"conn": 1, "data": "x", "delay": 1e9}, 400, "delay"),
        ("/push", {"conn": 1, "data": {"hex": "0"}}, 400, "hex"),
        ("/push", {"conn": 2**60, "data": "x"}, 400, "connection id"),
        ("/release", {"conn": 1}, 409, "not held"),
        ("/release", {"conn": 1, "mode": "hold"}, 400, "release reads again"),
        ("/wait", {"event": "bytes", "conn": 1, "n": 2**41, "wall": 0}, 400, "n (bytes)"),
        ("/wait", {"event": "connection", "after": -1, "wall": 0}, 400, "after"),
        ("/reset", {"close": "yes"}, 400, "true or false"),
    ],
)
def test_rejections_on_a_live_connection_change_nothing(
    server, net, peer, path, body, status, reason
):
    s = net.tcp()
    assert peer.wait_connection(SOON).id == 1
    before = state(server)
    got, answer = request(server, "POST", path, body)
    assert got == status and reason in answer["error"], answer
    assert state(server) == before
    s.sendall(b"echo as before")
    assert net.recv_exactly(s, 14) == b"echo as before"


def test_oversized_body_is_refused_with_413(server):
    raw = b'{"mode": "echo", "pad": "' + b"x" * wire.MAX_BODY + b'"}'
    status, answer = request(server, "POST", "/mode", raw=raw)
    assert status == 413 and "over the limit" in answer["error"]
    still_serving(server)


def test_post_without_length_and_oversized_head(server):
    host, port = server.control_address
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /mode HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b" 411 " in s.recv(4096).split(b"\r\n")[0] + b" "
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"GET /info HTTP/1.1\r\nX-Big: " + b"a" * (wire.MAX_HEAD + 10))
        assert s.recv(4096).startswith(b"HTTP/1.1 431 ")
    still_serving(server)


def test_garbage_request_line(server):
    host, port = server.control_address
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"\x00\xff hello\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400 ")
    still_serving(server)


def test_slow_client_gets_408(clock):
    with PeerServer(clock=clock, limits=PeerLimits(head_wall=0.2)) as server:
        host, port = server.control_address
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"GET /info HTTP/1.1\r\n")  # and never the blank line
            assert s.recv(4096).startswith(b"HTTP/1.1 408 ")
        still_serving(server)


def test_too_many_requests_at_once_get_503_and_a_closed_poll_frees_its_slot(clock):
    limits = PeerLimits(control_clients=2)
    with PeerServer(clock=clock, limits=limits) as server:
        host, port = server.control_address
        body = json.dumps({"event": "connection", "wall": 15}).encode()
        head = b"POST /wait HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
        polls = [socket.create_connection((host, port), timeout=10) for _ in range(2)]
        try:
            for s in polls:  # long polls hold a slot each
                s.sendall(head + body)
            wait_for(clock, lambda: server._control_server.clients == 2, "polls in their slots")
            status, answer = request(server, "GET", "/info")
            assert status == 503 and "busy" in answer["error"]
        finally:
            for s in polls:
                s.close()
        # A long poll whose client went away ends at once, not when its wall runs out.
        wait_for(clock, lambda: server._control_server.clients == 0, "slots freed")
        still_serving(server)


def wait_for(clock, condition, what):
    deadline = clock.deadline(SOON)
    while not condition():
        assert not deadline.expired, f"not within {SOON} module s: {what}"
        clock.sleep(0.5)


def test_token_is_required_and_checked(token_server):
    status, answer = request(token_server, "GET", "/info")
    assert status == 401 and "no token" in answer["error"]
    wrong = {"Authorization": "Bearer " + "x" * len(TOKEN)}
    status, answer = request(token_server, "GET", "/stats", headers=wrong)
    assert status == 401 and "wrong token" in answer["error"]
    status, answer = request(token_server, "POST", "/mode", {"mode": "sink"}, headers=wrong)
    assert status == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    status, info = request(token_server, "GET", "/info", headers=good)
    assert status == 200 and info["token_required"] is True
    assert info["armed"]["tcp"]["now"]["mode"] == "echo"  # the refused POST changed nothing


def test_modes_and_bytes_in_json_forms(server):
    for data in ({"hex": "434c4f534544"}, {"base64": "Q0xPU0VE"}, "CLOSED"):
        status, answer = request(
            server, "POST", "/mode", {"mode": "push", "proto": "tcp", "params": {"data": data}}
        )
        assert status == 200, answer
        assert answer["mode"]["data"] == {"base64": "Q0xPU0VE"}


# -- hardening: one test per finding (each failed on the peer before it was hardened) ---------
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def exchange(server, data: bytes, source: str = "127.0.0.1", shut: bool = True):
    """Send raw bytes to the control channel from `source`; (status, JSON answer) or
    (None, None) for a close without an answer. End of input follows unless `shut` is False."""
    with socket.socket() as s:
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(server.control_address)
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        got = bytearray()
        try:
            while chunk := s.recv(65536):
                got += chunk
        except ConnectionResetError:
            pass
    if not got:
        return None, None
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def post(path: str, body: bytes, token: str | None = TOKEN) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    return b"POST %s HTTP/1.1\r\nContent-Length: %d\r\n%s\r\n%s" % (
        path.encode(),
        len(body),
        auth,
        body,
    )


def state(server, headers=None):
    """What a request could change: armed modes, listeners, ids, and every connection."""
    _, info = request(server, "GET", "/info", headers=headers)
    _, stats = request(server, "GET", "/stats", headers=headers)
    return info, stats


def test_idle_clients_without_a_token_cannot_lock_out_the_harness(token_server, clock):
    """Finding: 40 idle clients took all 32 slots before the token was checked; 79 of 80
    legitimate requests got 503."""
    host, port = token_server.control_address
    idle = [socket.create_connection((host, port), timeout=10) for _ in range(100)]
    try:
        peer = PeerControl(token_server.control_url, TOKEN, clock)
        for _ in range(80):  # from the same address as the idle ones
            assert peer.info().token_required
        other = {"source_address": ("127.0.0.2", 0)}
        for _ in range(20):  # and from another one
            conn = http.client.HTTPConnection(host, port, timeout=10, **other)
            conn.request("GET", "/info", headers=AUTH)
            assert conn.getresponse().status == 200
            conn.close()
    finally:
        for s in idle:
            s.close()
    assert token_server.errors == []


def test_waiting_unauthenticated_connections_are_bounded_per_address(clock):
    limits = PeerLimits(control_per_source=3)
    with PeerServer(clock=clock, token=TOKEN, limits=limits) as server:
        host, port = server.control_address
        idle = [socket.create_connection((host, port), timeout=10) for _ in range(5)]
        try:
            # The two oldest are told why and closed, to make room for the newer ones.
            for s in idle[:2]:
                answer = s.recv(4096)
                assert answer.startswith(b"HTTP/1.1 503 ") and b"unauthenticated" in answer
            status, _ = exchange(server, b"GET /info HTTP/1.1\r\n\r\n", source="127.0.0.2")
            assert status == 401  # another address still gets its answer
        finally:
            for s in idle:
                s.close()


def test_unicode_digits_in_content_length_get_400_not_a_dead_handler(server):
    """Finding: `Content-Length: ²` passed isdigit() and killed the handler (no answer)."""
    # b"\xb2" is "²" in Latin-1, how HTTP header bytes are read; the UTF-8 form too.
    for length in (b"\xb2", "²".encode(), b"\xd9\xa3", b"\xef\xbc\x91"):
        status, answer = exchange(
            server, b"GET /info HTTP/1.1\r\nContent-Length: %s\r\n\r\n" % length
        )
        assert status == 400 and "not a number" in answer["error"]
    assert server.errors == []
    still_serving(server)


def test_an_oversized_receive_buffer_is_refused_and_arms_nothing(server, net, peer):
    """Finding: rcvbuf 99999999999999 answered 500 yet left hold half-armed; the next data
    connections closed at once or hung."""
    before = state(server)
    status, answer = exchange(
        server,
        post("/mode", b'{"mode": "hold", "proto": "tcp", "params": {"rcvbuf": 99999999999999}}'),
    )
    assert status == 400 and "rcvbuf" in answer["error"]
    assert state(server) == before
    for _ in range(3):
        s = net.tcp()
        s.sendall(b"still echo")
        assert net.recv_exactly(s, 10) == b"still echo"
    assert server.errors == []


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (post("/mode", b'{"mode": "echo", "conn": ' + b"7" * 5000 + b"}", None), "5000 digits"),
        (post("/wait", b'{"event": "bytes", "conn": 1, "n": 1e999}', None), "too large"),
        (post("/mode", b"[" * 100_000 + b"]" * 100_000, None), "nests deeper"),
        (post("/mode", b'{"params": ' * 50 + b"1" + b"}" * 50, None), "nests deeper"),
        (post("/push", b'{"conn": 1, "data": "\\udc80"}', None), "not valid Unicode"),
        (post("/mode", b'{"mode": "close", "params": {"after": NaN}}', None), "NaN"),
        (b"GET /stats/" + b"9" * 5000 + b" HTTP/1.1\r\n\r\n", "ASCII digits"),
        (b"GET /stats/" + "٣".encode() + b" HTTP/1.1\r\n\r\n", "bad request line"),
        (b"GET /stats/99999999999999999 HTTP/1.1\r\n\r\n", "at most 16"),
    ],
)
def test_huge_numbers_and_deep_nesting_get_400_not_500(server, net, peer, data, words):
    """Finding: a 5000-digit integer, JSON nested 100,000 deep and GET /stats/<5000 digits>
    answered 500 where the docs promise 400."""
    net.tcp()
    peer.wait_connection(SOON)
    before = state(server)
    status, answer = exchange(server, data)
    assert status == 400, answer
    assert words in answer["error"] or words in answer["error"].replace("'", "")
    assert state(server) == before and server.errors == []


def test_a_request_line_query_string_or_header_is_never_logged(clock):
    """Finding: the peer logged a refused request's line, so a token in a query string (or a
    wrong token's header) reached the log."""
    lines: list[str] = []
    secrets = [f"SECRET{i}-0123456789abcdef" for i in range(6)]
    with PeerServer(clock=clock, token=TOKEN, log=lines.append) as server:
        sent = [
            f"GET /info?token={secrets[0]} HTTP/1.1\r\n\r\n",
            f"GET /info HTTP/1.1\r\nAuthorization: Bearer {secrets[1]}\r\n\r\n",
            f"GET /info HTTP/1.1\r\nAuthorization Bearer {secrets[2]}\r\n\r\n",
            f"GET /{secrets[3]}/info HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n",
            f"BREW /info?{secrets[4]} HTTP/1.1\r\n\r\n",
            f"GET /info?x HTTP/1.1\r\nContent-Length: {secrets[5]}\r\n\r\n",
        ]
        answers = [exchange(server, text.encode())[0] for text in sent]
        assert answers == [401, 401, 400, 404, 405, 400]
    log = "\n".join(lines)
    assert not [s for s in [*secrets, TOKEN] if s in log], log
    assert "control: 401 no token for GET /info from 127.0.0.1" in log
    assert "control: 401 wrong token for GET /info from 127.0.0.1" in log
    assert "control: 404 no such endpoint for GET an unknown path from 127.0.0.1" in log
    assert "control: 400 bad header line for a malformed request from 127.0.0.1" in log


# -- any bytes at the control channel ---------------------------------------------------------
@pytest.fixture(scope="module")
def live():
    """A token peer with one open TCP connection (id 1), shared by every example (hypothesis
    runs many per test), with short deadlines so an unfinished head costs little."""
    clock = Clock(0.02)
    limits = PeerLimits(head_wall=1.0, body_wall=2.0)
    with PeerServer(clock=clock, token=TOKEN, limits=limits) as server:
        data = socket.create_connection(server.address, timeout=10)
        PeerControl(server.control_url, TOKEN, clock).wait_connection(SOON)
        yield server
        data.close()


_ROUTES = [(b"POST", "/mode")] * 4 + [(b"POST", "/push")] * 2 + [
    (b"POST", "/release"), (b"POST", "/reset"), (b"POST", "/wait"), (b"POST", "/wait"),
    (b"GET", "/info"), (b"GET", "/stats"), (b"GET", "/stats/1"), (b"GET", "/stats/x"),
    (b"GET", "/"), (b"PUT", "/info"), (b"GET", "/mode"), (b"POST", "/nowhere"), (b"get", "/info"),
]  # fmt: skip
_FIELDS = ["mode", "conn", "proto", "params", "data", "delay", "close", "event", "after", "n",
           "wall", "count", "rcvbuf", "after_bytes", "how", "then"]  # fmt: skip
_WORDS = ["echo", "sink", "hold", "close", "push", "silent", "tcp", "udp", "both", "fin",
          "reset", "bytes", "ended", "x"]  # fmt: skip
_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**15, max_value=10**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(_WORDS),
        st.text(max_size=10),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_FIELDS), inner, max_size=3)
    ),
    max_leaves=8,
)


def _body(fields: dict) -> bytes:
    if fields.get("event") is not None or "wall" in fields:
        fields["wall"] = 0.0  # a valid long poll would only make the example slow
    if fields.get("mode") == "push" and "delay" in fields:
        fields.pop("delay")
    return json.dumps(fields).encode()


_GOOD = f"Authorization: Bearer {TOKEN}\r\n".encode()
_requests = st.builds(
    lambda route, auth, body, cut: (
        b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
        % (route[0], route[1].encode(), auth, len(body), body)
    )[: cut or None],
    st.sampled_from(_ROUTES),
    st.sampled_from([_GOOD] * 6 + [b"", b"Authorization: x\r\n"]),
    st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=5).map(_body)
    | st.binary(max_size=60),
    st.sampled_from([0] * 12 + [1, 20, 45, 70, 150]),  # mostly whole, some cut short
)


@given(data=st.one_of(_requests, _requests, _requests, st.binary(max_size=300)))
@example(data=b"GET /info HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n")
@example(data=post("/mode", b'{"mode": "hold", "params": {"rcvbuf": 99999999999999}}'))
def test_any_bytes_get_an_answer_or_a_clean_close_and_a_refusal_changes_nothing(live, data):
    before = state(live, AUTH)
    status, answer = exchange(live, data)
    assert status is None or 200 <= status < 300 or 400 <= status < 500 or status == 505, answer
    if status is not None:
        assert answer["ok"] is (status < 300) and (status < 300 or answer["error"])
    if status is None or status >= 400:
        assert state(live, AUTH) == before
    assert live.errors == []
