"""`Process`: the recommended process's public steps, each run by one driver loop.

A step returns None when it reached its goal, or the decision whose reaction restarts the
module; a command with no answer within its limit is such a decision too (AT-TIMEOUT → EMERG_OFF).
The driver restarts the module (Recovery), brings it up again (BringUp) and runs the step again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from harness import limits
from harness.at import ATChannel, ATTimeout, UrcKind
from harness.clock import Clock
from harness.errors import HarnessBug
from harness.modem import Modem, OpenResult
from harness.power import BackOff, Power
from harness.process.bringup import BringUp
from harness.process.machine import Decision, Phase, Reaction, Restart
from harness.process.opening import Opener
from harness.process.pdp import Pdp
from harness.process.receiver import Receiver
from harness.process.recovery import Recovery
from harness.process.sender import Pump
from harness.process.state import Observer, Options, State
from harness.process.stream import Link, Sender, SessionResult

#: The document's heartbeat example packet (chapter 6).
HEARTBEAT_DATA = b"Heart01"


class Process:
    """The recommended process over a `Modem`; `power` makes the reboot branches possible.

    Give the PWR-BACKOFF history either here (`backoff`) or to `power`, not both.
    `max_reboots` reboots in a row without a finished step end in ProcessError. Every decision
    goes to `observer` and to each of `add_observer()` (timings.json, Allure steps).
    """

    def __init__(
        self,
        modem: Modem,
        clock: Clock | None = None,
        power: Power | None = None,
        backoff: BackOff | None = None,
        *,
        apn: str | None = limits.DEFAULT_APN,
        user: str = "",
        password: str = "",
        rate: int = limits.IPR_DEFAULT_RATE,
        options: Options | None = None,
        max_reboots: int = len(limits.BACKOFF),
        observer: Observer | None = None,
    ) -> None:
        if backoff is not None and power is not None and power.backoff is not None:
            raise ValueError(
                "give the BackOff to Process or to Power, not both: each would count the reboot"
            )
        backoff = backoff if backoff is not None else getattr(power, "backoff", None)
        self.state = State(modem, clock or modem.clock, options or Options(), observer)
        self.pdp = Pdp(self.state)
        self.opener = Opener(self.state, self.pdp)
        self.pump = Pump(self.state, self.opener, self.pdp)
        self.receiver = Receiver(self.state)
        self.bringup = BringUp(self.state, power, rate=rate, apn=apn, user=user, password=password)
        self.recovery = Recovery(self.state, power, backoff, max_reboots)

    def __repr__(self) -> str:
        return f"Process({self.modem!r}, {self.phase}, decisions={len(self.decisions)})"

    # -- what it knows ---------------------------------------------------------------------------
    @property
    def modem(self) -> Modem:
        return self.state.modem

    @property
    def channel(self) -> ATChannel:
        return self.state.channel

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def power(self) -> Power | None:
        return self.recovery.power

    @property
    def backoff(self) -> BackOff | None:
        return self.recovery.backoff

    @property
    def options(self) -> Options:
        return self.state.options

    @property
    def phase(self) -> Phase:
        return self.state.phase

    @property
    def ready(self) -> bool:
        return self.state.ready

    @property
    def context_up(self) -> bool:
        return self.state.context_up

    @property
    def connected(self) -> bool:
        return self.state.connected

    @property
    def decisions(self) -> list[Decision]:
        return self.state.decisions

    @property
    def sender(self) -> Sender | None:
        """The open stream."""
        return self.state.sender

    @property
    def last(self) -> Sender | None:
        """The last closed stream."""
        return self.state.last

    @property
    def reboots(self) -> int:
        return self.recovery.reboots

    @property
    def observer(self) -> Observer | None:
        return self.state.observer

    @observer.setter
    def observer(self, observer: Observer | None) -> None:
        self.state.observer = observer

    def add_observer(self, observer: Observer) -> Callable[[], None]:
        """Also hand every decision to `observer`; returns the function that stops it."""
        self.state.observers.append(observer)
        return lambda: self.state.observers.remove(observer)

    def path(self, since: int = 0) -> list[str]:
        """The clauses of the decisions from index `since` on, in order."""
        return [d.clause for d in self.decisions[since:]]

    def received(self) -> Iterator[tuple[Link, bytes]]:
        """Each link of the open (else the last) stream with what came from the peer on it."""
        s = self.sender or self.last
        for link in s.links if s is not None else ():
            yield link, bytes(link.received)

    # -- public steps (each recovers as the document says) -----------------------------------------
    def bring_up(self) -> None:
        """Power on if off, sync, SIM, registration, attach, context 0, APN, options (INIT-*)."""
        self._run(lambda: None)

    def activate(self) -> None:
        """QIREGAPP, QIACT, QILOCIP with PDP-ACT-RETRY (3 QIACT failures: reboot)."""
        self._run(self.pdp.ensure)

    def open(self, proto: str, host: str, port: int) -> OpenResult:
        """Start a stream and open it with every OPEN-* reaction; returns the final QIOPEN."""
        if self.state.sender is not None:
            self.state.finish_stream()
        self.state.target = (proto.upper(), host, int(port))
        self.state.sender = Sender(proto.upper())
        self._run(self.opener.ensure)
        if self.state.opened is None:
            raise HarnessBug("the process opened a link but kept no AT+QIOPEN result")
        return self.state.opened

    def send(self, data: bytes) -> None:
        """Queue `data` on the stream and send it inside the SEND-WINDOW rule."""
        self.state.stream("send").add(bytes(data))
        self._run(self.pump.pump)

    def flush(self) -> None:
        """SEND-ACK: wait until everything is acknowledged (limits.ACK), else reopen and resend."""
        self.state.stream("flush")
        self._run(self.pump.flush)

    def heartbeat(self, data: bytes = HEARTBEAT_DATA) -> None:
        """KEEP-CHECK (QISACK every 5 s, 24 times), then a heartbeat packet (KEEP-HEARTBEAT)."""
        sender = self.state.stream("heartbeat")
        self._run(self.pump.keep_check)
        self.state.decide("KEEP-HEARTBEAT", f"heartbeat of {len(data)} bytes")
        sender.add(bytes(data))
        self._run(self.pump.pump)

    def receive(self, timeout: float, want: int | None = None) -> bytes:
        """Data from the peer for up to `timeout` module seconds (or until `want` bytes);
        pushed (needs OPT-HEAD) or fetched with AT+QIRD (OPT-INDI)."""
        got: list[bytes] = []

        def step() -> Restart:
            got.append(self.receiver.receive(timeout, want))
            return None

        self._run(step)
        return got[-1]

    def close(self) -> None:
        """Flush, then AT+QICLOSE (CLOSE, 90 s); the stream ends."""
        self._run(self._close)

    def deactivate(self) -> None:
        """AT+QIDEACT (PDP-DEACT: 3 failures or 90 s without an answer: reboot)."""
        self._run(self.pdp.deactivate)

    def recover(self, reason: str) -> None:
        """Reboot now (respecting PWR-BACKOFF) and bring the module up again."""
        asked = Decision("PWR-BACKOFF", reason, self.clock.now(), Reaction.REBOOT, cause=reason)
        self.recovery.restart(asked)
        self._run(lambda: None)

    def session(
        self, proto: str, host: str, port: int, data: bytes, *, deactivate: bool = False
    ) -> SessionResult:
        """open → send → close (→ deactivate), every step with its recovery."""
        first = len(self.decisions)
        self.open(proto, host, port)
        self.send(data)
        self.close()
        if deactivate:
            self.deactivate()
        if self.last is None:
            raise HarnessBug("a closed session left no stream behind")
        return SessionResult(self.last, self.decisions[first:])

    # -- the driver ------------------------------------------------------------------------------
    def _run(self, step: Callable[[], Restart]) -> None:
        """Bring the module up if it is not, run `step`; restart and run again as decided."""
        while True:
            try:
                halt = self.bringup.run() if not self.state.ready else None
                if halt is None:
                    halt = step()
            except ATTimeout as e:
                halt = self.recovery.no_answer(e)
            if halt is None:
                self.recovery.step_done()
                return
            if not halt.reaction.restarts:
                raise HarnessBug(f"a step handed back {halt.title!r}, which restarts nothing")
            self.recovery.restart(halt)

    def _close(self) -> Restart:
        s = self.state
        sender = s.sender
        if sender is None:
            return None
        if sender.unsent or sender.unacked:
            halt = self.pump.flush()
            if halt is not None:
                return halt
        if s.options.indi and s.connected:
            self.receiver.fetch()
        if s.connected:
            result = s.modem.qiclose()  # no answer within limits.QICLOSE: the driver restarts
            if result.ok:
                sender.end_link("closed")
                s.decide("CLOSE", str(result.code or result.final))
            elif s.urc_since(UrcKind.PDP_DEACT, s.context_ns):
                halt = self.pdp.lost()
                if halt is not None:
                    return halt
            else:
                sender.end_link("peer closed")
                s.decide("CLOSE", f"{result.final}: the session had already ended")
            s.drop_link()
        else:
            s.decide("CLOSE", "no session left to close")
        s.finish_stream()
        return None
