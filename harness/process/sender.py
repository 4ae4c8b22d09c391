"""SEND and KEEP: hand the stream over inside the send window, wait for its acknowledgement,
and check a quiet link before a heartbeat (SEND-WINDOW, SEND-ACK, KEEP-CHECK).

A link that stops acknowledging is closed and reopened, and the unacknowledged tail goes out
first on the new one (`Sender`); RESEND_ROUNDS new links in a row with nothing acknowledged end
the stream in ProcessError.
"""

from __future__ import annotations

from harness import limits
from harness.at import UrcKind
from harness.clock import Deadline, stamp
from harness.modem import ACK_POLL, Ack, IpState, ModuleDeviation, ResultCode
from harness.process.machine import ProcessError, Reaction, Restart
from harness.process.opening import Opener
from harness.process.pdp import Pdp
from harness.process.state import State

# Harness choices where the document gives no number (so they are not in limits.py):
#: Broken links in a row with nothing more acknowledged before the stream is given up.
RESEND_ROUNDS = 3
#: `ERROR` answers to AT+QISEND in a row on a link still in CONNECT OK before it counts as broken.
SEND_ERRORS = 3

#: (acknowledged offset, broken links since it last moved): when to give up resending.
Progress = tuple[int, int]


class Pump:
    """Moves the open stream's bytes to the module and watches them acknowledged."""

    def __init__(self, state: State, opener: Opener, pdp: Pdp) -> None:
        self.state = state
        self.opener = opener
        self.pdp = pdp

    # -- SEND ----------------------------------------------------------------------------------
    def pump(self) -> Restart:
        """Send what is unsent, SEND_MAX at a time, never past the SEND-WINDOW."""
        s = self.state
        stream = s.stream("send")
        errors = 0
        progress = (stream.acked, 0)
        while stream.unsent:
            halt = self.opener.ensure()
            if halt is not None:
                return halt
            link = s.link()
            if stream.proto == "TCP" and stream.handed > link.start:
                ack = self.qisack()
                if ack is None:
                    explained, halt = self.explained()
                    if halt is not None:
                        return halt
                    if not explained:
                        progress = self._broken(progress, "QISACK 0, 0, 0: the link is gone")
                    continue
                if ack.nacked >= limits.SEND_WINDOW_BYTES and not self._window_wait(ack):
                    progress = self._broken(progress, None)
                    continue
            chunk = stream.chunk(limits.SEND_MAX)
            result = s.modem.qisend(chunk, fixed=True)
            if result.ok:
                stream.handed_over(len(chunk))
                errors = 0
                continue
            if result.outcome is ResultCode.SEND_FAIL:
                s.decide(
                    "SEND-WINDOW", "SEND FAIL (send buffer full): wait for ACKs", Reaction.RETRY
                )
                ack = self.qisack()
                if ack is not None and ack.nacked + len(chunk) <= limits.SEND_WINDOW_BYTES:
                    # Below the window the document says to keep sending: a full buffer
                    # there is the module's fault, and waiting would loop for ever.
                    raise ModuleDeviation(
                        "AT+QISEND",
                        f"SEND FAIL with only {ack.nacked} bytes unacknowledged",
                        f"data accepted below {limits.SEND_WINDOW_BYTES} unacknowledged bytes",
                        "SEND-WINDOW",
                    )
                if ack is None or not self._window_wait(ack):
                    progress = self._broken(progress, None)
                continue
            errors += 1
            go_on, halt = self._send_error(result.reply.final or "no answer", errors)
            if halt is not None:
                return halt
            if not go_on:
                progress = self._broken(progress, None)
                errors = 0
        return None

    def qisack(self) -> Ack | None:
        """AT+QISACK on the current link; None if the module no longer counts its bytes."""
        stream = self.state.stream("send")
        link = self.state.link()
        ack = self.state.modem.qisack()
        on_link = stream.handed - link.start
        if ack.sent < on_link:
            return None  # "+QISACK: 0, 0, 0" after a disconnect (PROTOCOL.md §7)
        if ack.sent > on_link:
            raise ModuleDeviation(
                "AT+QISACK", f"{ack.sent} sent", f"{on_link} bytes were handed over", "SEND-ACK"
            )
        if stream.proto == "TCP":
            stream.acknowledge(link.start + ack.acked)
        return ack

    def _window_wait(self, ack: Ack) -> bool:
        """SEND-WINDOW: poll QISACK every 5 s, up to 20 times; False = the link is broken."""
        s = self.state
        s.decide(
            "SEND-WINDOW",
            f"nAcked {ack.nacked} ≥ {limits.SEND_WINDOW_BYTES}: poll QISACK",
            Reaction.RETRY,
        )
        for n in range(1, limits.SEND_WINDOW_POLLS + 1):
            s.clock.sleep(limits.QISACK_POLL.seconds)
            now = self.qisack()
            if now is None:
                return False
            if now.nacked < limits.SEND_WINDOW_BYTES:
                s.decide("SEND-WINDOW", f"nAcked {now.nacked} after {n} polls: go on")
                return True
        s.decide(
            "SEND-WINDOW",
            f"nAcked still ≥ {limits.SEND_WINDOW_BYTES} after {limits.SEND_WINDOW_POLLS} polls: "
            "the connection is broken",
            Reaction.CLOSE,
        )
        return False

    def explained(self) -> tuple[bool, Restart]:
        """The link stopped working: was it +PDP DEACT (PDP-LOST) or CLOSED? Handles those;
        (whether it was explained, a restart the handling called for)."""
        s = self.state
        if s.urc_since(UrcKind.PDP_DEACT, s.context_ns):
            return True, self.pdp.lost()
        link = s.sender.link if s.sender is not None else None
        if link is not None and s.urc_since(UrcKind.CLOSED, link.opened_ns):
            s.link_gone("peer closed", "CLOSED: the peer closed the session")
            return True, None
        return False, None

    def _send_error(self, final: str, errors: int) -> tuple[bool, Restart]:
        """Why did AT+QISEND fail? (False: treat the link as broken, a restart to do)."""
        explained, halt = self.explained()
        if explained:
            return True, halt
        s = self.state
        state = s.modem.qistat()
        if state is IpState.PDP_DEACT:
            return True, self.pdp.lost()
        if state is IpState.CONNECT_OK and errors < SEND_ERRORS:
            return True, None  # try the same chunk again
        s.decide("SEND-WINDOW", f"AT+QISEND {final} in {state}", Reaction.CLOSE)
        return False, None

    def _broken(self, progress: Progress, why: str | None, clause: str = "SEND-WINDOW") -> Progress:
        """Close the link and reopen on the next pass; give up when nothing moves any more."""
        s = self.state
        stream = s.stream("send")
        if why is not None:
            s.decide(clause, why, Reaction.CLOSE)
        if stream.link is not None:
            stream.end_link("broken")
            if s.connected:
                s.modem.qiclose()
        s.drop_link()
        acked, stuck = progress
        stuck = stuck + 1 if stream.acked == acked else 1
        if stuck > RESEND_ROUNDS:
            raise ProcessError(
                clause,
                f"{stuck - 1} new links in a row got nothing acknowledged ({stream.unacked} bytes "
                "waiting): check the peer and the network",
            )
        s.decide(clause, f"reopen and resend {stream.handed - stream.acked} unacknowledged")
        return stream.acked, stuck

    # -- SEND-ACK -------------------------------------------------------------------------------
    def flush(self) -> Restart:
        """SEND-ACK: everything acknowledged within limits.ACK, else reopen and resend."""
        s = self.state
        stream = s.stream("flush")
        progress = (stream.acked, 0)
        while True:
            if stream.unsent:
                halt = self.pump()
                if halt is not None:
                    return halt
            if not s.connected or stream.link is None:
                if not stream.unacked and not stream.unsent:
                    return None
                halt = self.opener.ensure()
                if halt is not None:
                    return halt
                continue
            if stream.proto != "TCP":
                return None
            start = stamp()
            deadline = Deadline(s.clock, limits.ACK.seconds, start)
            while True:
                ack = self.qisack()
                if ack is None:
                    if stream.unacked or stream.unsent:
                        explained, halt = self.explained()
                        if halt is not None:
                            return halt
                        if not explained:
                            progress = self._broken(progress, "QISACK 0, 0, 0: link gone")
                        break  # reopen and resend on the next pass
                    stream.end_link("gone")
                    s.drop_link()
                    return None
                if ack.nacked == 0:
                    seconds = s.clock.since(start)
                    s.modem.note(limits.ACK.check(seconds, "AT+QISACK until nAcked 0"))
                    s.decide("SEND-ACK", f"all {stream.acked} bytes acknowledged")
                    return None
                if deadline.expired:
                    limit = limits.ACK.seconds
                    s.decide(
                        "SEND-ACK",
                        f"no ACK within {limit:g} s: close, reopen, resend",
                        Reaction.CLOSE,
                    )
                    progress = self._broken(progress, None, "SEND-ACK")
                    break
                s.clock.sleep(min(ACK_POLL, deadline.remaining() or ACK_POLL))

    # -- KEEP ----------------------------------------------------------------------------------
    def keep_check(self) -> Restart:
        """KEEP-CHECK: QISACK every 5 s, 24 times, before a heartbeat; unacknowledged: reopen."""
        s = self.state
        stream = s.stream("heartbeat")
        if stream.proto != "TCP":
            return None
        halt = self.opener.ensure()
        if halt is not None:
            return halt
        for n in range(1, limits.KEEP_CHECK_POLLS + 1):
            ack = self.qisack()
            if ack is None:
                explained, halt = self.explained()
                if halt is not None:
                    return halt
                if not explained:
                    s.link_gone("gone", "KEEP-CHECK: QISACK 0, 0, 0", "KEEP-CHECK")
                return self.pump()
            if ack.nacked == 0:
                s.decide("KEEP-CHECK", f"last data acknowledged (poll {n})")
                return None
            if n < limits.KEEP_CHECK_POLLS:
                s.clock.sleep(limits.QISACK_POLL.seconds)
        decision = s.decide(
            "KEEP-CHECK",
            f"unacknowledged after {limits.KEEP_CHECK_POLLS} polls: QICLOSE, QIOPEN, resend",
            Reaction.CLOSE,
        )
        stream.end_link("broken (KEEP-CHECK)")
        self.pdp.react(decision)
        return self.pump()
