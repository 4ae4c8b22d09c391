"""Attack the peer server as an unauthenticated or malformed client would, on loopback, and
measure what still works for the harness.

The peer runs as `modemcert peer` in its own process (as on a VPS), with a token. Three attacks:

1. *Control fuzz*: ≥ 10,000 generated control requests, valid and malformed (bad lengths,
   Unicode digits, huge numbers, deep JSON, wrong tokens, oversized heads and bodies, cut short,
   random bytes), 8 at a time. Every one must get a 2xx/4xx answer (or 503/505) or a clean
   close (FIN): a 500, a reset without an answer, a traceback or an internal error in the
   peer's log, or no end within HANG_WALL, is a failure.
2. *Idle control*: 1,000 connections to the control port that never send a byte, from one
   address (127.0.0.1) or spread over 100. Meanwhile the harness (127.0.0.2, and 127.0.0.1
   too) sends GET /info with the token: each must be answered 2xx within 1 s. Shown beside
   it, not in the verdict: a reconnect flood, where every connection the peer closes is
   reopened at once (1,000 kept open as hard as one process can).
3. *Idle data*: 1,000 idle connections to the data port from 127.0.0.1; connections from
   127.0.0.2 must still be echoed within 1 s.

Baselines (the same requests without an attack) are measured in the same run.

    python bench/peer_attack.py [--requests 10000] [--idle 1000] [--legit 300] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import random
import re
import resource
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from _common import BenchError, Summary, positive, run, table, verdict_line

from harness.clock import stamp

ROOT = Path(__file__).resolve().parent.parent
TARGET_REQUESTS = 10_000
TARGET_IDLE = 1000
QUICK_REQUESTS = 1200
QUICK_LEGIT = 60
#: Legitimate requests per row of the idle attacks.
DEFAULT_LEGIT = 300
#: A legitimate request counts only if answered within this many wall seconds.
ANSWER_WALL = 1.0
#: Share of legitimate requests that must be answered in time under attack, %.
TARGET_ANSWERED = 99.0
#: Wall seconds a fuzz request may take to end before it counts as a hang (the peer's own
#: deadlines are 2 s for a head and 15 s for a body).
HANG_WALL = 20.0
#: Requests in flight at once during the fuzz.
WORKERS = 8
#: The peer's second address on loopback: "another host" for the per-address limits.
OTHER = "127.0.0.2"
PROTOS = ["tcp", "udp", "both"]
#: Where the fuzz's slow clients come from.
SLOW_SOURCE = "127.0.0.3"
#: The attacker's addresses when it spreads over many (127.0.1.1 …).
SPREAD = 100
#: Answers that are fine: success, the client's mistake, busy, HTTP version.
FINE = {503, 505}


class Peer:
    """A `modemcert peer` subprocess with a token; its log lines, collected as they come."""

    def __init__(self, *extra: str) -> None:
        self.token = secrets.token_urlsafe(32)
        self._dir = tempfile.TemporaryDirectory(prefix="modemcert-attack-")
        token_file = Path(self._dir.name) / "token"
        token_file.write_text(self.token)
        argv = [sys.executable, "-m", "harness.cli", "peer", "--listen", "127.0.0.1:0"]
        argv += ["--control", "127.0.0.1:0", "--token-file", str(token_file), *extra]
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        banner = "".join(self.proc.stdout.readline() for _ in range(5))  # type: ignore[union-attr]
        data = re.search(r"TCP and UDP 127\.0\.0\.1:(\d+)", banner)
        control = re.search(r"control\s+http://127\.0\.0\.1:(\d+)", banner)
        if data is None or control is None:
            self.proc.kill()
            err = self.proc.communicate(timeout=10)[1]
            raise BenchError(f"`modemcert peer` did not start: {(banner + err).strip()[:300]}")
        self.data = ("127.0.0.1", int(data.group(1)))
        self.control = ("127.0.0.1", int(control.group(1)))
        self.out: list[str] = []
        self.err: list[str] = []
        self.keep: list[socket.socket] = []  # data connections the fuzz acts on
        self._readers = [
            threading.Thread(target=self._collect, args=(s, sink), daemon=True)
            for s, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for t in self._readers:
            t.start()

    @staticmethod
    def _collect(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def stop(self) -> int:
        for s in self.keep:
            s.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._readers:
            t.join(10)
        self._dir.cleanup()
        return self.proc.returncode

    def bugs(self) -> list[str]:
        """Internal errors and tracebacks the peer reported."""
        return [
            line
            for line in [*self.out, *self.err]
            if "internal error" in line or "Traceback" in line
        ]

    def info(self) -> dict:
        status, body = http_request(self.control, "GET", "/info", self.token)
        if status != 200:
            raise BenchError(f"the peer answered GET /info with {status}: {body}")
        return json.loads(body)


@contextlib.contextmanager
def peer(*extra: str) -> Iterator[Peer]:
    p = Peer(*extra)
    try:
        yield p
    finally:
        p.stop()


def http_request(
    control: tuple[str, int],
    method: str,
    path: str,
    token: str | None,
    body: dict | None = None,
    source: str = "127.0.0.1",
    wall: float = 5.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*control, timeout=wall, source_address=(source, 0))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- 1. control fuzz ----------------------------------------------------------------------------
@dataclass
class Generator:
    """Control requests, valid and malformed, from a seeded random source."""

    rng: random.Random
    token: str
    conns: list[int]

    CATEGORIES = (
        ("valid", 24),
        ("bad value", 14),
        ("bad JSON", 10),
        ("bad length", 8),
        ("mutated", 12),
        ("cut short", 8),
        ("token", 8),
        ("path", 6),
        ("random bytes", 6),
        ("oversized", 2),
        ("slow", 2),
    )

    def next(self) -> tuple[str, bytes, bool]:
        """(category, bytes to send, whether to end our side after sending)."""
        names = [c for c, _ in self.CATEGORIES]
        weights = [w for _, w in self.CATEGORIES]
        category = self.rng.choices(names, weights)[0]
        make: Callable[[], tuple[bytes, bool]] = getattr(self, "_" + category.replace(" ", "_"))
        data, shut = make()
        return category, data, shut

    # requests that are fine --------------------------------------------------------------
    def request(
        self, method: str, path: str, body: bytes | None = None, auth: str | None = None
    ) -> bytes:
        auth = f"Bearer {self.token}" if auth is None else auth
        lines = [f"{method} {path} HTTP/1.1", "Host: peer"]
        if auth:
            lines.append(f"Authorization: {auth}")
        if body is not None or method == "POST":
            lines.append(f"Content-Length: {len(body or b'')}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    def valid_body(self) -> tuple[str, dict]:
        r = self.rng
        conn = r.choice(self.conns)
        once = {"count": 1, "rcvbuf": r.randint(0, 65536)}
        choices: list[tuple[str, dict]] = [
            ("/mode", {"mode": r.choice(["echo", "sink", "silent"]), "proto": r.choice(PROTOS)}),
            ("/mode", {"mode": "hold", "proto": "tcp", "params": once}),
            ("/mode", {"mode": "close", "proto": "udp", "params": {"after": r.uniform(0, 5)}}),
            (
                "/mode",
                {"mode": "push", "params": {"data": {"hex": "434c4f534544"}, "then": "sink"}},
            ),
            ("/mode", {"mode": "sink", "conn": conn}),
            ("/push", {"conn": conn, "data": "x" * r.randint(1, 64), "delay": r.uniform(0, 2)}),
            ("/release", {"conn": conn}),
            ("/wait", {"event": "connection", "after": r.randint(0, 5), "wall": 0.01}),
            ("/wait", {"event": "bytes", "conn": conn, "n": r.randint(0, 10), "wall": 0.01}),
            ("/wait", {"event": "ended", "conn": conn, "wall": 0.01}),
        ]
        return r.choice(choices)

    def valid(self) -> bytes:
        r = self.rng.random()
        if r < 0.3:
            path = self.rng.choice(["/info", "/stats", f"/stats/{self.rng.choice(self.conns)}"])
            return self.request("GET", path)
        path, body = self.valid_body()
        return self.request("POST", path, json.dumps(body).encode())

    def _valid(self) -> tuple[bytes, bool]:
        return self.valid(), self.rng.random() < 0.5

    # malformed ---------------------------------------------------------------------------
    def _bad_value(self) -> tuple[bytes, bool]:
        r = self.rng
        huge = r.choice([10**15, 10**19, -(10**18), 2**53, 2**63, 99999999999999, -1, 0])
        conn = r.choice([huge, "1", 1.5, None, True, [1], {"id": 1}, r.choice(self.conns)])
        after = r.choice([-1, 1e308, huge])
        wait = {"conn": conn, "n": huge, "wall": r.choice([-1, "x", 0.01])}
        bodies = [
            {"mode": "hold", "params": {"rcvbuf": huge}},
            {"mode": "close", "params": {"after_bytes": huge, "after": after}},
            {"mode": "echo", "params": {"count": r.choice([0, huge, -5, 1.0, "2"])}},
            {"mode": r.choice(["refuse", "nope", 7, None]), "conn": conn},
            {"mode": "push", "params": {"data": r.choice(["", {"hex": "zz"}, {"base64": "!"}, 5])}},
            {"conn": conn, "data": "x", "delay": r.choice([-1, 1e308, "soon", huge])},
            {"event": r.choice(["bytes", "ended", "connection", "x"]), **wait},
            {"close": r.choice(["yes", 1, None])},
            {"conn": conn, "mode": r.choice(["hold", "push", "bounce"])},
            {"mode": "echo", "colour": "blue"},
        ]
        path = r.choice(["/mode", "/push", "/wait", "/reset", "/release"])
        return self.request("POST", path, json.dumps(r.choice(bodies)).encode()), True

    def _bad_JSON(self) -> tuple[bytes, bool]:
        r = self.rng
        depth = r.choice([9, 100, 1000, 100_000])
        bodies = [
            b'{"mode": "echo", "conn": ' + b"7" * r.choice([21, 4301, 5000]) + b"}",
            b"[" * depth + b"]" * depth,
            b'{"a":' * depth + b"1" + b"}" * depth,
            b'{"mode": "close", "params": {"after": NaN}}',
            b'{"mode": "close", "params": {"after": Infinity}}',
            b'{"event": "bytes", "conn": 1, "n": 1e999, "wall": 0}',
            b'{"mode": "push", "params": {"data": "\\udc80"}}',
            b'{"mode": "echo"} trailing',
            b'"just a string"',
            b"\xff\xfe{}",
            b'{"mode": "echo", "mode": "sink"}',
            b"{" + b'"k":1,' * 5000 + b'"mode":"echo"}',
        ]
        return self.request("POST", r.choice(["/mode", "/push", "/wait"]), r.choice(bodies)), True

    def _bad_length(self) -> tuple[bytes, bool]:
        r = self.rng
        value = r.choice(["²", "٣", "-1", "1e3", " 12", "0x10", "9" * 30, "", "1,2", "+5", "5 5"])
        head = f"POST /mode HTTP/1.1\r\nAuthorization: Bearer {self.token}\r\n"
        if r.random() < 0.3:
            head += "Content-Length: 2\r\n"  # and again below: a smuggling attempt
        if r.random() < 0.2:
            head += "Transfer-Encoding: chunked\r\n"
        # Header bytes are read as Latin-1: b"\xb2" is "²" there, its UTF-8 form is not.
        encoding = r.choice(["utf-8", "latin-1"]) if value.isascii() or value == "²" else "utf-8"
        return (head + f"Content-Length: {value}\r\n\r\n" + "{}").encode(encoding), True

    def _mutated(self) -> tuple[bytes, bool]:
        data = bytearray(self.valid())
        r = self.rng
        for _ in range(r.randint(1, 4)):
            pos = r.randrange(len(data))
            kind = r.random()
            if kind < 0.4:
                data[pos] = r.randrange(256)
            elif kind < 0.7:
                data[pos:pos] = bytes(r.randrange(256) for _ in range(r.randint(1, 8)))
            else:
                del data[pos : pos + r.randint(1, 8)]
        return bytes(data), True

    def _cut_short(self) -> tuple[bytes, bool]:
        data = self.valid()
        return data[: self.rng.randrange(len(data))], True

    def _token(self) -> tuple[bytes, bool]:
        r = self.rng
        token = self.token
        auth = r.choice(
            ["", "Bearer", "Bearer ", "Basic abc", f"Bearer {token}x", f"bearer {token[:-1]}",
             "Bearer " + "A" * 10000, f"Bearer {token} extra", "Bearer \xe9t\xe9"]
        )  # fmt: skip
        if r.random() < 0.5:
            return self.request("GET", "/info", auth=auth or ""), True
        path, body = self.valid_body()
        return self.request("POST", path, json.dumps(body).encode(), auth=auth or ""), True

    def _path(self) -> tuple[bytes, bool]:
        r = self.rng
        path = r.choice(
            ["/stats/" + "9" * 5000, "/stats/-1", "/stats/0x1", "/stats/1.5", "/stats/²",
             f"/info?token={self.token}", "/../etc/passwd", "/stats/%31", "/" + "a" * 8000,
             "*", "http://peer/info", "/info#x", "//info", "/INFO"]
        )  # fmt: skip
        return self.request(r.choice(["GET", "POST", "PUT", "HEAD"]), path), True

    def _random_bytes(self) -> tuple[bytes, bool]:
        n = self.rng.choice([0, 1, 16, 200, 4000, 20000])
        return bytes(self.rng.randrange(256) for _ in range(n)), True

    def _oversized(self) -> tuple[bytes, bool]:
        r = self.rng.random()
        if r < 0.4:
            return b"GET /info HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", True
        if r < 0.7:
            return b"GET /info HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n", True
        body = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
        return self.request("POST", "/mode", body), True

    def _slow(self) -> tuple[bytes, bool]:
        data = self.valid()
        head = data.index(b"\r\n\r\n")
        return data[: self.rng.randrange(head)], False  # a head never finished: the peer's 408


@dataclass
class FuzzResult:
    requests: int = 0
    seconds: float = 0.0
    by_category: dict[str, Counter] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    hangs: int = 0
    bugs: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return len(self.failures) + self.hangs + len(self.bugs)


def send_one(control: tuple[str, int], data: bytes, shut: bool, source: str = "127.0.0.1") -> str:
    """Send `data`, read until the peer closes: the status, "closed", "reset" or "hang"."""
    got = bytearray()
    with socket.socket() as s:
        s.settimeout(HANG_WALL)
        try:
            s.bind((source, 0))
            s.connect(control)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                s.sendall(data)
            if shut:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_WR)
            while chunk := s.recv(65536):
                got += chunk
        except TimeoutError:
            return "hang"
        except ConnectionResetError:
            if not got:
                return "reset"
    if not got:
        return "closed"
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", bytes(got))
    return m.group(1).decode() if m else "garbled"


def is_fine(outcome: str) -> bool:
    """An answer the peer may give, or a clean close; never a 500, a reset, garbage."""
    if outcome == "closed":
        return True
    if not outcome.isdigit():
        return False
    status = int(outcome)
    return 200 <= status < 300 or 400 <= status < 500 or status in FINE


def fuzz(p: Peer, requests: int, seed: int) -> FuzzResult:
    conns = open_data_connections(p, 3)
    gen = Generator(random.Random(seed), p.token, conns)
    work = [gen.next() for _ in range(requests)]
    result = FuzzResult(requests=len(work))
    # Slow clients each wait out the peer's head deadline: all at once, from an address of
    # their own (so its per-address quota, not theirs, is what they meet), beside the rest.
    slow = [i for i, w in enumerate(work) if w[0] == "slow"]
    rest = [i for i, w in enumerate(work) if w[0] != "slow"]
    outcomes: list[str] = [""] * len(work)

    def one(i: int, source: str = "127.0.0.1") -> None:
        outcomes[i] = send_one(p.control, work[i][1], work[i][2], source)

    start = stamp()
    with ThreadPoolExecutor(max(1, min(len(slow), 256))) as slow_pool:
        waiting = [slow_pool.submit(one, i, SLOW_SOURCE) for i in slow]
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(one, rest))
        for future in waiting:
            future.result()
    result.seconds = (stamp() - start) / 1e9
    for (category, data, _), outcome in zip(work, outcomes, strict=True):
        result.by_category.setdefault(category, Counter())[outcome] += 1
        if outcome == "hang":
            result.hangs += 1
        elif not is_fine(outcome):
            result.failures.append(f"{category}: {outcome} for {data[:60]!r}")
    p.info()  # still serving
    result.bugs = p.bugs()
    return result


def open_data_connections(p: Peer, n: int) -> list[int]:
    """`n` echo connections to act on; their ids."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(p.data, timeout=5)
        s.sendall(b"hello")
        s.recv(5)
        socks.append(s)
    p.keep += socks
    _, body = http_request(p.control, "GET", "/stats", p.token)
    return [c["id"] for c in json.loads(body)["connections"]]


