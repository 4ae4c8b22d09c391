"""The "GSM TCPIP Recommended Process" as a client: how a host should drive the module.

Bring-up, PDP activation, open with every documented reaction, windowed sending that loses
nothing, heartbeat, close, and reboots with back-off. The process is a state machine
(`Phase`: off → synced → ready → context → connected, moved only by `transition()`); each step
says what it decided as a `Decision` carrying a `Reaction` (continue, retry, close, deactivate,
reboot, emergency, stop), logged to "modemcert.process", kept in `Process.decisions` and handed
to the observers, so tests, timings.json and the report see the path.

Modules: machine (phases, reactions, decisions), state (what the steps share), bringup (INIT-*),
pdp (PDP-*), opening (OPEN-*), sender (SEND-*, KEEP-CHECK), receiver (RECV-*), recovery
(PWR-BACKOFF, PWR-OFF, PWR-EMERG), stream (the bytes and their links), driver (`Process`).
"""

from harness.process.driver import HEARTBEAT_DATA, Process
from harness.process.machine import (
    TRANSITIONS,
    Decision,
    Event,
    Phase,
    ProcessError,
    ProcessRigError,
    Reaction,
    Restart,
    transition,
)
from harness.process.opening import OPEN_ROUNDS
from harness.process.sender import RESEND_ROUNDS, SEND_ERRORS
from harness.process.state import Observer, Options, StreamNotOpen
from harness.process.stream import Link, Sender, SessionResult

__all__ = [
    "HEARTBEAT_DATA",
    "OPEN_ROUNDS",
    "RESEND_ROUNDS",
    "SEND_ERRORS",
    "TRANSITIONS",
    "Decision",
    "Event",
    "Link",
    "Observer",
    "Options",
    "Phase",
    "Process",
    "ProcessError",
    "ProcessRigError",
    "Reaction",
    "Restart",
    "Sender",
    "SessionResult",
    "StreamNotOpen",
    "transition",
]
