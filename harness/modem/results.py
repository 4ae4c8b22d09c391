"""What the typed commands return: values in the document's words, never a raw reply to parse.

`ResultCode` is the one place the final result words live (`DEACT OK`, `CLOSE OK`, `SEND FAIL`
…); every caller compares members of it, and `IpState` the QISTAT words, instead of strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from harness import limits
from harness.at import QirdBlock, Reply
from harness.clauses import clause as _clause
from harness.errors import DeviationFault, UsageFault
from harness.limits import Timing


class ResultCode(StrEnum):
    """The final result codes the document names (PROTOCOL.md §1, §4, §6, §7, §13)."""

    OK = "OK"
    ERROR = "ERROR"  # also `+CME ERROR: <n>` / `+CMS ERROR: <n>`: the number is `error_code`
    CONNECT_OK = "CONNECT OK"
    CONNECT_FAIL = "CONNECT FAIL"
    ALREADY_CONNECT = "ALREADY CONNECT"
    CONNECT = "CONNECT"  # AT+QIOPEN in transparent mode (TRANS-OPEN)
    SEND_OK = "SEND OK"
    SEND_FAIL = "SEND FAIL"
    CLOSE_OK = "CLOSE OK"
    DEACT_OK = "DEACT OK"
    NORMAL_POWER_DOWN = "NORMAL POWER DOWN"

    def __repr__(self) -> str:
        return repr(self.value)  # failure messages read 'CLOSE OK', as the module printed it


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


_STATES = {s.value: s for s in IpState}


def ip_state(text: str) -> IpState | None:
    """`"STATE: IP STATUS"` or `"IP STATUS"` → IpState.IP_STATUS; None if it is no state."""
    word = text.strip()
    if word.upper().startswith("STATE:"):
        word = word[len("STATE:") :].strip()
    return _STATES.get(" ".join(word.split()).upper())


@dataclass(frozen=True)
class Result:
    """One command's answer as a value: which result code it ended with, and the reply.

    `ok` is the codec's word that the module took the command (`OK`, `DEACT OK`, `CLOSE OK` …);
    `code` says which, as printed (a `<n>, ` link index makes it None: these are the
    single-connection commands): compare it with `ResultCode` members, never the final's text.
    """

    reply: Reply
    code: ResultCode | None

    @classmethod
    def of(cls, reply: Reply) -> Result:
        return cls(reply, result_code(reply.final, link_index=False))

    @property
    def ok(self) -> bool:
        return self.reply.ok

    @property
    def final(self) -> str | None:
        return self.reply.final

    @property
    def command(self) -> str:
        return self.reply.command

    @property
    def lines(self) -> list[str]:
        return self.reply.lines

    @property
    def stages(self) -> list:
        return self.reply.stages

    @property
    def elapsed(self) -> float:
        return self.reply.elapsed

    @property
    def error_code(self) -> int | None:
        return self.reply.error_code

    def timing(self, clause: str | None = None) -> Timing:
        """The reply's time judged against the command's documented limit (`Reply.timing`)."""
        return self.reply.timing(clause)


@dataclass(frozen=True)
class Ack:
    """`+QISACK: <sent>, <acked>, <nAcked>`: handed over, acknowledged, not yet (SEND-ACK)."""

    sent: int
    acked: int
    nacked: int


@dataclass(frozen=True)
class Registration:
    """`+CREG: <n>,<stat>[,<lac>,<ci>]` (or +CGREG); registered = stat 1 (home) or 5 (roaming)."""

    n: int
    stat: int
    lac: str | None = None
    ci: str | None = None

    @property
    def registered(self) -> bool:
        return self.stat in limits.REGISTERED_STATS


@dataclass(frozen=True)
class OpenResult:
    """Both stages of AT+QIOPEN: the immediate `OK`, then CONNECT OK / CONNECT FAIL / CONNECT.

    `outcome` is the final's result code (CONNECT_OK, CONNECT_FAIL, ALREADY_CONNECT, CONNECT,
    ERROR), or None when nothing final came within the timeout.
    """

    reply: Reply
    outcome: ResultCode | None
    first_ok: bool
    elapsed: float  # module seconds from the command to its last stage (or to giving up)
    timed_out: bool = False

    @property
    def connected(self) -> bool:
        return self.outcome in (ResultCode.CONNECT_OK, ResultCode.CONNECT)

    @property
    def accepted(self) -> bool:
        """The module took the command (its `OK` stage); docs/architecture.md's name."""
        return self.first_ok

    @property
    def result(self) -> ResultCode | None:
        """docs/architecture.md's name for `outcome`."""
        return self.outcome


@dataclass(frozen=True)
class SendResult:
    """AT+QISEND: `SEND OK` (in the module's send window), `SEND FAIL`, `ERROR` …"""

    reply: Reply
    outcome: ResultCode | None
    sent: int  # payload bytes handed over (0 unless SEND OK)

    @property
    def ok(self) -> bool:
        return self.outcome is ResultCode.SEND_OK


@dataclass(frozen=True)
class QirdResult:
    """AT+QIRD: the payload of every `+QIRD:` block; `closed` = ERROR (link closed, empty)."""

    data: bytes
    blocks: list[QirdBlock] = field(default_factory=list)
    reply: Reply | None = None

    @property
    def closed(self) -> bool:
        return self.reply is not None and not self.reply.ok


class CommandArgumentError(UsageFault, ValueError):
    """A command cannot carry this value (a quote in an APN …): fix the caller or the rig."""


class ModuleDeviation(DeviationFault, AssertionError):
    """The module's answer contradicts the document: what was asked, what came back, what the
    document says (clause) and the last bytes on the line."""

    def __init__(
        self, command: str, got: object, expected: str, clause: str, transcript_tail: str = ""
    ) -> None:
        self.command = command
        self.got = got
        self.expected = expected
        self.clause = _clause(clause).id
        self.transcript_tail = transcript_tail
        tail = f"\nlast bytes:\n{transcript_tail}" if transcript_tail else ""
        super().__init__(f"{command}: the module answered {got!r}; {clause}: {expected}{tail}")