# -- 2 and 3. idle connections --------------------------------------------------------------------
class Flood:
    """`n` idle connections to `target` from `sources`, reopened as soon as the peer closes one
    (`reopen`), in a process of its own (so its work does not slow the harness's requests in
    this one) until `stop()`; then `opened`, `refused` and `held` are its counts."""

    def __init__(self, target, n: int, sources: list[str], reopen: bool) -> None:
        self.target = target
        self.n = n
        self.sources = sources
        self.reopen = reopen
        self.opened = self.refused = self.held = 0
        self.seconds = 0.0
        self._started = 0
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self._ready = ctx.Event()
        self._counts = ctx.Array("q", 3)
        self._proc = ctx.Process(target=self._run, daemon=True)

    def start(self) -> Flood:
        self._started = stamp()
        self._proc.start()
        if not self._ready.wait(60):
            self.stop()
            raise BenchError(f"could not open {self.n} connections to {self.target} in 60 s")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._proc.join(30)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self.opened, self.refused, self.held = self._counts[:]
        self.seconds = (stamp() - self._started) / 1e9

    def row(self, name: str) -> tuple:
        return (name, self.opened, self.opened / self.seconds, self.refused, self.held)

    # -- in the flood's own process ---------------------------------------------------------
    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        opened = refused = 0

        def open_one(i: int) -> None:
            nonlocal opened, refused
            s = socket.socket()
            try:
                s.bind((self.sources[i % len(self.sources)], 0))
                s.settimeout(5)
                s.connect(self.target)
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, i)
                opened += 1
            except OSError:
                s.close()
                refused += 1

        for i in range(self.n):
            open_one(i)
        self._ready.set()
        while not self._stop.is_set():
            for key, _ in sel.select(0.05):
                s = key.fileobj
                try:
                    more = s.recv(4096)  # type: ignore[union-attr]
                except OSError:
                    more = b""
                if not more:
                    sel.unregister(s)
                    s.close()  # type: ignore[union-attr]
                    if self.reopen and not self._stop.is_set():
                        open_one(key.data)
        self._counts[:] = [opened, refused, len(sel.get_map())]


