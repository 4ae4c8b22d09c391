"""INIT: from power-on to a configured module (chapter 2): PWR-ON if off, INIT-SYNC, the line
in step, INIT-CPIN, INIT-CREG, INIT-CGREG, INIT-CGATT, then context 0, the APN and the options.

A step the module fails reboots (the document's reaction); a refused setting ends the process
(ProcessError): nothing in the document recovers from that.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from harness import limits
from harness.at import ATError
from harness.clock import Deadline, stamp
from harness.modem import SyncError, at_until_ok, in_step, sync
from harness.power import Power, PowerError
from harness.process.machine import Event, ProcessError, ProcessRigError, Reaction, Restart
from harness.process.state import State

#: Module seconds between AT+CPIN? polls during bring-up.
CPIN_POLL = 0.5


class BringUp:
    """Brings the module from OFF (or SYNCED) to READY."""

    def __init__(
        self,
        state: State,
        power: Power | None,
        *,
        rate: int,
        apn: str | None,
        user: str,
        password: str,
    ) -> None:
        self.state = state
        self.power = power
        self.rate = rate
        self.apn, self.user, self.password = apn, user, password

    def run(self) -> Restart:
        """Power on if off, sync, SIM, registration, attach, context 0, APN, options."""
        s = self.state
        if s.sender is not None:
            s.sender.end_link("module restarted")
        power = self.power
        if power is not None and power.is_on() is False:
            s.decide("PWR-ON", "the module is off: PWRKEY on")
            s.powered_ns = stamp()
            try:
                power.power_on()
            except PowerError as e:
                raise ProcessRigError("PWR-ON", str(e), power_error=e) from None
        since = s.powered_ns if s.powered_ns is not None else stamp()
        s.powered_ns = None
        halt = self._sync()
        if halt is not None:
            return halt
        in_step(s.channel)
        s.enter(Event.SYNCED)
        steps: list[Callable[[], Restart]] = [lambda: self._sim_ready(since), self._registered]
        if s.options.cgatt:
            steps.append(self._attached)
        for step in steps:
            halt = step()
            if halt is not None:
                return halt
        self._configure()
        s.enter(Event.CONFIGURED)
        return None

    # -- INIT-SYNC -------------------------------------------------------------------------------
    def _sync(self) -> Restart:
        s = self.state
        if self.power is not None:
            try:
                result = sync(s.channel, self.rate, s.clock, record=s.modem.note)
            except SyncError as e:
                return s.decide(
                    "PWR-EMERG",
                    f"no answer to AT: {e}",
                    Reaction.EMERGENCY,
                    cause="the module does not answer AT",
                )
            s.decide("INIT-SYNC", f"in step after {result.tries} AT; rate {result.rate} fixed")
            return None
        answered, n = at_until_ok(s.channel, s.clock, limits.SYNC_TRIES)  # no rate to fix
        if answered:
            s.decide("INIT-SYNC", f"in step after {n} AT")
            return None
        return s.decide(
            "PWR-EMERG",
            f"no answer to {limits.SYNC_TRIES} AT commands",
            Reaction.EMERGENCY,
            cause="the module does not answer AT",
        )

    # -- SIM, network, attach ----------------------------------------------------------------------
    def _sim_ready(self, since: int) -> Restart:
        s = self.state
        deadline = Deadline(s.clock, limits.CPIN_READY.seconds, since)
        answer = "no answer"
        while True:
            try:
                status = s.modem.cpin()
                ready, answer = status.ready, str(status)
            except ATError as e:
                ready, answer = False, e.reply.final or "ERROR"  # +CME ERROR: 14, SIM busy
            if ready:
                seconds = s.clock.since(since)
                s.modem.note(limits.CPIN_READY.check(seconds, "AT+CPIN? until READY"))
                s.decide("INIT-CPIN", f"SIM ready {seconds:.1f} s after power-on")
                return None
            if deadline.expired:
                limit = limits.CPIN_READY.seconds
                return s.decide(
                    "INIT-CPIN",
                    f"no SIM within {limit:g} s ({answer}): reboot",
                    Reaction.REBOOT,
                    cause=f"the SIM is not ready ({answer})",
                )
            s.clock.sleep(min(CPIN_POLL, deadline.remaining() or CPIN_POLL))

    def _registered(self) -> Restart:
        s = self.state
        reg, seconds = s.modem.wait_registered("CREG")
        if not reg.registered:
            limit = limits.CREG_REGISTERED.seconds
            return s.decide(
                "INIT-CREG",
                f"not registered in {limit:g} s (stat {reg.stat}): reboot",
                Reaction.REBOOT,
                cause=f"no GSM registration (stat {reg.stat})",
            )
        s.decide("INIT-CREG", f"registered (stat {reg.stat}) after {seconds:.1f} s")
        reg, seconds = s.modem.wait_registered("CGREG")
        if reg.registered:
            s.decide("INIT-CGREG", f"GPRS registered after {seconds:.1f} s")
        else:
            limit = limits.CGREG_REGISTERED.seconds
            s.decide("INIT-CGREG", f"not registered in {limit:g} s (stat {reg.stat}): go on")
        return None

    def _attached(self) -> Restart:
        s = self.state
        state, seconds = s.modem.wait_attached()
        if state != 1:
            limit = limits.CGATT.seconds
            return s.decide(
                "INIT-CGATT",
                f"not attached within {limit:g} s: reboot",
                Reaction.REBOOT,
                cause="no GPRS attach",
            )
        s.decide("INIT-CGATT", f"attached after {seconds:.1f} s")
        return None

    # -- configuration -----------------------------------------------------------------------------
    def _configure(self) -> None:
        s = self.state
        m = s.modem
        o = s.options
        steps: list[tuple[str, str, Callable[[], object]]] = [
            ("INIT-FGCNT", "AT+QIFGCNT=0", lambda: m.qifgcnt(0))
        ]
        apn = self.apn
        if apn is not None:
            steps.append(("INIT-APN", "AT+QICSGP", lambda: m.qicsgp(apn, self.user, self.password)))
        for clause, name, flag, setter in (
            ("OPT-DNSIP", "AT+QIDNSIP=1", o.dnsip, m.qidnsip),
            ("OPT-INDI", "AT+QINDI=1", o.indi, m.qindi),
            ("OPT-HEAD", "AT+QIHEAD=1", o.head, m.qihead),
            ("OPT-SHOWRA", "AT+QISHOWRA=1", o.showra, m.qishowra),
            ("OPT-SHOWPT", "AT+QISHOWPT=1", o.showpt, m.qishowpt),
        ):
            if flag:
                steps.append((clause, name, partial(setter, 1)))
        for clause, name, run in steps:
            try:
                run()
            except ATError as e:
                s.decide(clause, f"the module refused {name} ({e.reply.final})", Reaction.STOP)
                raise ProcessError(
                    clause,
                    f"the module refused {name} ({e.reply.final}); nothing in the "
                    "document recovers from that: check the command against the module's manual",
                ) from None
        s.decide("INIT-APN", f"configured: context 0, APN {self.apn!r}")
