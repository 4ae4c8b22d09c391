"""`PeerControl`: the fixtures' handle on a peer server, over its HTTP+JSON control channel.

Durations are module seconds on the client's clock. Errors are typed: `PeerError` carries the
server's reason, `PeerUnreachable` says to start `modemcert peer`, `PeerTimeout` a wait ran out.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import urlsplit

from harness.clock import Clock
from harness.peer.errors import (
    RIG_STATUSES,
    PeerError,
    PeerRequestRefused,
    PeerTimeout,
    PeerUnreachable,
)
from harness.peer.modes import encode_bytes
from harness.peer.stats import ConnStats

#: Wall seconds for one ordinary request to be answered.
REQUEST_WALL = 15.0
#: Longest single long poll asked of the server (it caps each wait itself too).
POLL_WALL = 15.0
#: Schemes the rig accepts for a control URL (tcp:// is taken as plain HTTP).
SCHEMES = ("http", "https", "tcp")


@dataclass(frozen=True)
class PeerInfo:
    """What a peer says about itself: where it listens, whether it refuses, what is armed."""

    host: str
    port: int
    listening: dict[str, bool]
    armed: dict[str, Any]
    last_id: int
    reset_mark: int
    open: int
    token_required: bool
    scale: float


class PeerControl:
    """Steer a peer server: modes, pushes, stats, and waits for connections and bytes."""

    def __init__(self, url: str, token: Any = None, clock: Clock | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise PeerError(
                f"peer control URL {url!r} is not usable: write http://HOST:PORT, "
                "e.g. http://127.0.0.1:7008"
            )
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise PeerError(f"peer control URL {url!r}: {e}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._prefix = parts.path.rstrip("/")
        # A rig's Secret (anything with reveal()) or a plain string.
        reveal = getattr(token, "reveal", None)
        self._token: str | None = reveal() if callable(reveal) else token
        self.clock = clock or Clock()
        self._cursor: int | None = None  # the newest connection wait_connection returned
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PeerControl({self.url!r})"

    # -- modes ----------------------------------------------------------------------------
    def set_mode(self, mode: str, conn: Any = None, proto: str = "both", **params: Any) -> None:
        """Set `mode` for connection `conn`, or for new connections (`count=N`: the next N).

        Durations (`after`, `delay`) are module seconds on the peer's clock; bytes (`data`)
        are sent as base64.
        """
        body: dict[str, Any] = {"mode": mode, "proto": proto, "params": _jsonable(params)}
        if conn is not None:
            body["conn"] = _id(conn)
        self._call("POST", "/mode", body)

    def push(self, conn: Any, data: bytes, delay: float = 0.0) -> None:
        """Send `data` to the module on connection `conn` now (or after `delay` module s)."""
        self._call("POST", "/push", {"conn": _id(conn), "data": encode_bytes(data), "delay": delay})

    def release(self, conn: Any, mode: str | None = None) -> None:
        """Read again after hold/silent: back to the mode before hold (echo), or `mode`."""
        body: dict[str, Any] = {"conn": _id(conn)}
        if mode is not None:
            body["mode"] = mode
        self._call("POST", "/release", body)

    def reset(self, close: bool = False) -> None:
        """Listen again, echo for new connections, forget ended ones; `close`: end open ones."""
        self._call("POST", "/reset", {"close": close})
        with self._lock:
            self._cursor = None

    # -- reading --------------------------------------------------------------------------
    @overload
    def stats(self, conn: None = None) -> list[ConnStats]: ...
    @overload
    def stats(self, conn: Any) -> ConnStats: ...

    def stats(self, conn: Any = None) -> list[ConnStats] | ConnStats:
        """Every connection since the last reset (and older open ones), or one of them."""
        if conn is not None:
            return ConnStats.from_json(self._call("GET", f"/stats/{_id(conn)}")["conn"])
        return [ConnStats.from_json(c) for c in self._call("GET", "/stats")["connections"]]

    def info(self) -> PeerInfo:
        d = self._call("GET", "/info")
        return PeerInfo(
            host=d["host"],
            port=d["port"],
            listening=d["listening"],
            armed=d["armed"],
            last_id=d["last_id"],
            reset_mark=d["reset_mark"],
            open=d["open"],
            token_required=d["token_required"],
            scale=d["scale"],
        )

    def mark(self) -> int:
        """The newest connection id now: pass it as `after` to wait for the next connection."""
        return self.info().last_id

    # -- waiting --------------------------------------------------------------------------
    def wait_connection(
        self, timeout: float, proto: str | None = None, after: int | None = None
    ) -> ConnStats:
        """The first connection newer than `after`; by default newer than the last one this
        client returned, or (first call, after reset()) than the peer's last reset.

        Reliable pattern: `m = peer.mark()`, make the module connect, then
        `peer.wait_connection(timeout, after=m)`.
        """
        with self._lock:
            since = after if after is not None else self._cursor
        found = self._wait({"event": "connection", "after": since, "proto": proto}, timeout)
        if found is None:
            which = f"after #{since}" if since is not None else "since the last reset"
            kind = f"{proto} " if proto else ""
            raise PeerTimeout(
                f"no new {kind}connection {which} at the peer within {timeout:g} s "
                f"(module seconds); did the module's AT+QIOPEN reach {self.url}'s port?"
            )
        stats = ConnStats.from_json(found["conn"])
        with self._lock:
            if self._cursor is None or stats.id > self._cursor:
                self._cursor = stats.id
        return stats

    def wait_bytes(self, conn: Any, n: int, timeout: float) -> ConnStats:
        """Until connection `conn` has received `n` bytes in total; PeerError if it ends first."""
        cid = _id(conn)
        found = self._wait({"event": "bytes", "conn": cid, "n": n}, timeout, keep=True)
        stats = ConnStats.from_json(found["conn"])
        if found["found"]:
            return stats
        if found.get("why") == "ended":
            raise PeerError(
                f"connection {cid} ended ({stats.ended}) after {stats.bytes_in} of {n} bytes"
            )
        raise PeerTimeout(
            f"connection {cid} received {stats.bytes_in} of {n} bytes within {timeout:g} s "
            "(module seconds)"
        )

    def wait_ended(self, conn: Any, timeout: float) -> ConnStats:
        """Until connection `conn` has ended (peer closed, we closed, reset)."""
        cid = _id(conn)
        found = self._wait({"event": "ended", "conn": cid}, timeout, keep=True)
        stats = ConnStats.from_json(found["conn"])
        if not found["found"]:
            raise PeerTimeout(f"connection {cid} still open after {timeout:g} s (module seconds)")
        return stats

    def _wait(self, body: dict[str, Any], timeout: float, keep: bool = False) -> Any:
        """Long-poll in slices until found or the deadline; the last answer if `keep`."""
        deadline = self.clock.deadline(timeout)
        while True:
            wall = min(deadline.wall_remaining() or 0.0, POLL_WALL)
            answer = self._call("POST", "/wait", {**body, "wall": wall}, wall + REQUEST_WALL)
            if answer["found"] or answer.get("why") or deadline.expired:
                return answer if (keep or answer["found"]) else None

    # -- HTTP -----------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, wall: float = REQUEST_WALL
    ) -> dict[str, Any]:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=wall)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            conn.request(method, self._prefix + path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except ConnectionRefusedError:
            raise PeerUnreachable(
                f"no peer control channel at {self.url} (connection refused): start one with "
                "`modemcert peer --control HOST:PORT`, or check the rig's [peer] control_url",
                url=self.url,
            )
        except TimeoutError:
            raise PeerUnreachable(
                f"the peer at {self.url} did not answer {method} {path} within {wall:g} s",
                url=self.url,
            )
        except (OSError, http.client.HTTPException) as e:
            raise PeerUnreachable(f"cannot talk to the peer at {self.url}: {e}", url=self.url)
        finally:
            conn.close()
        try:
            answer = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise PeerUnreachable(
                f"{self.url} answered {method} {path} with HTTP {response.status} that is not "
                "JSON: is it a modemcert peer control channel?",
                url=self.url,
            )
        if response.status >= 400 or not isinstance(answer, dict):
            reason = answer.get("error", str(answer)) if isinstance(answer, dict) else str(answer)
            # The token refused, or the peer too busy, is the rig's; any other refusal is a
            # request the harness should not have made.
            refused = PeerError if response.status in RIG_STATUSES else PeerRequestRefused
            raise refused(
                f"peer at {self.url} refused {method} {path} (HTTP {response.status}): {reason}",
                reason=reason,
                status=response.status,
                url=self.url,
            )
        return answer


def _id(conn: Any) -> int:
    """A connection id from an int or a ConnStats."""
    return conn.id if isinstance(conn, ConnStats) else conn


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: encode_bytes(v) if isinstance(v, bytes | bytearray) else v for k, v in params.items()
    }