@dataclass
class Legit:
    """Legitimate attempts: how many were answered in time, and their wall times."""

    what: str
    answered: int = 0
    tries: int = 0
    walls: list[float] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.answered / self.tries if self.tries else float("nan")


def control_requests(p: Peer, what: str, n: int, source: str) -> Legit:
    out = Legit(what)
    for _ in range(n):
        start = stamp()
        try:
            status, _ = http_request(p.control, "GET", "/info", p.token, source=source)
        except OSError:
            status = 0
        wall = (stamp() - start) / 1e9
        out.tries += 1
        out.walls.append(wall)
        out.answered += 200 <= status < 300 and wall <= ANSWER_WALL
    return out


def data_echoes(p: Peer, what: str, n: int, source: str) -> Legit:
    out = Legit(what)
    for i in range(n):
        start = stamp()
        ok = False
        with socket.socket() as s:
            s.settimeout(ANSWER_WALL)
            try:
                s.bind((source, 0))
                s.connect(p.data)
                ping = b"ping %d" % i
                s.sendall(ping)
                got = b""
                while len(got) < len(ping) and (chunk := s.recv(64)):
                    got += chunk
                ok = got == ping
            except OSError:
                ok = False
        wall = (stamp() - start) / 1e9
        out.tries += 1
        out.walls.append(wall)
        out.answered += ok and wall <= ANSWER_WALL
    return out


