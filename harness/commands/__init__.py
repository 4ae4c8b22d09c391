"""The AT command set: one registry entry per command, the words modules answer with, and the
typed values their answers mean.

`registry` (name, framing `Kind`, documented limit, parser) is read by the codec (framing), the
channel (AT-TIMEOUT) and `Modem` (typed results); `words` holds `ResultCode` and `IpState`, the
only place the result words live; `answers` the parsers and their values. Imports only limits,
clauses and errors: the codec and everything above it read it.
"""

from harness.commands.answers import (
    SIM_READY,
    Ack,
    Answer,
    Malformed,
    Registration,
    Signal,
    SimStatus,
)
from harness.commands.registry import (
    COMMAND_LIMITS,
    COMMANDS,
    Command,
    Kind,
    command,
    kind_of,
    limit_for,
)
from harness.commands.words import (
    CONNECTION_RESULTS,
    NUMERIC_RESULTS,
    NUMERIC_STATES,
    STRAY_RESULTS,
    IpState,
    ResultCode,
    ip_state,
    result_code,
)

__all__ = [
    "COMMANDS",
    "COMMAND_LIMITS",
    "CONNECTION_RESULTS",
    "NUMERIC_RESULTS",
    "NUMERIC_STATES",
    "SIM_READY",
    "STRAY_RESULTS",
    "Ack",
    "Answer",
    "Command",
    "IpState",
    "Kind",
    "Malformed",
    "Registration",
    "ResultCode",
    "Signal",
    "SimStatus",
    "command",
    "ip_state",
    "kind_of",
    "limit_for",
    "result_code",
]
