"""The document's "reboot the module": within PWR-BACKOFF, PWRKEY off (or EMERG_OFF for a module
that stopped answering, PWR-EMERG), then on again; the bring-up follows in the driver.

A rig without the lines to do it is a ProcessRigError (no verdict on the module); reboots in a
row that never get a step done end in ProcessError.
"""

from __future__ import annotations

from harness import limits
from harness.at import ATTimeout
from harness.clock import stamp
from harness.power import BackOff, Power, PowerError
from harness.process.machine import Decision, Event, ProcessError, ProcessRigError, Reaction
from harness.process.state import State


class Recovery:
    """Restarts the module as a decision asks, counting reboots and keeping the back-off."""

    def __init__(
        self, state: State, power: Power | None, backoff: BackOff | None, max_reboots: int
    ) -> None:
        self.state = state
        self.power = power
        self.backoff = backoff
        self.max_reboots = max_reboots
        self.reboots = 0
        self.in_row = 0  # reboots since a step last got done

    def no_answer(self, e: ATTimeout) -> Decision:
        """AT-TIMEOUT (or the command's own limit): the module is silent, restart it with
        EMERG_OFF (PWR-EMERG)."""
        cmd = e.reply.command if e.reply is not None else "a command"
        clause = e.limit.clause if e.limit is not None else "AT-TIMEOUT"
        seconds = e.limit.seconds if e.limit is not None else limits.DEFAULT_COMMAND.seconds
        return self.state.decide(
            clause,
            f"no answer to {cmd} within {seconds:g} s: restart (EMERG_OFF)",
            Reaction.EMERGENCY,
            cause=f"no answer to {cmd}",
        )

    def step_done(self) -> None:
        self.in_row = 0

    def restart(self, decision: Decision) -> None:
        """Reboot as `decision` asks (EMERG_OFF for an emergency) after the PWR-BACKOFF wait."""
        s = self.state
        why = decision.cause or decision.what
        if s.sender is not None:
            s.sender.end_link(f"reboot ({decision.clause})")
        s.enter(Event.RESTARTED)
        power = self.power
        if power is None:
            raise ProcessRigError(
                decision.clause,
                f"{why}; the document says restart the module, but no Power is wired: "
                "restart it by hand or give the rig PWRKEY/EMERG_OFF lines",
            )
        self.in_row += 1
        if self.in_row > self.max_reboots:
            raise ProcessError(
                decision.clause,
                f"{why}; {self.max_reboots} reboots in a row did not help (PWR-BACKOFF): "
                "check the SIM, the antenna, the supply and the APN",
            )
        self._wait_backoff(why)
        emergency = decision.reaction is Reaction.EMERGENCY and power.lines.emerg_off is not None
        try:
            if emergency or power.lines.pwrkey is None:
                s.decide("PWR-EMERG", f"EMERG_OFF ({why})", Reaction.EMERGENCY)
                power.emergency_off()
            else:
                s.decide("PWR-OFF", f"PWRKEY off ({why})", Reaction.REBOOT)
                try:
                    power.power_off()
                except PowerError as e:
                    s.decide("PWR-EMERG", f"PWRKEY off failed ({e}): EMERG_OFF", Reaction.EMERGENCY)
                    power.emergency_off()
            s.powered_ns = stamp()
            power.power_on()
        except PowerError as e:
            raise ProcessRigError(
                decision.clause, f"{why}; the reboot itself failed: {e}", power_error=e
            ) from None
        self.reboots += 1
        s.decide("PWR-ON", f"powered on again (reboot {self.reboots})")

    def _wait_backoff(self, reason: str) -> None:
        backoff = self.backoff
        if backoff is None:
            return
        d = backoff.decision()
        if d.allowed or backoff.ignore:
            self.state.decide("PWR-BACKOFF", f"reboot {d.attempt + 1} of this streak: at once")
        else:
            self.state.decide("PWR-BACKOFF", f"reboot {d.attempt + 1}: wait {d.wait:.0f} s first")
            backoff.wait()
        backoff.record(reason)
