"""The peer's modes and their parameters, checked once, the same way for every caller.

`parse_mode("close", {"after_bytes": 100})` → a `ModeSpec`; bad names or values raise
`RequestError(400)` naming the parameter and the accepted values.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.peer.errors import RequestError, shown

#: Every mode; `refuse` acts on the listener, the others on a connection.
MODES = ("echo", "sink", "hold", "close", "push", "refuse", "silent")
CONN_MODES = tuple(m for m in MODES if m != "refuse")
#: What a `push` connection does once its bytes are out.
THEN_MODES = ("echo", "sink", "hold", "silent", "close")
PROTOS = ("tcp", "udp")
#: How `close` ends a TCP connection: FIN (orderly) or RST (SO_LINGER 0).
CLOSE_HOW = ("fin", "reset")

#: SO_RCVBUF asked for in hold mode (Linux doubles it and keeps at least ~2.3 KB): on loopback
#: the peer then absorbs about 2 KB, so a sender's unacknowledged count passes the SEND-WINDOW
#: threshold after a few KB (docs/peer.md has the measured numbers).
HOLD_RCVBUF = 2048
#: Largest single push (raw bytes).
MAX_PUSH = 256 * 1024
#: Largest SO_RCVBUF a hold may ask for (the kernel clamps to net.core.rmem_max anyway).
MAX_RCVBUF = 16 * 1024 * 1024
#: Longest duration a request may give (`after`, `delay`): a week of module time.
MAX_SECONDS = 7 * 24 * 3600.0
#: Largest byte count a request may give (`after_bytes`, a wait's `n`): 1 TiB.
MAX_BYTES = 1 << 40

_PARAMS: dict[str, tuple[str, ...]] = {
    "echo": (),
    "sink": (),
    "silent": (),
    "refuse": (),
    "hold": ("rcvbuf",),
    "close": ("after_bytes", "after", "how"),
    "push": ("data", "delay", "then"),
}


@dataclass(frozen=True)
class ModeSpec:
    """One mode with its parameters; durations (`after`, `delay`) are module seconds."""

    mode: str = "echo"
    after_bytes: int | None = None  # close: after this many more bytes in
    after: float | None = None  # close: after this many module seconds
    how: str = "fin"  # close: "fin" or "reset"
    data: bytes = field(default=b"", repr=False)  # push: the bytes
    delay: float = 0.0  # push: module seconds before sending
    then: str = "echo"  # push: the mode once pushed
    rcvbuf: int = HOLD_RCVBUF  # hold: receive buffer asked for

    @property
    def holds(self) -> bool:
        """True when this mode stops reading with a small receive buffer (hold, push→hold)."""
        return self.mode == "hold" or (self.mode == "push" and self.then == "hold")

    def describe(self) -> str:
        if self.mode == "close":
            parts = []
            if self.after_bytes is not None:
                parts.append(f"after {self.after_bytes} B")
            if self.after is not None:
                parts.append(f"after {self.after:g} s")
            when = " or ".join(parts) or "at once"
            return f"close {when}" + (" with RST" if self.how == "reset" else "")
        if self.mode == "push":
            later = f" after {self.delay:g} s" if self.delay else ""
            return f"push {len(self.data)} B{later}, then {self.then}"
        if self.mode == "hold":
            return f"hold (SO_RCVBUF {self.rcvbuf})"
        return self.mode

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "describe": self.describe()}
        if self.mode == "close":
            out.update(after_bytes=self.after_bytes, after=self.after, how=self.how)
        elif self.mode == "push":
            out.update(data=encode_bytes(self.data), delay=self.delay, then=self.then)
        elif self.mode == "hold":
            out.update(rcvbuf=self.rcvbuf)
        return out


ECHO = ModeSpec()


def parse_mode(mode: Any, params: Mapping[str, Any] | None = None) -> ModeSpec:
    """Check a mode name and its parameters; raise RequestError(400) saying what is wrong."""
    params = dict(params or {})
    if mode not in MODES:
        raise RequestError(
            400, f"unknown mode {shown(mode)}; modes: {', '.join(MODES)}", "bad mode"
        )
    allowed = _PARAMS[mode]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        raise RequestError(
            400, f"mode {mode!r} takes {takes}; not {shown(', '.join(map(str, unknown)))}",
            "bad parameter",
        )  # fmt: skip
    if mode == "close":
        how = params.get("how", "fin")
        if how not in CLOSE_HOW:
            raise RequestError(
                400, f"close: how={shown(how)}; use one of {', '.join(CLOSE_HOW)}", "bad value"
            )
        return ModeSpec(
            mode,
            after_bytes=_count(params.get("after_bytes"), "close: after_bytes", MAX_BYTES),
            after=_seconds(params.get("after"), "close: after"),
            how=how,
        )
    if mode == "push":
        if "data" not in params:
            raise RequestError(400, "push: data is missing (the bytes to send)")
        then = params.get("then", "echo")
        if then not in THEN_MODES:
            raise RequestError(
                400, f"push: then={shown(then)}; use one of {', '.join(THEN_MODES)}", "bad value"
            )
        delay = _seconds(params.get("delay"), "push: delay")
        return ModeSpec(mode, data=decode_push(params["data"]), delay=delay or 0.0, then=then)
    if mode == "hold":
        rcvbuf = _count(params.get("rcvbuf"), "hold: rcvbuf", MAX_RCVBUF)
        return ModeSpec(mode, rcvbuf=HOLD_RCVBUF if rcvbuf is None else max(1, rcvbuf))
    return ModeSpec(mode)


def decode_push(value: Any, name: str = "push: data") -> bytes:
    data = decode_bytes(value, name)
    if not data:
        raise RequestError(400, f"{name} is empty; give at least one byte", "bad data")
    if len(data) > MAX_PUSH:
        raise RequestError(
            400, f"{name} is {len(data)} bytes; at most {MAX_PUSH} per push", "push too big"
        )
    return data


def decode_bytes(value: Any, name: str) -> bytes:
    """JSON → bytes: {"base64": "..."}, {"hex": "..."}, or a string taken as UTF-8 text."""
    if isinstance(value, str):
        try:
            return value.encode()
        except UnicodeEncodeError:  # a lone surrogate from a JSON "\\udc80" escape
            raise RequestError(400, f"{name}: text is not valid Unicode", "bad data")
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, text),) = value.items()
        if isinstance(text, str):
            try:
                if kind == "base64":
                    return base64.b64decode(text, validate=True)
                if kind == "hex":
                    return bytes.fromhex(text)
            except (binascii.Error, ValueError) as e:
                raise RequestError(400, f"{name}: not valid {kind}: {e}", "bad data")
    raise RequestError(
        400,
        f'{name}: give {{"base64": "..."}}, {{"hex": "..."}} or a text string, not {shown(value)}',
        "bad data",
    )


def encode_bytes(data: bytes | bytearray) -> dict[str, str]:
    """bytes → the JSON form `decode_bytes` reads."""
    return {"base64": base64.b64encode(data).decode("ascii")}


def _count(value: Any, name: str, high: int) -> int | None:
    if value is None:
        return None
    return whole(value, name, 0, high)


def _seconds(value: Any, name: str) -> float | None:
    if value is None:
        return None
    return seconds(value, name)


def whole(value: Any, name: str, low: int, high: int) -> int:
    """A whole number in low..high from JSON, or RequestError(400) naming it and the range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(
            400, f"{name} must be a whole number {low}..{high}, not {shown(value)}", "bad value"
        )
    if not low <= value <= high:
        raise RequestError(
            400,
            f"{name} must be a whole number {low}..{high}, not {shown(value)}",
            "value out of range",
        )
    return value


def seconds(value: Any, name: str, high: float = MAX_SECONDS) -> float:
    """A duration 0..high from JSON, or RequestError(400) naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(
            400, f"{name} must be a number of module seconds, not {shown(value)}", "bad value"
        )
    if not (math.isfinite(value) and 0 <= value <= high):
        raise RequestError(
            400, f"{name} must be ≥ 0 and ≤ {high:g} module seconds, not {shown(value)}",
            "value out of range",
        )  # fmt: skip
    return float(value)
