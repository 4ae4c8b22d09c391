"""The recommended process's phases, its reactions, and the one function that moves between them.

Like h11's connection state: named phases, one table of the moves each event makes, and an event
a phase has no move for is a harness bug, never silently ignored. A step of the process says
what it decided as a `Decision` value carrying its `Reaction` (OpenHTF's phase results), rather
than raising: the driver reads the reaction and carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.errors import DeviationFault, HarnessBug, RigFault


class Phase(StrEnum):
    """How far the module is on the flow chart (chapter 9), from the host's side."""

    OFF = "off"  # not brought up since the last power-on (or unknown)
    SYNCED = "synced"  # answers AT in step at the fixed rate (INIT-SYNC, INIT-IPR)
    READY = "ready"  # SIM ready, registered, attached, configured (INIT-*)
    CONTEXT = "context"  # the PDP context is active (PDP-ACT)
    CONNECTED = "connected"  # a link is open (OPEN-TCP / OPEN-UDP)


class Reaction(StrEnum):
    """What a decision calls for; the document's reactions, in its words."""

    CONTINUE = "continue"  # the step reached its goal: go on
    RETRY = "retry"  # the same step again (the same chunk, the next poll, another AT+QIOPEN)
    CLOSE = "close"  # AT+QICLOSE: the link ends, the context stays up
    DEACTIVATE = "deactivate"  # AT+QIDEACT: the context ends (then PDP-ACT again)
    REBOOT = "reboot"  # PWRKEY off, then on (PWR-OFF, PWR-ON), within PWR-BACKOFF
    EMERGENCY = "emergency"  # EMERG_OFF, then on (PWR-EMERG), within PWR-BACKOFF
    STOP = "stop"  # nothing in the document recovers from this: ProcessError

    @property
    def restarts(self) -> bool:
        """Does it power-cycle the module (the driver's business, not the step's)?"""
        return self in (Reaction.REBOOT, Reaction.EMERGENCY)


class Event(StrEnum):
    """What happened to the module; `transition()` turns it into the next phase."""

    SYNCED = "synced"  # INIT-SYNC done
    CONFIGURED = "configured"  # INIT-* done
    ACTIVATED = "activated"  # PDP-ACT: AT+QILOCIP gave the address
    OPENED = "opened"  # CONNECT OK
    CLOSED = "closed"  # the link ended: AT+QICLOSE, the peer's CLOSED, a broken link
    DEACTIVATED = "deactivated"  # DEACT OK
    RESTARTED = "restarted"  # power-cycled, or about to be


#: Every move of the machine; a RESTARTED event is allowed from every phase (see transition()).
TRANSITIONS: dict[Phase, dict[Event, Phase]] = {
    Phase.OFF: {Event.SYNCED: Phase.SYNCED},
    Phase.SYNCED: {Event.SYNCED: Phase.SYNCED, Event.CONFIGURED: Phase.READY},
    Phase.READY: {
        Event.ACTIVATED: Phase.CONTEXT,
        Event.DEACTIVATED: Phase.READY,  # PDP-ACT-RETRY: AT+QIDEACT before AT+QIREGAPP again
    },
    Phase.CONTEXT: {
        Event.OPENED: Phase.CONNECTED,
        Event.CLOSED: Phase.CONTEXT,  # OPEN-ALREADY, OPEN-FAIL in TCP CONNECTING
        Event.DEACTIVATED: Phase.READY,
    },
    Phase.CONNECTED: {
        Event.CLOSED: Phase.CONTEXT,
        Event.DEACTIVATED: Phase.READY,  # PDP-LOST, CLOSE-DEACT with the session open
    },
}


def transition(phase: Phase, event: Event) -> Phase:
    """The phase `event` leads to from `phase`; HarnessBug if the chart has no such move."""
    if event is Event.RESTARTED:
        return Phase.OFF
    moves = TRANSITIONS[phase]
    if event not in moves:
        raise HarnessBug(
            f"the recommended process has no move for {event.value!r} in phase {phase.value!r} "
            f"(moves there: {', '.join(e.value for e in moves) or 'none'}); a harness bug"
        )
    return moves[event]


@dataclass(frozen=True)
class Decision:
    """One branch taken: the clause that prescribes it, what was done, when (module s), and the
    reaction it calls for; `cause` is the short reason a restart is for (the back-off history)."""

    clause: str
    what: str
    at: float
    reaction: Reaction = Reaction.CONTINUE
    cause: str = ""

    @property
    def title(self) -> str:
        """One line for a report step: `PDP-ACT-RETRY: … deactivate and retry`."""
        return f"{self.clause}: {self.what}"


#: A step's result: None to go on, or the decision whose reaction restarts the module.
Restart = Decision | None


class ProcessError(DeviationFault, RuntimeError):
    """The document's recovery ran out: the module never got back to the happy path; `clause`
    is where, the message says what to check."""

    def __init__(self, clause: str, message: str) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause


class ProcessRigError(RigFault):
    """The rig cannot do what the document asks (no lines to reboot with, a failed power
    sequence): no verdict on the module; `power_error` is the sequence's own error, if any."""

    def __init__(self, clause: str, message: str, power_error: Exception | None = None) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause
        self.power_error = power_error
