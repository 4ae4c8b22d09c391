"""What a line is: which URC family, whether it is the command's own reply, where an echo
starts. Pure functions over text; the result words come from the registry (harness/commands).
"""

from __future__ import annotations

import re

from harness.commands import CONNECTION_RESULTS, STRAY_RESULTS, ResultCode
from harness.commands.words import alternatives
from harness.protocol.events import UrcKind
from harness.protocol.spec import CommandSpec

EOL = re.compile(rb"[\r\n]")
LINE_END = b"\r\n"
NOT_CRLF = re.compile(rb"[^\r\n]")
NOISE = re.compile(rb"[^\t\x20-\x7e]")
NOISE_RUN = re.compile(rb"[^\t\r\n\x20-\x7e]+")

RECEIVE = re.compile(r"\+RECEIVE:\s*(\d+)\s*,\s*(\d+)$")
QIRD = re.compile(r"\+QIRD:\s*(\S+?:\d+)\s*,\s*(TCP|UDP)\s*,\s*(\d+)$")
RECV_FROM = "RECV FROM:"
CME = re.compile(r"\+CM([ES]) ERROR:\s*(.*)$")
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}$")
_INDEX = r"(?:\d+\s*,\s*)?"
#: QIOPEN's second stage, with the link index of QIMUX=1 (`0, CONNECT OK`, PROTOCOL.md §5).
CONNECTION = re.compile(r"(?:(\d+)\s*,\s*)?(" + alternatives(CONNECTION_RESULTS) + ")$")
CLOSE_OK = re.compile(_INDEX + re.escape(ResultCode.CLOSE_OK) + "$")

_URC = re.compile(
    r"(?P<rdy>RDY$)"
    r"|(?P<cfun>\+CFUN:)"
    r"|(?P<cpin>\+CPIN:)"
    r"|(?P<call_ready>Call Ready$)"
    r"|(?P<sms_ready>SMS Ready$)"
    r"|(?P<creg>\+CREG:)"
    r"|(?P<cgreg>\+CGREG:)"
    r"|(?P<closed>(?:\d+\s*,\s*)?CLOS(?:ED?)?$)"
    r"|(?P<pdp_deact>\+PDP DEACT$)"
    r"|(?P<qirdi>\+QIRDI:)"
    r"|(?P<receive>\+RECEIVE:)"
    r"|(?P<power_down>" + re.escape(ResultCode.NORMAL_POWER_DOWN) + "$)"
    r"|(?P<voltage>(?:UNDER|OVER)[_-]VOLTAGE (?:WARNN?ING|POWER DOWN)$)"
    r"|(?P<error>\+CM[ES] ERROR:)"
    r"|(?P<late>" + _INDEX + "(?:" + alternatives(CONNECTION_RESULTS) + ")$)"
    r"|(?P<stray>" + _INDEX + "(?:" + alternatives(STRAY_RESULTS) + ")$)"
)
#: URCs whose prefix is also the reply of the read command of the same name.
_SHARED_PREFIX = {UrcKind.CFUN, UrcKind.CPIN, UrcKind.CREG, UrcKind.CGREG}


def urc_kind(text: str) -> UrcKind | None:
    """The URC family of a line, or None if it is not a known unsolicited line."""
    m = _URC.match(text)
    return UrcKind(m.lastgroup) if m and m.lastgroup else None


def _fields(text: str) -> int:
    return text.split(":", 1)[1].count(",") + 1


def own_reply(spec: CommandSpec, text: str, kind: UrcKind) -> bool:
    """Is this `+XXX:` line the reply of the command in flight rather than a URC?"""
    if kind not in _SHARED_PREFIX or text.split(":", 1)[0] != spec.name:
        return False
    if kind in (UrcKind.CREG, UrcKind.CGREG):
        # Read reply `+CREG: <n>,<stat>[,<lac>,<ci>]` vs URC `+CREG: <stat>[,<lac>,<ci>]` (§2).
        body = text.split(":", 1)[1].strip()
        return body.startswith("(") or _fields(text) in (2, 4)
    return True


def _squeeze(text: str) -> str:
    return "".join(text.split()).upper()


def echo_start(text: str, command: str) -> int | None:
    """Where the echo of `command` starts in the line `text` (it ends the line), or None."""
    want = _squeeze(command)
    upper = text.upper()
    i = upper.rfind("AT")
    while i >= 0:
        if _squeeze(text[i:]) == want:
            return i
        i = upper.rfind("AT", 0, i)
    return None


def common_prefix(a: bytes | bytearray, b: bytes | bytearray) -> int:
    """How many leading bytes `a` and `b` share."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo
