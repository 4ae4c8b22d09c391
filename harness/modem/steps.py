"""`Modem`: every command of the document, and the steps that take several of them (wait until
registered, attached or acknowledged; configure the context; activate it).

Each wait records its derived timing (seconds until registered …) through `record`.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from harness import limits
from harness.at import ATError
from harness.clock import Deadline, stamp
from harness.errors import HarnessBug
from harness.limits import LimitExceeded
from harness.modem.general import GeneralCommands
from harness.modem.results import Ack, Registration
from harness.modem.tcpip import TcpipCommands

#: Module seconds between two `AT+CREG?` / `AT+CGREG?` polls while waiting for registration.
REGISTRATION_POLL = 1.0
#: Module seconds between two `AT+QISACK` polls in `wait_acked()` (a measurement, finer than
#: the 5 s of SEND-WINDOW so the SEND-ACK time is not rounded up to 5 s).
ACK_POLL = 1.0


class Modem(TcpipCommands, GeneralCommands):
    """One method per AT command of the document, over a started `ATChannel`.

    `record` receives the *derived* timings no single reply shows (CONNECT OK latency,
    seconds until registered, seconds until acknowledged); every reply's own timing is the
    channel observers' business.
    """

    def configure(self, apn: str, user: str = "", password: str = "") -> None:
        """INIT-FGCNT and INIT-APN: context 0 in the foreground, GPRS with `apn`."""
        self.qifgcnt(0)
        self.qicsgp(apn, user, password)

    def activate(self) -> IPv4Address:
        """PDP-ACT as the document issues it: attached first (INIT-CGATT, Chinese edition),
        then AT+QIREGAPP, AT+QIACT and AT+QILOCIP together; the local IP.

        A refusal of any step is a ModuleDeviation (callers that count failures on purpose,
        PDP-ACT-RETRY, send the commands themselves).
        """
        state, _ = self.wait_attached()
        if state != 1:
            raise LimitExceeded(
                f"INIT-CGATT: +CGATT: {state} for {limits.CGATT.seconds:g} s; the document "
                "reboots (AT+QIACT fails without the attach)"
            )
        for step in (self.qiregapp, self.qiact):
            result = step()
            if not result.ok:
                raise self._deviation(result.reply, result.final, "OK", "PDP-ACT")
        return self.qilocip()

    # -- waits --------------------------------------------------------------------------------
    def wait_registered(
        self, kind: str = "CREG", limit: float | None = None, since_ns: int | None = None
    ) -> tuple[Registration, float]:
        """Poll `AT+CREG?` (or CGREG) every REGISTRATION_POLL until stat 1/5 or past `limit`.

        Returns the last Registration and the module seconds since `since_ns` (default: now,
        pass the power-on stamp to measure INIT-CREG from power-on); records the Timing.
        """
        kind = kind.upper()
        if kind not in ("CREG", "CGREG"):
            raise ValueError(f'wait_registered(kind={kind!r}): use "CREG" or "CGREG"')
        doc = limits.CREG_REGISTERED if kind == "CREG" else limits.CGREG_REGISTERED
        ask = self.creg if kind == "CREG" else self.cgreg
        start = stamp() if since_ns is None else since_ns
        deadline = Deadline(self.clock, doc.seconds if limit is None else float(limit), start)
        last: Registration | None = None
        refused: ATError | None = None
        while True:
            try:
                last = ask()
            except ATError as e:  # boot noise (+CME ERROR: 14): ask again
                refused = e
            seconds = self.clock.since(start)
            if (last is not None and last.registered) or self._past(deadline):
                break
            self.clock.sleep(min(REGISTRATION_POLL, deadline.remaining() or 0.0))
        if last is None:
            raise _refused(refused)
        note = "registered" if last.registered else f"not registered (stat {last.stat})"
        self.note(doc.check(seconds, f"AT+{kind}? until registered", note=note))
        return last, seconds

    def wait_attached(
        self, limit: float | None = None, since_ns: int | None = None
    ) -> tuple[int, float]:
        """Poll `AT+CGATT?` every REGISTRATION_POLL until `+CGATT: 1` or past `limit` (INIT-CGATT,
        180 s): the Chinese edition checks the attach before AT+QIACT, which fails without it.

        Returns the last state and the module seconds since `since_ns` (default: now); records
        the Timing.
        """
        start = stamp() if since_ns is None else since_ns
        deadline = Deadline(self.clock, limits.CGATT.seconds if limit is None else limit, start)
        state: int | None = None
        refused: ATError | None = None
        while True:
            try:
                state = self.cgatt()
            except ATError as e:  # boot noise (+CME ERROR: 14): ask again
                refused = e
            seconds = self.clock.since(start)
            if state == 1 or self._past(deadline):
                break
            self.clock.sleep(min(REGISTRATION_POLL, deadline.remaining() or 0.0))
        if state is None:
            raise _refused(refused)
        self.note(limits.CGATT.check(seconds, "AT+CGATT? until 1", note=f"+CGATT: {state}"))
        return state, seconds

    def wait_acked(
        self, limit: float | None = None, since_ns: int | None = None
    ) -> tuple[Ack, float]:
        """Poll `AT+QISACK` every ACK_POLL until nAcked is 0 or past `limit` (SEND-ACK,
        `limits.ACK` by default).

        Returns the last Ack and the module seconds since `since_ns` (default: now, e.g. pass
        the SEND OK stamp); records the Timing.
        """
        start = stamp() if since_ns is None else since_ns
        deadline = Deadline(self.clock, limits.ACK.seconds if limit is None else limit, start)
        while True:
            ack = self.qisack()
            seconds = self.clock.since(start)
            if ack.nacked == 0 or self._past(deadline):
                break
            self.clock.sleep(min(ACK_POLL, deadline.remaining() or 0.0))
        note = f"{ack.acked} of {ack.sent} acknowledged"
        self.note(limits.ACK.check(seconds, "AT+QISACK until nAcked 0", note=note))
        return ack, seconds


def _refused(refused: ATError | None) -> ATError:
    """The refusal that left a wait with no answer at all (every poll was refused)."""
    if refused is None:
        raise HarnessBug("a wait ended with neither an answer nor a refusal")
    return refused
