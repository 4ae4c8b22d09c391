"""The control channel's routes: GET /info, GET /stats[/<id>], POST /mode, /push, /release,
/reset, /wait. A request body is read as a JSON object of bounded depth and number sizes, its
fields are checked, and the matching `PeerRequests` call answers (or a `RequestError` says why not).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from harness.peer.core import Peer
from harness.peer.errors import RequestError, shown
from harness.peer.guard import PeerLimits
from harness.peer.modes import decode_push, seconds
from harness.peer.requests import MAX_ID, PeerRequests
from harness.peer.wire import MAX_BODY, MAX_HEAD, Request

#: Longest single wait (long poll) in wall seconds; `PeerControl` repeats it for longer ones.
MAX_WAIT_WALL = 20.0
#: JSON nesting a request may use (the deepest real one, push data in params, is 3).
MAX_JSON_DEPTH = 8
#: Digits of a JSON integer (ids and byte counts fit in 16; more is not a mistake to parse).
MAX_JSON_DIGITS = 20
_ID_DIGITS = 16


class Routes:
    """Answers one authenticated request by its method and path (`route()`)."""

    def __init__(self, peer: Peer, token_required: bool, limits: PeerLimits) -> None:
        self.requests = PeerRequests(peer)
        self.token_required = token_required
        self.limits = limits
        self._routes: dict[tuple[str, str], Callable[[dict[str, Any]], Awaitable[Any]]] = {
            ("POST", "/mode"): self._mode,
            ("POST", "/push"): self._push,
            ("POST", "/release"): self._release,
            ("POST", "/reset"): self._reset,
            ("POST", "/wait"): self._wait,
        }

    async def route(self, head: Request, body: bytes) -> dict[str, Any]:
        method, path = head.method, head.path
        if method == "GET":
            if path in ("/", "/info"):
                return self.info()
            if path == "/stats":
                return {"connections": [s.as_json() for s in self.requests.stats()]}
            if path.startswith("/stats/"):
                return {"conn": self.requests.stats(_path_id(path[len("/stats/") :]))[0].as_json()}
        handler = self._routes.get((method, path))
        if handler is None:
            if any(p == path for _, p in self._routes):
                raise RequestError(405, f"{path} needs POST", "needs POST")
            raise RequestError(
                404, f"no such endpoint {method} {shown(path)}; see GET /info", "no such endpoint"
            )
        return await handler(json_object(body))

    def info(self) -> dict[str, Any]:
        info = self.requests.info()
        info["token_required"] = self.token_required
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
        return await self.requests.set_mode(
            req["mode"], req.get("conn"), req.get("proto", "both"), req.get("params")
        )

    async def _push(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "push", ("conn", "data", "delay"), required=("conn", "data"))
        delay = seconds(req.get("delay", 0.0), "delay")
        return self.requests.push(req["conn"], decode_push(req["data"], "data"), delay)

    async def _release(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "release", ("conn", "mode"), required=("conn",))
        return self.requests.release(req["conn"], req.get("mode"))

    async def _reset(self, req: dict[str, Any]) -> dict[str, Any]:
        _fields(req, "reset", ("close",))
        close = req.get("close", False)
        if not isinstance(close, bool):
            raise RequestError(400, f"close must be true or false, not {shown(close)}")
        return await self.requests.reset(close)

    async def _wait(self, req: dict[str, Any]) -> dict[str, Any]:
        event = req.get("event")
        wall = req.get("wall", 0.0)
        if isinstance(wall, bool) or not isinstance(wall, int | float) or not wall >= 0:
            raise RequestError(400, f"wall must be ≥ 0 seconds, not {shown(wall)}")
        wall = min(float(wall), MAX_WAIT_WALL)
        if event == "connection":
            _fields(req, "wait", ("event", "after", "proto", "wall"))
            return await self.requests.wait_connection(req.get("after"), req.get("proto"), wall)
        if event == "bytes":
            _fields(req, "wait", ("event", "conn", "n", "wall"), required=("conn", "n"))
            return await self.requests.wait_bytes(req["conn"], req["n"], wall)
        if event == "ended":
            _fields(req, "wait", ("event", "conn", "wall"), required=("conn",))
            return await self.requests.wait_ended(req["conn"], wall)
        raise RequestError(
            400, f"wait: event {shown(event)}; use connection, bytes or ended", "bad event"
        )


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


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
