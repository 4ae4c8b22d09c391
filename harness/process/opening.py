"""OPEN: the stream's link up, with every reaction chapter 3 documents (OPEN-FAIL, OPEN-ALREADY,
OPEN-ERR-MUX, OPEN-ERR-STATE, OPEN-ERR-FORMAT, OPEN-RETRY).

Failures are counted into rounds: QIOPEN_FAILURES in a row (or no answer) deactivate and try
again; OPEN_ROUNDS such rounds end in EMERG_OFF, as the document's "several times" asks.
"""

from __future__ import annotations

from harness import limits
from harness.at import ATError, UrcKind
from harness.clock import stamp
from harness.errors import HarnessBug
from harness.modem import IpState, OpenResult, ResultCode
from harness.process.machine import Event, ProcessError, Reaction, Restart
from harness.process.pdp import Pdp
from harness.process.state import State

#: OPEN-RETRY: "still no context after repeating AT+QIDEACT/AT+QIOPEN several times" → EMERG_OFF.
#: A harness choice (the document gives no number), so it is not in limits.py.
OPEN_ROUNDS = 3


class Opener:
    """Opens the open stream's link to its target, reacting as the document says."""

    def __init__(self, state: State, pdp: Pdp) -> None:
        self.state = state
        self.pdp = pdp

    def ensure(self) -> Restart:
        """The link up: a context first, a CLOSED seen since the link opened ends it."""
        halt = self.pdp.ensure()
        if halt is not None:
            return halt
        s = self.state
        sender = s.stream("send")
        if s.connected and sender.link is not None:
            if not s.urc_since(UrcKind.CLOSED, sender.link.opened_ns):
                return None
            s.link_gone("peer closed", "CLOSED: the peer closed the session")
        return self._open()

    def _target(self) -> tuple[str, str, int]:
        if self.state.target is None:
            raise HarnessBug("the process opened a link with no target")
        return self.state.target

    def _open(self) -> Restart:
        s = self.state
        proto, host, port = self._target()
        s.drop_link()  # a link of an earlier stream is not this stream's to keep
        failures = rounds = 0
        while True:
            halt = self.pdp.ensure()
            if halt is not None:
                return halt
            s.urc_since(UrcKind.CLOSED, stamp())  # CLOSED of earlier links is old news
            r = s.modem.qiopen(proto, host, port)
            if r.connected:
                s.opened = r
                s.enter(Event.OPENED)
                link = s.stream("send").start_link(proto, host, port)
                # Data may come before CONNECT OK is printed: the link starts with the command.
                link.opened_ns = r.reply.sent_ns or link.opened_ns
                clause = "OPEN-UDP" if proto == "UDP" else "OPEN-TCP"
                s.decide(clause, f"{r.outcome} in {r.elapsed:.1f} s")
                return None
            if r.timed_out:
                why = f"no answer within {limits.QIOPEN.seconds:g} s"
            else:
                halt = self._failed(r)
                if halt is not None:
                    return halt
                failures += 1
                if failures < limits.QIOPEN_FAILURES:
                    continue
                why = f"{failures} failures in a row"
            rounds, halt = self._round(rounds, why)
            if halt is not None:
                return halt
            failures = 0

    def _round(self, rounds: int, why: str) -> tuple[int, Restart]:
        """One more OPEN-RETRY round: AT+QIDEACT, or EMERG_OFF after OPEN_ROUNDS of them."""
        self.state.decide("OPEN-RETRY", f"{why}: QIDEACT, try again", Reaction.DEACTIVATE)
        rounds += 1
        if rounds >= OPEN_ROUNDS:
            return rounds, self.state.decide(
                "OPEN-RETRY",
                f"still failing after {rounds} rounds: EMERG_OFF",
                Reaction.EMERGENCY,
                cause="AT+QIOPEN keeps failing",
            )
        return rounds, self.pdp.deactivate()

    def _failed(self, r: OpenResult) -> Restart:
        """The reaction to one refused AT+QIOPEN (chapter 3)."""
        s = self.state
        m = s.modem
        if s.urc_since(UrcKind.PDP_DEACT, s.context_ns):
            return self.pdp.lost()  # the refusal's cause came first: +PDP DEACT (PDP-LOST)
        if r.outcome is ResultCode.ALREADY_CONNECT:
            decision = s.decide(
                "OPEN-ALREADY", "ALREADY CONNECT: QICLOSE, then open again", Reaction.CLOSE
            )
            return self.pdp.react(decision)
        if r.outcome is ResultCode.ERROR:
            try:
                mux = m.qimux()
            except ATError:
                mux = False
            if mux:
                s.decide("OPEN-ERR-MUX", "ERROR with QIMUX 1: QIMUX=0 and retry", Reaction.RETRY)
                try:
                    m.qimux(False)
                except ATError:  # only in IP INITIAL (PROTOCOL.md §1 [U])
                    halt = self.pdp.deactivate()
                    if halt is not None:
                        return halt
                    m.qimux(False)
                return None
            state = m.qistat()
            if state.value in limits.OPEN_ALLOWED_STATES:
                s.decide(
                    "OPEN-ERR-FORMAT", f"ERROR in {state} with QIMUX 0: malformed", Reaction.STOP
                )
                raise ProcessError(
                    "OPEN-ERR-FORMAT",
                    f"{r.reply.command} answered ERROR in {state}: the command is malformed "
                    "(check the protocol, the address and the port; QIDNSIP=1 for names)",
                )
            return self._fail_reaction("OPEN-ERR-STATE", f"ERROR in {state}", state)
        state = m.qistat()
        outcome = r.outcome or r.reply.final or "no result"
        return self._fail_reaction("OPEN-FAIL", f"{outcome} in {state}", state)

    def _fail_reaction(self, clause: str, what: str, state: IpState) -> Restart:
        """TCP CONNECTING: QICLOSE (the context stays up); any other state: QIDEACT."""
        if state in (IpState.TCP_CONNECTING, IpState.UDP_CONNECTING):
            decision = self.state.decide(
                clause, f"{what}: QICLOSE, the context stays up", Reaction.CLOSE
            )
        else:
            decision = self.state.decide(clause, f"{what}: QIDEACT", Reaction.DEACTIVATE)
        return self.pdp.react(decision)
