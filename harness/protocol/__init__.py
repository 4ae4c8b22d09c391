"""Sans-IO AT codec for the Quectel QI command set: bytes in (any chunking), typed events out.

Like h11 it has no threads, no I/O and no clock. Modules by responsibility: `events` (what it
emits, its bounds), `spec` (the command in flight, framed as its registry entry says),
`classify` (what a line is), `replies` (how each kind of reply ends), `echo` (a QISEND
payload's echo), `blocks` (length-framed data), `datamode` (transparent mode) and `codec`
(`Codec`: the byte loop and its named `Reading` states).
"""

from harness.commands import NUMERIC_RESULTS, NUMERIC_STATES, Kind
from harness.protocol.classify import urc_kind
from harness.protocol.codec import Codec
from harness.protocol.events import (
    DATA_MODE_ALERTS,
    EVENT_TYPES,
    MAX_ECHO,
    MAX_FRAME,
    MAX_LINE,
    Absorbed,
    DataBytes,
    Echo,
    Event,
    Final,
    Line,
    Noise,
    PossibleClosed,
    Prompt,
    ProtocolError,
    QirdBlock,
    Received,
    Stage,
    Urc,
    UrcKind,
)
from harness.protocol.spec import ESCAPE_SPEC, CommandSpec, Form, spec_for
from harness.protocol.states import Reading

__all__ = [
    "DATA_MODE_ALERTS",
    "ESCAPE_SPEC",
    "EVENT_TYPES",
    "MAX_ECHO",
    "MAX_FRAME",
    "MAX_LINE",
    "NUMERIC_RESULTS",
    "NUMERIC_STATES",
    "Absorbed",
    "Codec",
    "CommandSpec",
    "DataBytes",
    "Echo",
    "Event",
    "Final",
    "Form",
    "Kind",
    "Line",
    "Noise",
    "PossibleClosed",
    "Prompt",
    "ProtocolError",
    "QirdBlock",
    "Reading",
    "Received",
    "Stage",
    "Urc",
    "UrcKind",
    "spec_for",
    "urc_kind",
]
