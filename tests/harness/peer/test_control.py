"""The HTTP control channel: bad requests get a 4xx with a JSON reason; the server keeps serving."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from harness.peer import PeerServer, control

TOKEN = "test-token-0123456789abcdef"
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
    got, answer = request(server, method, path, raw=raw)
    assert got == status, answer
    assert answer["ok"] is False and reason in answer["error"]
    still_serving(server)


def test_oversized_body_is_refused_with_413(server):
    raw = b'{"mode": "echo", "pad": "' + b"x" * control.MAX_BODY + b'"}'
    status, answer = request(server, "POST", "/mode", raw=raw)
    assert status == 413 and "over the limit" in answer["error"]
    still_serving(server)


def test_post_without_length_and_oversized_head(server):
    host, port = server.control_address
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /mode HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b" 411 " in s.recv(4096).split(b"\r\n")[0] + b" "
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"GET /info HTTP/1.1\r\nX-Big: " + b"a" * (control.MAX_HEAD + 10))
        assert s.recv(4096).startswith(b"HTTP/1.1 431 ")
    still_serving(server)


def test_garbage_request_line(server):
    host, port = server.control_address
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"\x00\xff hello\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400 ")
    still_serving(server)


def test_slow_client_gets_408(clock, monkeypatch):
    monkeypatch.setattr(control, "READ_TIMEOUT_WALL", 0.2)
    with PeerServer(clock=clock) as server:
        host, port = server.control_address
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"GET /info HTTP/1.1\r\n")  # and never the blank line
            assert s.recv(4096).startswith(b"HTTP/1.1 408 ")
        still_serving(server)


def test_too_many_control_clients_get_503_and_then_it_serves_again(server):
    host, port = server.control_address
    idle = [socket.create_connection((host, port), timeout=10) for _ in range(control.MAX_CLIENTS)]
    try:
        # Each idle connection is being served once the server has read from it; a complete
        # request on every one would prove it, so wait for the 503 instead.
        got = None
        for _ in range(50):
            with socket.create_connection((host, port), timeout=10) as s:
                s.sendall(b"GET /info HTTP/1.1\r\n\r\n")
                got = s.recv(4096)
            if got.startswith(b"HTTP/1.1 503 "):
                break
        assert got is not None and got.startswith(b"HTTP/1.1 503 "), got
        assert b"busy" in got
    finally:
        for s in idle:
            s.close()
    # The idle ones end when their sockets close; then the server answers again.
    for _ in range(200):
        status, _ = request(server, "GET", "/info")
        if status == 200:
            break
    assert status == 200


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
