"""The codec's named states: what the next bytes are read as (`Codec.reading`)."""

from __future__ import annotations

from enum import StrEnum


class Reading(StrEnum):
    """What the next bytes are read as. LINES → OVERLONG → LINES; LINES → ANNOUNCED → BLOCK →
    LINES; LINES → BLOCK → LINES; LINES → DATA (CONNECT) → LINES (escape, reset)."""

    LINES = "lines"  # command mode: lines, echoes, the prompt, IPD headers
    OVERLONG = "overlong"  # inside a line longer than MAX_LINE: noise up to its end
    ANNOUNCED = "announced"  # after `+RECEIVE: <id>, <len>`: a header or the payload follows
    BLOCK = "block"  # exactly <len> bytes of an IPD or +QIRD block
    DATA = "data"  # transparent mode: the peer's bytes
