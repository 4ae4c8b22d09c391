"""The "GSM TCPIP Recommended Process" as a client: how a host should drive the module.

Bring-up, PDP activation, open with every documented reaction, windowed sending that loses
nothing, heartbeat, close, and reboots with back-off. Each decision is logged to
"modemcert.process" and kept in `Process.decisions` with its clause, so tests see the path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from harness import limits
from harness.at import WALL_FLOOR, ATError, ATTimeout, UrcKind
from harness.clock import Clock, Deadline, stamp
from harness.errors import DeviationFault, RigFault
from harness.modem import ACK_POLL, Ack, IpState, Modem, ModuleDeviation, OpenResult
from harness.power import BackOff, Power, PowerError, SyncError, sync

log = logging.getLogger("modemcert.process")
T = TypeVar("T")

# Harness choices where the document gives no number (so they are not in limits.py):
#: OPEN-RETRY: "still no context after repeating AT+QIDEACT/AT+QIOPEN several times" → EMERG_OFF.
OPEN_ROUNDS = 3
#: Broken links in a row with nothing more acknowledged before the stream is given up.
RESEND_ROUNDS = 3
#: `ERROR` answers to AT+QISEND in a row on a link still in CONNECT OK before it counts as broken.
SEND_ERRORS = 3
#: Module seconds between AT+CPIN? polls during bring-up.
CPIN_POLL = 0.5
#: Harmless commands with distinct echoes for checking that answers are in step after sync.
LINE_CHECKS = ("AT+CGMI", "AT+CGMM", "AT+GMI", "AT+GMM", "AT+CGSN", "AT+GSN")
#: The document's heartbeat example packet (chapter 6).
HEARTBEAT_DATA = b"Heart01"


@dataclass(frozen=True)
class Decision:
    """One branch taken: the clause that prescribes it, what was done, when (module s)."""

    clause: str
    what: str
    at: float


@dataclass(frozen=True)
class Options:
    """Chapter 2's "other options" applied at bring-up (module defaults when False)."""

    dnsip: bool = False  # OPT-DNSIP: QIOPEN takes a domain name
    indi: bool = False  # OPT-INDI: +QIRDI then AT+QIRD instead of pushed data
    head: bool = False  # OPT-HEAD: IPD<len>: before pushed data (needed to frame it)
    showra: bool = False  # OPT-SHOWRA
    showpt: bool = False  # OPT-SHOWPT
    cgatt: bool = True  # INIT-CGATT (Chinese edition): wait for +CGATT: 1


class ProcessError(DeviationFault, RuntimeError):
    """The document's recovery ran out: the module never got back to the happy path; `clause`
    is where, the message says what to check."""

    def __init__(self, clause: str, message: str) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause


class ProcessRigError(RigFault):
    """The rig cannot do what the document asks (no lines to reboot with, a failed power
    sequence): no verdict on the module."""

    def __init__(self, clause: str, message: str) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause


class _Reboot(Exception):
    """The document says: restart the module (EMERG_OFF when `emergency`)."""

    def __init__(self, clause: str, why: str, emergency: bool = False) -> None:
        super().__init__(why)
        self.clause = clause
        self.why = why
        self.emergency = emergency


# -- the stream and its links ---------------------------------------------------------------
@dataclass
class Link:
    """One connection of a stream: the stream bytes it delivered and how it ended."""

    proto: str
    host: str
    port: int
    opened_ns: int
    start: int  # stream offset of its first byte
    end: int | None = None  # offset after its last byte known acknowledged, once it ended
    ended: str = ""  # "" while up; "closed", "peer closed", "broken (SEND-WINDOW)", ...
    ended_ns: int | None = None
    received: bytearray = field(default_factory=bytearray)

    def carried(self, t_ns: int) -> bool:
        """Was this link up at `t_ns` (for attributing received data)?"""
        return self.opened_ns <= t_ns and (self.ended_ns is None or t_ns <= self.ended_ns)


