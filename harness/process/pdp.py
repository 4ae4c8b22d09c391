"""PDP: the context up (PDP-ACT, PDP-ACT-RETRY), down (PDP-DEACT), and lost (PDP-LOST).

Every step returns None to go on, or the decision whose reaction restarts the module; `react()`
carries out the reactions that stay on the line (AT+QICLOSE, AT+QIDEACT).
"""

from __future__ import annotations

from harness import limits
from harness.at import ATError, UrcKind
from harness.clock import stamp
from harness.modem import IpState, ResultCode
from harness.process.machine import Decision, Event, Reaction, Restart
from harness.process.state import State


class Pdp:
    """The PDP context of chapter 9, with its failure counters."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.qiact_failures = 0  # in a row (PDP-ACT-RETRY)
        self.qideact_failures = 0  # in a row (PDP-DEACT)

    def react(self, decision: Decision) -> Restart:
        """Carry out `decision`'s reaction on the line; a restart goes back to the driver."""
        match decision.reaction:
            case Reaction.DEACTIVATE:
                return self.deactivate()
            case Reaction.CLOSE:
                self.state.modem.qiclose()  # the link (or the attempt) ends; the context stays
                self.state.enter(Event.CLOSED)
                return None
            case Reaction.REBOOT | Reaction.EMERGENCY:
                return decision
            case _:
                return None

    def ensure(self) -> Restart:
        """A context up: one lost since it came up (+PDP DEACT) is met first (PDP-LOST)."""
        s = self.state
        if s.context_up and s.urc_since(UrcKind.PDP_DEACT, s.context_ns):
            halt = self.lost()
            if halt is not None:
                return halt
        if not s.context_up:
            return self.activate()
        return None

    def lost(self) -> Restart:
        """PDP-LOST: +PDP DEACT came; deactivate and start over from PDP-ACT."""
        s = self.state
        s.decide(
            "PDP-LOST", "+PDP DEACT: deactivate and start over from PDP-ACT", Reaction.DEACTIVATE
        )
        if s.sender is not None:
            s.sender.end_link("context lost (PDP-LOST)")
        s.drop_link()
        return self.deactivate()

    def activate(self) -> Restart:
        """AT+QIREGAPP, AT+QIACT, AT+QILOCIP together (PDP-ACT), with PDP-ACT-RETRY."""
        s = self.state
        m = s.modem
        while True:
            s.urc_since(UrcKind.PDP_DEACT, stamp())  # forget drops of older contexts
            since = stamp()
            reg = m.qiregapp()
            if not reg.ok:
                state = m.qistat()
                if state is not IpState.IP_START:
                    halt = self._failed(f"AT+QIREGAPP answered {reg.final} in {state}")
                    if halt is not None:
                        return halt
                    continue
            act = m.qiact()  # no answer within limits.QIACT: ATTimeout, the driver restarts
            if not act.ok:
                halt = self._failed(f"AT+QIACT answered {act.final}")
                if halt is not None:
                    return halt
                continue
            try:
                address = m.qilocip()
            except ATError as e:
                halt = self._failed(f"AT+QILOCIP answered {e.reply.final}")
                if halt is not None:
                    return halt
                continue
            self.qiact_failures = 0
            s.context_ns = since
            s.enter(Event.ACTIVATED)
            s.decide("PDP-ACT", f"context active, local IP {address}")
            return None

    def _failed(self, why: str) -> Restart:
        """PDP-ACT-RETRY: deactivate and retry; the third failure in a row reboots."""
        self.qiact_failures += 1
        n = self.qiact_failures
        if n >= limits.QIACT_FAILURES:
            self.qiact_failures = 0
            return self.state.decide(
                "PDP-ACT-RETRY",
                f"{why}: {n} failures in a row: reboot",
                Reaction.REBOOT,
                cause=f"PDP activation failed {n} times",
            )
        decision = self.state.decide(
            "PDP-ACT-RETRY",
            f"{why} ({n} of {limits.QIACT_FAILURES}): deactivate and retry",
            Reaction.DEACTIVATE,
        )
        return self.react(decision)

    def deactivate(self) -> Restart:
        """AT+QIDEACT until DEACT OK (PDP-DEACT); the third failure in a row reboots."""
        s = self.state
        while True:
            result = s.modem.qideact()  # no answer within limits.QIDEACT: the driver restarts
            if result.code is ResultCode.DEACT_OK:
                self.qideact_failures = 0
                if s.sender is not None:
                    s.sender.end_link("deactivated")
                s.enter(Event.DEACTIVATED)
                s.decide("PDP-DEACT", f"{result.code} in {result.elapsed:.1f} s")
                return None
            self.qideact_failures += 1
            n = self.qideact_failures
            if n >= limits.QIDEACT_FAILURES:
                self.qideact_failures = 0
                return s.decide(
                    "PDP-DEACT",
                    f"AT+QIDEACT failed {n} times: reboot",
                    Reaction.REBOOT,
                    cause=f"AT+QIDEACT failed {n} times",
                )
            s.decide(
                "PDP-DEACT", f"AT+QIDEACT answered {result.final} ({n}): again", Reaction.RETRY
            )
