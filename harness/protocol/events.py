"""What the codec emits: one frozen dataclass per thing a module's bytes can mean.

Bounds that keep the codec from wedging on garbage live here too (PROTOCOL.md §14 "line
noise is real"), and `ProtocolError`, the one error the codec raises (on misuse, never input).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.errors import HarnessBug

MAX_LINE = 4096  # a line longer than this is noise
MAX_FRAME = 65535  # a length-framed block announcing more than this is not a header
MAX_ECHO = 8192  # payload bytes remembered for matching their echo

#: Strings the module prints in transparent mode that may also be peer data (TRANS-CLOSED).
DATA_MODE_ALERTS = (b"CLOSED", b"+PDP DEACT")


class ProtocolError(HarnessBug):
    """The codec was used out of order (e.g. a second command begun while one is in flight):
    the channel's bug, never the module's."""


@dataclass(frozen=True)
class Echo:
    """The module echoing what the host typed: a command line (ATE1) or QISEND payload (§14)."""

    data: bytes
    t_ns: int
    payload: bool = False


@dataclass(frozen=True)
class Line:
    """An information line of the command in flight (`+CREG: 0,1`, `Quectel_M95`)."""

    text: str
    t_ns: int


@dataclass(frozen=True)
class Stage:
    """An intermediate result: QIOPEN's `OK` before `CONNECT OK`, QISTAT's `OK` before STATE."""

    text: str
    t_ns: int


@dataclass(frozen=True)
class Final:
    """The result that ends the command in flight; `ok` says whether it is a success."""

    text: str
    t_ns: int
    ok: bool
    code: int | None = None  # the number of `+CME ERROR: <n>` / `+CMS ERROR: <n>`


@dataclass(frozen=True)
class Prompt:
    """The `\\r\\n> ` send prompt of AT+QISEND (PROTOCOL.md §6): type the payload now."""

    t_ns: int


class UrcKind(StrEnum):
    RDY = "rdy"
    CFUN = "cfun"
    CPIN = "cpin"
    CALL_READY = "call_ready"
    SMS_READY = "sms_ready"
    CREG = "creg"
    CGREG = "cgreg"
    CLOSED = "closed"
    PDP_DEACT = "pdp_deact"
    QIRDI = "qirdi"
    RECEIVE = "receive"
    RECV_FROM = "recv_from"  # a RECV FROM line not followed by IPD data
    POWER_DOWN = "power_down"
    VOLTAGE = "voltage"
    ERROR = "error"  # +CME/+CMS ERROR with nothing in flight (boot noise, §3)
    LATE = "late"  # CONNECT OK / CONNECT FAIL / ALREADY CONNECT after the caller gave up
    STRAY = "stray"  # OK, ERROR, SEND OK ... that no command is waiting for
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Urc:
    """An unsolicited line; it never belongs to the reply it interrupts."""

    text: str
    t_ns: int
    kind: UrcKind = UrcKind.UNKNOWN


@dataclass(frozen=True)
class Received:
    """Pushed data framed by `IPD<len>[TCP|UDP]:` or `+RECEIVE: <id>, <len>` (§8)."""

    payload: bytes
    peer: str | None
    proto: str | None
    t_ns: int
    link: int | None = None
    complete: bool = True  # False: the frame gap expired before `length` bytes came


@dataclass(frozen=True)
class QirdBlock:
    """One `+QIRD: <ip>:<port>,<proto>,<len>` block of an AT+QIRD reply and its payload."""

    payload: bytes
    t_ns: int
    peer: str
    proto: str
    length: int
    complete: bool = True


@dataclass(frozen=True)
class DataBytes:
    """Bytes from the peer in transparent data mode (TRANS-DATA)."""

    data: bytes
    t_ns: int


@dataclass(frozen=True)
class PossibleClosed:
    """`CLOSED` or `+PDP DEACT` seen in the data stream: maybe peer data (TRANS-CLOSED)."""

    text: str
    t_ns: int


@dataclass(frozen=True)
class Noise:
    """Bytes that could not be framed (0xFF, XON/XOFF, over-long lines); parsing went on."""

    data: bytes
    t_ns: int
    reason: str


@dataclass(frozen=True)
class Absorbed:
    """The `ERROR` an M95 prints after `ALREADY CONNECT` (§14), kept from the next command."""

    text: str
    t_ns: int


Event = (
    Echo
    | Line
    | Stage
    | Final
    | Prompt
    | Urc
    | Received
    | QirdBlock
    | DataBytes
    | PossibleClosed
    | Noise
    | Absorbed
)
#: Every event type the codec can emit, for fuzzers checking invariants.
EVENT_TYPES: tuple[type, ...] = (
    Echo,
    Line,
    Stage,
    Final,
    Prompt,
    Urc,
    Received,
    QirdBlock,
    DataBytes,
    PossibleClosed,
    Noise,
    Absorbed,
)