class Sender:
    """Everything `send()` was given between `open()` and `close()`, and where it stands.

    What is guaranteed: every byte is handed over until the module reports it acknowledged
    (TCP), across any number of reconnects and reboots; a new link starts with the whole
    unacknowledged tail (SEND-WINDOW: "resend everything unacknowledged before new data"), so
    the peer sees the stream in order. A byte is sent twice only if it was handed over and
    never reported acknowledged before its link broke: the module cannot say whether the peer
    got it (after CLOSED or +PDP DEACT QISACK answers 0, 0, 0). UDP has no acknowledgement:
    SEND OK is all there is.
    """

    def __init__(self, proto: str) -> None:
        self.proto = proto
        self._tail = bytearray()  # the stream from offset `acked` on
        self.total = 0  # bytes given to send()
        self.handed = 0  # offset handed over on the current link (SEND OK)
        self.acked = 0  # offset known acknowledged
        self.links: list[Link] = []

    @property
    def link(self) -> Link | None:
        return self.links[-1] if self.links and not self.links[-1].ended else None

    @property
    def unacked(self) -> int:
        return self.handed - self.acked

    @property
    def unsent(self) -> int:
        return self.total - self.handed

    def add(self, data: bytes) -> None:
        self._tail += data
        self.total += len(data)

    def chunk(self, size: int) -> bytes:
        at = self.handed - self.acked
        return bytes(self._tail[at : at + size])

    def handed_over(self, n: int) -> None:
        self.handed += n
        if self.proto == "UDP":
            self.acknowledge(self.handed)

    def acknowledge(self, offset: int) -> None:
        offset = min(offset, self.handed)
        if offset > self.acked:
            del self._tail[: offset - self.acked]
            self.acked = offset

    def start_link(self, proto: str, host: str, port: int) -> Link:
        self.handed = self.acked  # the unacknowledged tail goes out again first
        link = Link(proto, host, int(port), stamp(), self.acked)
        self.links.append(link)
        return link

    def end_link(self, how: str) -> Link | None:
        link = self.link
        if link is not None:
            link.end, link.ended, link.ended_ns = self.acked, how, stamp()
        return link


@dataclass(frozen=True)
class SessionResult:
    """What `Process.session()` did: the stream with its links, and the decisions taken."""

    sender: Sender
    decisions: list[Decision]


