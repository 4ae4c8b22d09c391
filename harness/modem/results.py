"""What the typed commands return: values in the document's words, never a raw reply to parse.

The words (`ResultCode`, `IpState`) and the values the registry's parsers read (`Ack`,
`Registration`, `Signal`, `SimStatus`) live in harness/commands and are re-exported here; this
module adds the results that keep their `Reply` (for its timing and stages).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.at import QirdBlock, Reply, Stage
from harness.clauses import clause as _clause
from harness.commands import (
    Ack,
    IpState,
    Registration,
    ResultCode,
    Signal,
    SimStatus,
    ip_state,
    result_code,
)
from harness.errors import DeviationFault, UsageFault
from harness.limits import Timing

__all__ = [
    "Ack",
    "CommandArgumentError",
    "IpState",
    "ModuleDeviation",
    "OpenResult",
    "QirdResult",
    "Registration",
    "Result",
    "ResultCode",
    "SendResult",
    "Signal",
    "SimStatus",
    "ip_state",
    "result_code",
]


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
    def stages(self) -> list[Stage]:
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
