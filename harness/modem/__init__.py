"""Typed AT commands in the document's words: `qistat() -> IpState`, `qisack() -> Ack`, ….

Each method sends one command through an `ATChannel` and turns its reply into a typed value
with its registry entry (harness/commands: line, framing, limit, parser).
A refusal (`ERROR`, `+CME ERROR`) raises `ATError` unless the document gives it a reaction, in
which case it is an outcome (QIOPEN, QISEND, QIACT, QIDEACT, QICLOSE, QIREGAPP: a `Result`
whose `code` is a `ResultCode`); an answer that contradicts the document raises
`ModuleDeviation`; no answer in the limit, `ATTimeout`. INIT-SYNC (`sync`) and who the module
is (`identify`) live here too: they are AT conversations, not power sequences.
"""

from harness.modem.identity import Identity, identify
from harness.modem.results import (
    Ack,
    CommandArgumentError,
    IpState,
    ModuleDeviation,
    OpenResult,
    QirdResult,
    Registration,
    Result,
    ResultCode,
    SendResult,
    Signal,
    SimStatus,
    ip_state,
    result_code,
)
from harness.modem.steps import ACK_POLL, REGISTRATION_POLL, Modem
from harness.modem.sync import (
    LINE_CHECKS,
    SEARCH_TRIES,
    SyncError,
    SyncResult,
    at_until_ok,
    in_step,
    sync,
)

__all__ = [
    "ACK_POLL",
    "LINE_CHECKS",
    "REGISTRATION_POLL",
    "SEARCH_TRIES",
    "Ack",
    "CommandArgumentError",
    "Identity",
    "IpState",
    "Modem",
    "ModuleDeviation",
    "OpenResult",
    "QirdResult",
    "Registration",
    "Result",
    "ResultCode",
    "SendResult",
    "Signal",
    "SimStatus",
    "SyncError",
    "SyncResult",
    "at_until_ok",
    "identify",
    "in_step",
    "ip_state",
    "result_code",
    "sync",
]