# -- the process ------------------------------------------------------------------------------
class Process:
    """The recommended process over a `Modem`; `power` makes the reboot branches possible.

    Give the PWR-BACKOFF history either here (`backoff`) or to `power`, not both.
    `max_reboots` reboots in a row without a finished step end in ProcessError.
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
        observer: Callable[[Decision], None] | None = None,
    ) -> None:
        if backoff is not None and power is not None and power.backoff is not None:
            raise ValueError(
                "give the BackOff to Process or to Power, not both: each would count the reboot"
            )
        self.modem = modem
        self.channel = modem.channel
        self.clock = clock or modem.clock
        self.power = power
        self.backoff = backoff if backoff is not None else getattr(power, "backoff", None)
        self.apn, self.user, self.password = apn, user, password
        self.rate = rate
        self.options = options or Options()
        self.max_reboots = max_reboots
        self.observer = observer
        self.decisions: list[Decision] = []
        self.sender: Sender | None = None  # the open stream
        self.last: Sender | None = None  # the last closed stream
        self.ready = False  # bring-up done since the last power-on
        self.context_up = False
        self.connected = False
        self.reboots = 0
        self._reboots_in_row = 0
        self._context_ns = 0
        self._qiact_failures = 0
        self._qideact_failures = 0
        self._target: tuple[str, str, int] | None = None
        self._opened: OpenResult | None = None
        self._powered_ns: int | None = None

    def __repr__(self) -> str:
        return f"Process({self.modem!r}, decisions={len(self.decisions)})"

    # -- decisions ------------------------------------------------------------------------------
    def _decide(self, clause: str, what: str) -> None:
        decision = Decision(clause, what, self.clock.now())
        self.decisions.append(decision)
        log.info("%s: %s", clause, what)
        if self.observer is not None:
            self.observer(decision)

    def path(self, since: int = 0) -> list[str]:
        """The clauses of the decisions from index `since` on, in order."""
        return [d.clause for d in self.decisions[since:]]

    # -- public steps (each recovers as the document says) -----------------------------------------
    def bring_up(self) -> None:
        """Power on if off, sync, SIM, registration, attach, context 0, APN, options (INIT-*)."""
        self._guarded(lambda: None)

    def activate(self) -> None:
        """QIREGAPP, QIACT, QILOCIP with PDP-ACT-RETRY (3 QIACT failures: reboot)."""
        self._guarded(self._ensure_context)

    def open(self, proto: str, host: str, port: int) -> OpenResult:
        """Start a stream and open it with every OPEN-* reaction; returns the final QIOPEN."""
        if self.sender is not None:
            self._finish_stream()
        self._target = (proto.upper(), host, int(port))
        self.sender = Sender(proto.upper())
        return self._guarded(self._ensure_connected)

    def send(self, data: bytes) -> None:
        """Queue `data` on the stream and send it inside the SEND-WINDOW rule."""
        sender = self._need_stream("send")
        sender.add(bytes(data))
        self._guarded(self._pump)

    def flush(self) -> None:
        """SEND-ACK: wait until everything is acknowledged (limits.ACK), else reopen and resend."""
        self._need_stream("flush")
        self._guarded(self._flush)

    def heartbeat(self, data: bytes = HEARTBEAT_DATA) -> None:
        """KEEP-CHECK (QISACK every 5 s, 24 times), then a heartbeat packet (KEEP-HEARTBEAT)."""
        sender = self._need_stream("heartbeat")
        self._guarded(self._keep_check)
        self._decide("KEEP-HEARTBEAT", f"heartbeat of {len(data)} bytes")
        sender.add(bytes(data))
        self._guarded(self._pump)

    def receive(self, timeout: float, want: int | None = None) -> bytes:
        """Data from the peer for up to `timeout` module seconds (or until `want` bytes);
        pushed (needs OPT-HEAD) or fetched with AT+QIRD (OPT-INDI)."""
        return self._guarded(lambda: self._receive(timeout, want))

    def close(self) -> None:
        """Flush, then AT+QICLOSE (CLOSE, 90 s); the stream ends."""
        self._guarded(self._close)

    def deactivate(self) -> None:
        """AT+QIDEACT (PDP-DEACT: 3 failures or 90 s without an answer: reboot)."""
        self._guarded(self._deactivate)

    def recover(self, reason: str) -> None:
        """Reboot now (respecting PWR-BACKOFF) and bring the module up again."""
        self._restart(_Reboot("PWR-BACKOFF", reason))
        self._guarded(lambda: None)

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
        assert self.last is not None
        return SessionResult(self.last, self.decisions[first:])

    # -- recovery ---------------------------------------------------------------------------------
    def _guarded(self, step: Callable[[], T]) -> T:
        while True:
            try:
                if not self.ready:
                    self._bring_up()
                result = step()
            except _Reboot as r:
                self._restart(r)
                continue
            except ATTimeout as e:
                self._restart(self._no_answer(e))
                continue
            self._reboots_in_row = 0
            return result

    def _no_answer(self, e: ATTimeout) -> _Reboot:
        cmd = e.reply.command if e.reply is not None else "a command"
        clause = e.limit.clause if e.limit is not None else "AT-TIMEOUT"
        seconds = e.limit.seconds if e.limit is not None else limits.DEFAULT_COMMAND.seconds
        self._decide(clause, f"no answer to {cmd} within {seconds:g} s: restart (EMERG_OFF)")
        return _Reboot(clause, f"no answer to {cmd}", emergency=True)

    def _restart(self, r: _Reboot) -> None:
        """Reboot (PWR-EMERG for a silent module) after the PWR-BACKOFF wait."""
        if self.sender is not None:
            self.sender.end_link(f"reboot ({r.clause})")
        self.ready = self.context_up = self.connected = False
        power = self.power
        if power is None:
            raise ProcessRigError(
                r.clause,
                f"{r.why}; the document says restart the module, but no Power is wired: "
                "restart it by hand or give the rig PWRKEY/EMERG_OFF lines",
            )
        self._reboots_in_row += 1
        if self._reboots_in_row > self.max_reboots:
            raise ProcessError(
                r.clause,
                f"{r.why}; {self.max_reboots} reboots in a row did not help (PWR-BACKOFF): "
                "check the SIM, the antenna, the supply and the APN",
            )
        self._wait_backoff(r.why)
        emergency = r.emergency and power.lines.emerg_off is not None
        try:
            if emergency or power.lines.pwrkey is None:
                self._decide("PWR-EMERG", f"EMERG_OFF ({r.why})")
                power.emergency_off()
            else:
                self._decide("PWR-OFF", f"PWRKEY off ({r.why})")
                try:
                    power.power_off()
                except PowerError as e:
                    self._decide("PWR-EMERG", f"PWRKEY off failed ({e}): EMERG_OFF")
                    power.emergency_off()
            self._powered_ns = stamp()
            power.power_on()
        except PowerError as e:
            raise ProcessRigError(r.clause, f"{r.why}; the reboot itself failed: {e}") from None
        self.reboots += 1
        self._decide("PWR-ON", f"powered on again (reboot {self.reboots})")

    def _wait_backoff(self, reason: str) -> None:
        backoff = self.backoff
        if backoff is None:
            return
        d = backoff.decision()
        if d.allowed or backoff.ignore:
            self._decide("PWR-BACKOFF", f"reboot {d.attempt + 1} of this streak: at once")
        else:
            self._decide("PWR-BACKOFF", f"reboot {d.attempt + 1}: wait {d.wait:.0f} s first")
            backoff.wait()
        backoff.record(reason)

    # -- INIT ----------------------------------------------------------------------------------
    def _bring_up(self) -> None:
        self.context_up = self.connected = False
        if self.sender is not None:
            self.sender.end_link("module restarted")
        power = self.power
        if power is not None and power.is_on() is False:
            self._decide("PWR-ON", "the module is off: PWRKEY on")
            self._powered_ns = stamp()
            try:
                power.power_on()
            except PowerError as e:
                raise ProcessRigError("PWR-ON", str(e)) from None
        since = self._powered_ns if self._powered_ns is not None else stamp()
        self._powered_ns = None
        self._sync()
        self._sim_ready(since)
        self._registered()
        if self.options.cgatt:
            self._attached()
        self._configure()
        self.ready = True

    def _sync(self) -> None:
        self._sync_at()
        self._in_step()

    def _in_step(self) -> None:
        """Make sure each answer belongs to its command: an `AT` of the sync loop that timed out
        can still be answered late, shifting every answer after it by one. A command whose
        own echo comes first (echo is on after a boot) proves the earlier answers are in."""
        settle = max(limits.SYNC_INTERVAL.seconds, self.clock.to_module(WALL_FLOOR))
        for cmd in LINE_CHECKS:
            reply = self.channel.command(cmd)
            if reply.echo == cmd or self.channel.echo is False:
                return
            log.info("line check: %s got the answer of an earlier command", cmd)
            self._late_answer(reply.final_ns or stamp(), settle)

    def _late_answer(self, after_ns: int, seconds: float) -> None:
        """Wait for one answer no command is waiting for (a stray final), newer than after_ns."""
        deadline = self.clock.deadline(seconds)
        while True:
            try:
                urc = self.channel.wait_urc(UrcKind.STRAY, deadline.remaining() or 0.0)
            except ATTimeout:
                return
            if urc.t_ns >= after_ns:
                return

    def _sync_at(self) -> None:
        if self.power is not None:
            try:
                result = sync(self.channel, self.rate, self.clock, record=self.modem.note)
            except SyncError as e:
                self._decide("PWR-EMERG", f"no answer to AT: {e}")
                raise _Reboot("PWR-EMERG", "the module does not answer AT", emergency=True)
            self._decide("INIT-SYNC", f"in step after {result.tries} AT; rate {result.rate} fixed")
            return
        for n in range(1, limits.SYNC_TRIES + 1):
            try:
                if self.channel.command("AT", limits.SYNC_INTERVAL.seconds).ok:
                    self._decide("INIT-SYNC", f"in step after {n} AT")
                    return
            except ATTimeout:
                continue
        self._decide("PWR-EMERG", f"no answer to {limits.SYNC_TRIES} AT commands")
        raise _Reboot("PWR-EMERG", "the module does not answer AT", emergency=True)

    def _sim_ready(self, since: int) -> None:
        deadline = Deadline(self.clock, limits.CPIN_READY.seconds, since)
        answer = "no answer"
        while True:
            try:
                answer = self.modem.cpin()
            except ATError as e:
                answer = e.reply.final or "ERROR"  # +CME ERROR: 14 while the SIM is busy
            if answer == "READY":
                seconds = self.clock.since(since)
                self.modem.note(limits.CPIN_READY.check(seconds, "AT+CPIN? until READY"))
                self._decide("INIT-CPIN", f"SIM ready {seconds:.1f} s after power-on")
                return
            if deadline.expired:
                limit = limits.CPIN_READY.seconds
                self._decide("INIT-CPIN", f"no SIM within {limit:g} s ({answer}): reboot")
                raise _Reboot("INIT-CPIN", f"the SIM is not ready ({answer})")
            self.clock.sleep(min(CPIN_POLL, deadline.remaining() or CPIN_POLL))

    def _registered(self) -> None:
        reg, seconds = self.modem.wait_registered("CREG")
        if not reg.registered:
            limit = limits.CREG_REGISTERED.seconds
            self._decide("INIT-CREG", f"not registered in {limit:g} s (stat {reg.stat}): reboot")
            raise _Reboot("INIT-CREG", f"no GSM registration (stat {reg.stat})")
        self._decide("INIT-CREG", f"registered (stat {reg.stat}) after {seconds:.1f} s")
        reg, seconds = self.modem.wait_registered("CGREG")
        if reg.registered:
            self._decide("INIT-CGREG", f"GPRS registered after {seconds:.1f} s")
        else:
            limit = limits.CGREG_REGISTERED.seconds
            self._decide("INIT-CGREG", f"not registered in {limit:g} s (stat {reg.stat}): go on")

    def _attached(self) -> None:
        state, seconds = self.modem.wait_attached()
        if state != 1:
            limit = limits.CGATT.seconds
            self._decide("INIT-CGATT", f"not attached within {limit:g} s: reboot")
            raise _Reboot("INIT-CGATT", "no GPRS attach")
        self._decide("INIT-CGATT", f"attached after {seconds:.1f} s")

    def _configure(self) -> None:
        o = self.options
        steps: list[tuple[str, str, Callable[[], object]]] = [
            ("INIT-FGCNT", "AT+QIFGCNT=0", lambda: self.modem.qifgcnt(0))
        ]
        if self.apn is not None:
            steps.append(
                (
                    "INIT-APN",
                    "AT+QICSGP",
                    lambda: self.modem.qicsgp(self.apn, self.user, self.password),
                )
            )
        for clause, name, flag, setter in (
            ("OPT-DNSIP", "AT+QIDNSIP=1", o.dnsip, self.modem.qidnsip),
            ("OPT-INDI", "AT+QINDI=1", o.indi, self.modem.qindi),
            ("OPT-HEAD", "AT+QIHEAD=1", o.head, self.modem.qihead),
            ("OPT-SHOWRA", "AT+QISHOWRA=1", o.showra, self.modem.qishowra),
            ("OPT-SHOWPT", "AT+QISHOWPT=1", o.showpt, self.modem.qishowpt),
        ):
            if flag:
                steps.append((clause, name, lambda setter=setter: setter(1)))
        for clause, name, run in steps:
            try:
                run()
            except ATError as e:
                raise ProcessError(
                    clause,
                    f"the module refused {name} ({e.reply.final}); nothing in the "
                    "document recovers from that: check the command against the module's manual",
                ) from None
        self._decide("INIT-APN", f"configured: context 0, APN {self.apn!r}")

    # -- PDP -----------------------------------------------------------------------------------
    def _ensure_context(self) -> None:
        if self.context_up and self._urc_since(UrcKind.PDP_DEACT, self._context_ns):
            self._lost_context()
        if not self.context_up:
            self._activate()

    def _lost_context(self) -> None:
        self._decide("PDP-LOST", "+PDP DEACT: deactivate and start over from PDP-ACT")
        if self.sender is not None:
            self.sender.end_link("context lost (PDP-LOST)")
        self.connected = False
        self._deactivate()

    def _activate(self) -> None:
        m = self.modem
        while True:
            self._urc_since(UrcKind.PDP_DEACT, stamp())  # forget drops of older contexts
            since = stamp()
            reg = m.qiregapp()
            if not reg.ok:
                state = m.qistat()
                if state is not IpState.IP_START:
                    self._activation_failed(f"AT+QIREGAPP answered {reg.final} in {state}")
                    continue
            act = m.qiact()  # no answer within limits.QIACT: ATTimeout → reboot (PDP-ACT)
            if not act.ok:
                self._activation_failed(f"AT+QIACT answered {act.final}")
                continue
            try:
                address = m.qilocip()
            except ATError as e:
                self._activation_failed(f"AT+QILOCIP answered {e.reply.final}")
                continue
            self._qiact_failures = 0
            self.context_up = True
            self._context_ns = since
            self._decide("PDP-ACT", f"context active, local IP {address}")
            return

    def _activation_failed(self, why: str) -> None:
        self._qiact_failures += 1
        n = self._qiact_failures
        if n >= limits.QIACT_FAILURES:
            self._qiact_failures = 0
            self._decide("PDP-ACT-RETRY", f"{why}: {n} failures in a row: reboot")
            raise _Reboot("PDP-ACT-RETRY", f"PDP activation failed {n} times")
        self._decide(
            "PDP-ACT-RETRY", f"{why} ({n} of {limits.QIACT_FAILURES}): deactivate and retry"
        )
        self._deactivate()

    def _deactivate(self) -> None:
        while True:
            reply = self.modem.qideact()  # no answer within limits.QIDEACT: ATTimeout → reboot
            if reply.ok:
                self._qideact_failures = 0
                self.context_up = self.connected = False
                if self.sender is not None:
                    self.sender.end_link("deactivated")
                self._decide("PDP-DEACT", f"DEACT OK in {reply.elapsed:.1f} s")
                return
            self._qideact_failures += 1
            n = self._qideact_failures
            if n >= limits.QIDEACT_FAILURES:
                self._qideact_failures = 0
                self._decide("PDP-DEACT", f"AT+QIDEACT failed {n} times: reboot")
                raise _Reboot("PDP-DEACT", f"AT+QIDEACT failed {n} times")
            self._decide("PDP-DEACT", f"AT+QIDEACT answered {reply.final} ({n}): again")

    # -- OPEN ----------------------------------------------------------------------------------
    def _need_stream(self, what: str) -> Sender:
        if self.sender is None:
            raise RuntimeError(f"Process.{what}() needs an open stream: call open() first")
        return self.sender

    def _ensure_connected(self) -> OpenResult:
        self._ensure_context()
        sender = self._need_stream("send")
        if self.connected and sender.link is not None:
            if not self._urc_since(UrcKind.CLOSED, sender.link.opened_ns):
                assert self._opened is not None
                return self._opened
            self._link_gone("peer closed", "CLOSED: the peer closed the session")
        return self._open_link()

    def _open_link(self) -> OpenResult:
        assert self._target is not None and self.sender is not None
        proto, host, port = self._target
        m = self.modem
        failures = rounds = 0
        while True:
            self._ensure_context()
            self._urc_since(UrcKind.CLOSED, stamp())  # CLOSED of earlier links is old news
            r = m.qiopen(proto, host, port)
            if r.connected:
                self.connected = True
                self._opened = r
                link = self.sender.start_link(proto, host, port)
                # Data may come before CONNECT OK is printed: the link starts with the command.
                link.opened_ns = r.reply.sent_ns or link.opened_ns
                clause = "OPEN-UDP" if proto == "UDP" else "OPEN-TCP"
                self._decide(clause, f"{r.outcome} in {r.elapsed:.1f} s")
                return r
            if r.timed_out:
                limit = limits.QIOPEN.seconds
                self._decide("OPEN-RETRY", f"no answer within {limit:g} s: QIDEACT, try again")
                rounds = self._open_round(rounds)
                failures = 0
                continue
            self._open_failed(r)
            failures += 1
            if failures >= limits.QIOPEN_FAILURES:
                self._decide("OPEN-RETRY", f"{failures} failures in a row: QIDEACT, try again")
                rounds = self._open_round(rounds)
                failures = 0

    def _open_round(self, rounds: int) -> int:
        rounds += 1
        if rounds >= OPEN_ROUNDS:
            self._decide("OPEN-RETRY", f"still failing after {rounds} rounds: EMERG_OFF")
            raise _Reboot("OPEN-RETRY", "AT+QIOPEN keeps failing", emergency=True)
        self._deactivate()
        return rounds

    def _open_failed(self, r: OpenResult) -> None:
        m = self.modem
        if self._urc_since(UrcKind.PDP_DEACT, self._context_ns):
            self._lost_context()  # the refusal's cause came first: +PDP DEACT (PDP-LOST)
            return
        if r.outcome == "ALREADY CONNECT":
            self._decide("OPEN-ALREADY", "ALREADY CONNECT: QICLOSE, then open again")
            m.qiclose()
            return
        if r.outcome == "ERROR":
            try:
                mux = m.qimux()
            except ATError:
                mux = False
            if mux:
                self._decide("OPEN-ERR-MUX", "ERROR with QIMUX 1: QIMUX=0 and retry")
                try:
                    m.qimux(False)
                except ATError:  # only in IP INITIAL (PROTOCOL.md §1 [U])
                    self._deactivate()
                    m.qimux(False)
                return
            state = m.qistat()
            if state.value in limits.OPEN_ALLOWED_STATES:
                self._decide("OPEN-ERR-FORMAT", f"ERROR in {state} with QIMUX 0: malformed")
                raise ProcessError(
                    "OPEN-ERR-FORMAT",
                    f"{r.reply.command} answered ERROR in {state}: the command is malformed "
                    "(check the protocol, the address and the port; QIDNSIP=1 for names)",
                )
            self._fail_reaction("OPEN-ERR-STATE", f"ERROR in {state}", state)
            return
        state = m.qistat()
        self._fail_reaction("OPEN-FAIL", f"{r.outcome or 'no result'} in {state}", state)

    def _fail_reaction(self, clause: str, what: str, state: IpState) -> None:
        """TCP CONNECTING: QICLOSE (the context stays up); any other state: QIDEACT."""
        if state in (IpState.TCP_CONNECTING, IpState.UDP_CONNECTING):
            self._decide(clause, f"{what}: QICLOSE, the context stays up")
            self.modem.qiclose()
        else:
            self._decide(clause, f"{what}: QIDEACT")
            self._deactivate()

    def _link_gone(self, how: str, what: str, clause: str = "SEND-WINDOW") -> None:
        self._decide(clause, f"{what}: reopen, resend what is unacknowledged")
        assert self.sender is not None
        self.sender.end_link(how)
        self.connected = False

    def _urc_since(self, kind: UrcKind, since_ns: int) -> bool:
        """Take every queued `kind` URC; True if one came at or after `since_ns`."""
        seen = False
        while True:
            try:
                urc = self.channel.wait_urc(kind, 0.0)
            except ATTimeout:
                return seen
            seen = seen or urc.t_ns >= since_ns

    # -- SEND ----------------------------------------------------------------------------------
    def _pump(self) -> None:
        s = self._need_stream("send")
        errors = 0
        progress = (s.acked, 0)  # (acked offset, broken links since it last moved)
        while s.unsent:
            self._ensure_connected()
            link = s.link
            assert link is not None
            if s.proto == "TCP" and s.handed > link.start:
                ack = self._qisack()
                if ack is None:
                    if not self._explained():
                        progress = self._broken(progress, "QISACK 0, 0, 0: the link is gone")
                    continue
                if ack.nacked >= limits.SEND_WINDOW_BYTES and not self._window_wait(ack):
                    progress = self._broken(progress, None)
                    continue
            chunk = s.chunk(limits.SEND_MAX)
            result = self.modem.qisend(chunk, fixed=True)
            if result.ok:
                s.handed_over(len(chunk))
                errors = 0
                continue
            if result.outcome == "SEND FAIL":
                self._decide("SEND-WINDOW", "SEND FAIL (send buffer full): wait for ACKs")
                ack = self._qisack()
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
            if not self._send_error(result.reply.final or "no answer", errors):
                progress = self._broken(progress, None)
                errors = 0

    def _qisack(self) -> Ack | None:
        """AT+QISACK on the current link; None if the module no longer counts its bytes."""
        s = self.sender
        assert s is not None and s.link is not None
        ack = self.modem.qisack()
        on_link = s.handed - s.link.start
        if ack.sent < on_link:
            return None  # "+QISACK: 0, 0, 0" after a disconnect (PROTOCOL.md §7)
        if ack.sent > on_link:
            raise ModuleDeviation(
                "AT+QISACK", f"{ack.sent} sent", f"{on_link} bytes were handed over", "SEND-ACK"
            )
        if s.proto == "TCP":
            s.acknowledge(s.link.start + ack.acked)
        return ack

    def _window_wait(self, ack: Ack) -> bool:
        """SEND-WINDOW: poll QISACK every 5 s, up to 20 times; False = the link is broken."""
        self._decide(
            "SEND-WINDOW", f"nAcked {ack.nacked} ≥ {limits.SEND_WINDOW_BYTES}: poll QISACK"
        )
        for n in range(1, limits.SEND_WINDOW_POLLS + 1):
            self.clock.sleep(limits.QISACK_POLL.seconds)
            now = self._qisack()
            if now is None:
                return False
            if now.nacked < limits.SEND_WINDOW_BYTES:
                self._decide("SEND-WINDOW", f"nAcked {now.nacked} after {n} polls: go on")
                return True
        self._decide(
            "SEND-WINDOW",
            f"nAcked still ≥ {limits.SEND_WINDOW_BYTES} after {limits.SEND_WINDOW_POLLS} polls: "
            "the connection is broken",
        )
        return False

    def _explained(self) -> bool:
        """The link stopped working: was it +PDP DEACT (PDP-LOST) or CLOSED? Handles those."""
        if self._urc_since(UrcKind.PDP_DEACT, self._context_ns):
            self._lost_context()
            return True
        link = self.sender.link if self.sender is not None else None
        if link is not None and self._urc_since(UrcKind.CLOSED, link.opened_ns):
            self._link_gone("peer closed", "CLOSED: the peer closed the session")
            return True
        return False

    def _send_error(self, final: str, errors: int) -> bool:
        """Why did AT+QISEND fail? False: treat the link as broken."""
        if self._explained():
            return True
        state = self.modem.qistat()
        if state is IpState.PDP_DEACT:
            self._lost_context()
            return True
        if state is IpState.CONNECT_OK and errors < SEND_ERRORS:
            return True  # try the same chunk again
        self._decide("SEND-WINDOW", f"AT+QISEND {final} in {state}")
        return False

    def _broken(
        self, progress: tuple[int, int], why: str | None, clause: str = "SEND-WINDOW"
    ) -> tuple[int, int]:
        """Close the link and reopen on the next pass; give up when nothing moves any more."""
        s = self.sender
        assert s is not None
        if why is not None:
            self._decide(clause, why)
        if s.link is not None:
            s.end_link("broken")
            if self.connected:
                self.modem.qiclose()
        self.connected = False
        acked, stuck = progress
        stuck = stuck + 1 if s.acked == acked else 1
        if stuck > RESEND_ROUNDS:
            raise ProcessError(
                clause,
                f"{stuck - 1} new links in a row got nothing acknowledged ({s.unacked} bytes "
                "waiting): check the peer and the network",
            )
        self._decide(clause, f"reopen and resend {s.handed - s.acked} unacknowledged")
        return s.acked, stuck

    def _flush(self) -> None:
        s = self._need_stream("flush")
        progress = (s.acked, 0)
        while True:
            if s.unsent:
                self._pump()
            if not self.connected or s.link is None:
                if not s.unacked and not s.unsent:
                    return
                self._ensure_connected()
                continue
            if s.proto != "TCP":
                return
            start = stamp()
            deadline = Deadline(self.clock, limits.ACK.seconds, start)
            while True:
                ack = self._qisack()
                if ack is None:
                    if s.unacked or s.unsent:
                        if not self._explained():
                            progress = self._broken(progress, "QISACK 0, 0, 0: link gone")
                        break
                    s.end_link("gone")
                    self.connected = False
                    return
                if ack.nacked == 0:
                    seconds = self.clock.since(start)
                    self.modem.note(limits.ACK.check(seconds, "AT+QISACK until nAcked 0"))
                    self._decide("SEND-ACK", f"all {s.acked} bytes acknowledged")
                    return
                if deadline.expired:
                    limit = limits.ACK.seconds
                    self._decide("SEND-ACK", f"no ACK within {limit:g} s: close, reopen, resend")
                    progress = self._broken(progress, None, "SEND-ACK")
                    break
                self.clock.sleep(min(ACK_POLL, deadline.remaining() or ACK_POLL))

    # -- KEEP ----------------------------------------------------------------------------------
    def _keep_check(self) -> None:
        s = self._need_stream("heartbeat")
        if s.proto != "TCP":
            return
        self._ensure_connected()
        for n in range(1, limits.KEEP_CHECK_POLLS + 1):
            ack = self._qisack()
            if ack is None:
                if not self._explained():
                    self._link_gone("gone", "KEEP-CHECK: QISACK 0, 0, 0", "KEEP-CHECK")
                self._pump()
                return
            if ack.nacked == 0:
                self._decide("KEEP-CHECK", f"last data acknowledged (poll {n})")
                return
            if n < limits.KEEP_CHECK_POLLS:
                self.clock.sleep(limits.QISACK_POLL.seconds)
        self._decide(
            "KEEP-CHECK",
            f"unacknowledged after {limits.KEEP_CHECK_POLLS} polls: QICLOSE, QIOPEN, resend",
        )
        s.end_link("broken (KEEP-CHECK)")
        self.modem.qiclose()
        self.connected = False
        self._pump()

    # -- RECV ----------------------------------------------------------------------------------
    def _receive(self, timeout: float, want: int | None) -> bytes:
        got = bytearray()
        deadline = self.clock.deadline(timeout)
        while want is None or len(got) < want:
            left = deadline.remaining() or 0.0
            if self.options.indi:
                data = self._fetch()
                if data:
                    got += data
                    continue
                if left <= 0:
                    break
                try:
                    self.channel.wait_urc(UrcKind.QIRDI, left)
                except ATTimeout:
                    break
            else:
                try:
                    block = self.channel.wait_received(left)
                except ATTimeout:
                    break
                got += block.payload
                self._attribute(block.payload, block.t_ns)
        return bytes(got)

    def _fetch(self) -> bytes:
        """AT+QIRD until the module's buffer is empty (RECV-QIRD)."""
        got = bytearray()
        while self.connected:
            result = self.modem.qird()
            if not result.data:
                break
            got += result.data
            self._attribute(result.data, stamp())
        return bytes(got)

    def _attribute(self, data: bytes, t_ns: int) -> None:
        if self.sender is None:
            return
        for link in reversed(self.sender.links):
            if link.carried(t_ns):
                link.received += data
                return

    def received(self) -> Iterator[tuple[Link, bytes]]:
        """Each link of the open (else the last) stream with what came from the peer on it."""
        s = self.sender or self.last
        for link in s.links if s is not None else ():
            yield link, bytes(link.received)

    # -- CLOSE ---------------------------------------------------------------------------------
    def _close(self) -> None:
        s = self.sender
        if s is None:
            return
        if s.unsent or s.unacked:
            self._flush()
        if self.options.indi and self.connected:
            self._fetch()
        if self.connected:
            reply = self.modem.qiclose()  # no answer within limits.QICLOSE: ATTimeout → reboot
            if reply.ok:
                s.end_link("closed")
                self._decide("CLOSE", "CLOSE OK")
            elif self._urc_since(UrcKind.PDP_DEACT, self._context_ns):
                self._lost_context()
            else:
                s.end_link("peer closed")
                self._decide("CLOSE", f"{reply.final}: the session had already ended")
            self.connected = False
        else:
            self._decide("CLOSE", "no session left to close")
        self._finish_stream()

    def _finish_stream(self) -> None:
        if self.sender is not None:
            self.sender.end_link("closed")
            self.last, self.sender = self.sender, None