def idle_control(p: Peer, idle: int, legit: int) -> tuple[list[Legit], list[Legit], list[tuple]]:
    """(rows the verdict takes, the reconnect flood's rows, the floods' counts)."""
    rows = [control_requests(p, "no attack (baseline), harness at 127.0.0.2", legit, OTHER)]
    floods = []
    spread = [f"127.0.1.{i + 1}" for i in range(SPREAD)]
    attacks = [
        ("one address", ["127.0.0.1"], [("127.0.0.2", OTHER), ("127.0.0.1", "127.0.0.1")]),
        (f"{SPREAD} addresses", spread, [("127.0.0.2", OTHER)]),
    ]
    for name, sources, harnesses in attacks:
        flood = Flood(p.control, idle, sources, reopen=False).start()
        try:
            for where, source in harnesses:
                what = f"{idle} idle from {name}, harness at {where}"
                rows.append(control_requests(p, what, legit, source))
        finally:
            flood.stop()
        floods.append(flood.row(f"idle from {name}"))
    # Stronger than idle: every connection the peer closes is reopened at once.
    flood = Flood(p.control, idle, ["127.0.0.1"], reopen=True).start()
    try:
        tries = max(1, legit // 3)
        extra = [
            control_requests(p, f"reconnect flood, harness at {where}", tries, source)
            for where, source in (("127.0.0.2", OTHER), ("127.0.0.1", "127.0.0.1"))
        ]
    finally:
        flood.stop()
    floods.append(flood.row("reconnect flood from one address"))
    return rows, extra, floods


def idle_data(p: Peer, idle: int, legit: int) -> tuple[list[Legit], tuple]:
    rows = [data_echoes(p, "no attack (baseline), client at 127.0.0.2", legit, OTHER)]
    flood = Flood(p.data, idle, ["127.0.0.1"], reopen=False).start()
    try:
        kept = settled(lambda: p.info()["open"])
        rows.append(
            data_echoes(p, f"{idle} idle from 127.0.0.1, client at 127.0.0.2", legit, OTHER)
        )
    finally:
        flood.stop()
    return rows, (flood.opened + flood.refused, kept)


def settled(read: Callable[[], int], wall: float = 5.0) -> int:
    """`read()` once two looks 0.1 s apart agree (the peer may still be accepting)."""
    deadline = stamp() + int(wall * 1e9)
    last = read()
    while stamp() < deadline:
        threading.Event().wait(0.1)
        now = read()
        if now == last:
            return now
        last = now
    return last


# -- the script -----------------------------------------------------------------------------------
def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchError(
            f"needs {needed} open files for its idle connections, the hard limit is {hard}: "
            f"raise it (ulimit -Hn) or give a smaller --idle"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=positive(int), default=TARGET_REQUESTS, help="fuzz requests")
    p.add_argument("--idle", type=positive(int), default=TARGET_IDLE, help="idle connections")
    p.add_argument(
        "--legit", type=positive(int), default=DEFAULT_LEGIT, help="legitimate tries per row"
    )
    p.add_argument("--seed", type=int, default=1, help="the fuzz's random seed")
    p.add_argument(
        "--quick", action="store_true", help=f"{QUICK_REQUESTS} requests, {QUICK_LEGIT} tries a row"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.legit = QUICK_REQUESTS, QUICK_LEGIT
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    raise_open_files(2 * args.idle + 2000)
    with peer() as p:
        fz = fuzz(p, args.requests, args.seed)
    with peer() as p:
        control_rows, flood_rows, floods = idle_control(p, args.idle, args.legit)
    with peer() as p:
        data_rows, (data_opened, data_kept) = idle_data(p, args.idle, args.legit)

    print(f"1. control fuzz: {fz.requests} requests in {fz.seconds:.1f} s, {WORKERS} at a time")
    outcomes = sorted({o for c in fz.by_category.values() for o in c})
    rows = [
        (category, sum(c.values()), *(c.get(o, 0) for o in outcomes))
        for category, c in sorted(fz.by_category.items())
    ]
    print(table(("category", "sent", *outcomes), rows))
    for line in (fz.failures + fz.bugs)[:10]:
        print(f"  failure: {line}")
    print()
    print(f"2. {args.idle} idle control connections; the harness's GET /info with the token")
    heads = ("attack", "tries", f"answered ≤ {ANSWER_WALL:g} s, %", "median s", "p99 s")
    print(table(heads, legit_rows(control_rows + flood_rows)))
    print()
    heads = ("attacker", "connections opened", "per s", "refused at connect", "open at the end")
    print(table(heads, floods))
    print()
    print(f"3. {data_opened} idle data connections ({data_kept} kept open by the peer)")
    heads = ("attack", "tries", f"echoed ≤ {ANSWER_WALL:g} s, %", "median s", "p99 s")
    print(table(heads, legit_rows(data_rows)))
    print()

    under_attack = min(r.percent for r in control_rows[1:])
    verdicts = [
        verdict_line("control fuzz requests sent", fz.requests, ">=", args.requests, digits=0),
        verdict_line("control fuzz 500s + tracebacks + hangs", fz.bad, "<=", 0, digits=0),
        verdict_line(
            f"harness requests answered in {ANSWER_WALL:g} s under {args.idle} idle, %",
            under_attack, ">=", TARGET_ANSWERED, digits=1,
        ),
        verdict_line(
            f"other address echoed in {ANSWER_WALL:g} s under {args.idle} idle data conns, %",
            data_rows[1].percent, ">=", TARGET_ANSWERED, digits=1,
        ),
    ]  # fmt: skip
    for line in verdicts:
        print(line)
    met = sum(line.endswith(" MET") for line in verdicts)
    print(verdict_line("figures met", met, ">=", len(verdicts), digits=0))
    return 0


def legit_rows(rows: list[Legit]) -> list[tuple]:
    return [
        (r.what, r.tries, r.percent, Summary.of(r.walls).median, Summary.of(r.walls).p99)
        for r in rows
    ]


if __name__ == "__main__":
    raise SystemExit(run(main))
