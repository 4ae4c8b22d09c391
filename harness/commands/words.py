"""The words a module answers with: final result codes and AT+QISTAT states.

The one place these words live (PROTOCOL.md §0, §1): the codec frames replies with them, the
registry's parsers read them, and every caller compares members, never the text.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ResultCode(StrEnum):
    """The final result codes the document names (PROTOCOL.md §0, §1, §4, §6, §7, §12, §13)."""

    OK = "OK"
    ERROR = "ERROR"  # also `+CME ERROR: <n>` / `+CMS ERROR: <n>`: the number is `error_code`
    CONNECT_OK = "CONNECT OK"
    CONNECT_FAIL = "CONNECT FAIL"
    ALREADY_CONNECT = "ALREADY CONNECT"
    CONNECT = "CONNECT"  # AT+QIOPEN in transparent mode (TRANS-OPEN), and ATO
    SEND_OK = "SEND OK"
    SEND_FAIL = "SEND FAIL"
    CLOSE_OK = "CLOSE OK"
    DEACT_OK = "DEACT OK"
    NORMAL_POWER_DOWN = "NORMAL POWER DOWN"
    NO_CARRIER = "NO CARRIER"  # ATO with no connection to go back to (V.25ter)

    def __repr__(self) -> str:
        return repr(self.value)  # failure messages read 'CLOSE OK', as the module printed it


#: The second stage of AT+QIOPEN (PROTOCOL.md §5); after the caller gave up they are late.
CONNECTION_RESULTS = (
    ResultCode.CONNECT_OK,
    ResultCode.CONNECT_FAIL,
    ResultCode.ALREADY_CONNECT,
    ResultCode.CONNECT,
)
#: Finals that end a reply; with nothing in flight they are stray (an earlier command's).
STRAY_RESULTS = (
    ResultCode.OK,
    ResultCode.ERROR,
    ResultCode.SEND_OK,
    ResultCode.SEND_FAIL,
    ResultCode.CLOSE_OK,
    ResultCode.DEACT_OK,
)
#: ATV0 numeric result codes (PROTOCOL.md §0); 5 (and up) is not a final here.
NUMERIC_RESULTS: dict[int, str] = {
    0: ResultCode.OK.value,
    1: ResultCode.CONNECT.value,
    2: "RING",
    3: ResultCode.NO_CARRIER.value,
    4: ResultCode.ERROR.value,
    6: "NO DIALTONE",
    7: "BUSY",
    8: "NO ANSWER",
}


def alternatives(words: tuple[str, ...]) -> str:
    """A regex alternation of `words`, longest first (so `CONNECT OK` wins over `CONNECT`)."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_CODES = {c.value: c for c in ResultCode}
_INDEX = re.compile(r"^\d+\s*,\s*")


def result_code(final: str | None, *, link_index: bool = True) -> ResultCode | None:
    """`"+CME ERROR: 14"` → ERROR, `"CLOSE OK"` → CLOSE_OK; with `link_index`, `"0, CLOSE OK"`
    → CLOSE_OK too (a QIOPEN/QISEND final). None for no final, or one that is no result code
    (an address, `STATE: …`, an index where none belongs)."""
    if final is None:
        return None
    text = final.strip()
    if link_index:
        text = _INDEX.sub("", text)
    if text.startswith(("+CME ERROR", "+CMS ERROR")):
        return ResultCode.ERROR
    return _CODES.get(text)


class IpState(StrEnum):
    """AT+QISTAT's `STATE:` words (PROTOCOL.md §1)."""

    IP_INITIAL = "IP INITIAL"
    IP_START = "IP START"
    IP_CONFIG = "IP CONFIG"
    IP_IND = "IP IND"
    IP_GPRSACT = "IP GPRSACT"
    IP_STATUS = "IP STATUS"
    TCP_CONNECTING = "TCP CONNECTING"
    UDP_CONNECTING = "UDP CONNECTING"
    IP_CLOSE = "IP CLOSE"
    CONNECT_OK = "CONNECT OK"
    PDP_DEACT = "PDP DEACT"


#: ATV0 AT+QISTAT prints the state as a digit: 0 = IP INITIAL … 5 = IP STATUS (§1; above: [U]).
NUMERIC_STATES = (
    IpState.IP_INITIAL,
    IpState.IP_START,
    IpState.IP_CONFIG,
    IpState.IP_IND,
    IpState.IP_GPRSACT,
    IpState.IP_STATUS,
)
STATE_PREFIX = "STATE:"

_STATES = {s.value: s for s in IpState}


def ip_state(text: str) -> IpState | None:
    """`"STATE: IP STATUS"` or `"IP STATUS"` → IpState.IP_STATUS; None if it is no state."""
    word = text.strip()
    if word.upper().startswith(STATE_PREFIX):
        word = word[len(STATE_PREFIX) :].strip()
    return _STATES.get(" ".join(word.split()).upper())
