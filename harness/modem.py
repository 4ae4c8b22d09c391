"""Typed AT commands in the document's words: `qistat() -> IpState`, `qisack() -> Ack`, ….

Each method sends one command through an `ATChannel` and turns its reply into a typed value.
A refusal (`ERROR`, `+CME ERROR`) raises `ATError` unless the document gives it a reaction, in
which case it is an outcome (QIOPEN, QISEND, QIACT, QIDEACT, QICLOSE, QIREGAPP); an answer
that contradicts the document raises `ModuleDeviation`; no answer in the limit, `ATTimeout`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from harness import limits
from harness.at import ATChannel, ATError, ATTimeout, QirdBlock, Reply
from harness.clauses import clause as _clause
from harness.clock import Clock, Deadline, stamp
from harness.errors import DeviationFault, UsageFault
from harness.limits import Limit, LimitExceeded, Timing
from harness.power import Identity, identify

__all__ = [
    "ACK_POLL",
    "REGISTRATION_POLL",
    "Ack",
    "IpState",
    "Modem",
    "ModuleDeviation",
    "OpenResult",
    "QirdResult",
    "Registration",
    "SendResult",
    "ip_state",
]

#: Module seconds between two `AT+CREG?` / `AT+CGREG?` polls while waiting for registration.
REGISTRATION_POLL = 1.0
#: Module seconds between two `AT+QISACK` polls in `wait_acked()` (a measurement, finer than
#: the 5 s of SEND-WINDOW so the SEND-ACK time is not rounded up to 5 s).
ACK_POLL = 1.0


class IpState(StrEnum):
    """AT+QISTAT's `STATE:` words (PROTOCOL.md §1)."""

    IP_INITIAL = "IP INITIAL"
    IP_START = "IP START"
    IP_CONFIG = "IP CONFIG"
    IP_IND = "IP IND"
    IP_GPRSACT = "IP GPRSACT"
    IP_STATUS = "IP STATUS"
    TCP_CONNECTING = "TCP CONNECTING"
    UDP_CONNECTING = "UDP CONNECTING"
    IP_CLOSE = "IP CLOSE"
    CONNECT_OK = "CONNECT OK"
    PDP_DEACT = "PDP DEACT"


_STATES = {s.value: s for s in IpState}


def ip_state(text: str) -> IpState | None:
    """`"STATE: IP STATUS"` or `"IP STATUS"` → IpState.IP_STATUS; None if it is no state."""
    word = text.strip()
    if word.upper().startswith("STATE:"):
        word = word[len("STATE:") :].strip()
    return _STATES.get(" ".join(word.split()).upper())


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ack:
    """`+QISACK: <sent>, <acked>, <nAcked>`: handed over, acknowledged, not yet (SEND-ACK)."""

    sent: int
    acked: int
    nacked: int


@dataclass(frozen=True)
class Registration:
    """`+CREG: <n>,<stat>[,<lac>,<ci>]` (or +CGREG); registered = stat 1 (home) or 5 (roaming)."""

    n: int
    stat: int
    lac: str | None = None
    ci: str | None = None

    @property
    def registered(self) -> bool:
        return self.stat in limits.REGISTERED_STATS


@dataclass(frozen=True)
class OpenResult:
    """Both stages of AT+QIOPEN: the immediate `OK`, then CONNECT OK / CONNECT FAIL / CONNECT.

    `outcome` is the final without a link index ("CONNECT OK", "CONNECT FAIL", "ALREADY
    CONNECT", "CONNECT", "ERROR"), or None when nothing final came within the timeout.
    """

    reply: Reply
    outcome: str | None
    first_ok: bool
    elapsed: float  # module seconds from the command to its last stage (or to giving up)
    timed_out: bool = False

    @property
    def connected(self) -> bool:
        return self.outcome in ("CONNECT OK", "CONNECT")

    @property
    def accepted(self) -> bool:
        """The module took the command (its `OK` stage); docs/architecture.md's name."""
        return self.first_ok

    @property
    def result(self) -> str | None:
        """docs/architecture.md's name for `outcome`."""
        return self.outcome


@dataclass(frozen=True)
class SendResult:
    """AT+QISEND: `SEND OK` (in the module's send window), `SEND FAIL`, `ERROR` …"""

    reply: Reply
    outcome: str
    sent: int  # payload bytes handed over (0 unless SEND OK)

    @property
    def ok(self) -> bool:
        return self.outcome == "SEND OK"


@dataclass(frozen=True)
class QirdResult:
    """AT+QIRD: the payload of every `+QIRD:` block; `closed` = ERROR (link closed, empty)."""

    data: bytes
    blocks: list[QirdBlock] = field(default_factory=list)
    reply: Reply | None = None

    @property
    def closed(self) -> bool:
        return self.reply is not None and not self.reply.ok


class CommandArgumentError(UsageFault, ValueError):
    """A command cannot carry this value (a quote in an APN …): fix the caller or the rig."""


class ModuleDeviation(DeviationFault, AssertionError):
    """The module's answer contradicts the document: what was asked, what came back, what the
    document says (clause) and the last bytes on the line."""

    def __init__(
        self, command: str, got: object, expected: str, clause: str, transcript_tail: str = ""
    ) -> None:
        self.command = command
        self.got = got
        self.expected = expected
        self.clause = _clause(clause).id
        self.transcript_tail = transcript_tail
        tail = f"\nlast bytes:\n{transcript_tail}" if transcript_tail else ""
        super().__init__(f"{command}: the module answered {got!r}; {clause}: {expected}{tail}")


# -- parsing helpers ------------------------------------------------------------------------
_INTS = re.compile(r"-?\d+")
_REG = re.compile(
    r'^\+C?G?REG:\s*(\d+)\s*,\s*(\d+)(?:\s*,\s*"?([0-9A-Fa-f]*)"?\s*,\s*"?([0-9A-Fa-f]*)"?)?'
)
_SACK = re.compile(r"^\+QISACK:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")
_INDEX = re.compile(r"^\d+\s*,\s*")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _outcome(final: str | None) -> str | None:
    """A QIOPEN/QISEND final without its `<n>, ` index; every error form is "ERROR"."""
    if final is None:
        return None
    text = _INDEX.sub("", final.strip())
    if text.startswith("+CME ERROR") or text.startswith("+CMS ERROR"):
        return "ERROR"
    return text


class Modem:
    """One method per AT command of the document, over a started `ATChannel`.

    `record` receives the *derived* timings no single reply shows (CONNECT OK latency,
    seconds until registered, seconds until acknowledged); every reply's own timing is the
    channel observers' business.
    """

    def __init__(
        self,
        channel: ATChannel,
        clock: Clock | None = None,
        record: Callable[[Timing], None] | None = None,
    ) -> None:
        self.channel = channel
        self.clock = clock or channel.clock
        self._record = record
        self.context = 0  # AT+QIFGCNT: the foreground context AT+QIRD names

    def __repr__(self) -> str:
        return f"Modem({self.channel!r})"

    # -- helpers ------------------------------------------------------------------------------
    def _ask(self, cmd: str, timeout: float | None = None) -> Reply:
        """Send `cmd`; a refusal raises ATError (with the reply and its error code)."""
        reply = self.channel.command(cmd, timeout)
        if not reply.ok:
            raise ATError(reply)
        return reply

    def _deviation(self, reply: Reply, got: object, expected: str, clause: str) -> ModuleDeviation:
        return ModuleDeviation(reply.command, got, expected, clause, self.channel.transcript.tail())

    def _line(self, reply: Reply, prefix: str, clause: str) -> str:
        """The body of the information line starting with `prefix` (`+CREG:` …)."""
        for line in reply.lines:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise self._deviation(
            reply, reply.lines or reply.final, f"the answer has a {prefix} line", clause
        )

    def note(self, timing: Timing) -> Timing:
        """Hand a derived timing to this modem's `record` callback (process.py uses it too)."""
        if self._record is not None:
            self._record(timing)
        return timing

    # -- basic --------------------------------------------------------------------------------
    def at(self) -> Reply:
        """`AT` → OK."""
        return self._ask("AT")

    def ate(self, on: bool) -> Reply:
        """`ATE1` / `ATE0`: echo on or off."""
        return self._ask("ATE1" if on else "ATE0")

    def cmee(self, n: int) -> Reply:
        """`AT+CMEE=<n>`: 0 plain ERROR, 1 numeric `+CME ERROR: <n>`, 2 verbose."""
        return self._ask(f"AT+CMEE={int(n)}")

    def ipr(self, rate: int, store: bool = True) -> Reply:
        """`AT+IPR=<rate>&W` (INIT-IPR); the host port follows the module to the new rate."""
        reply = self._ask(f"AT+IPR={int(rate)}{'&W' if store else ''}")
        transport = self.channel.transport
        if rate and transport.baudrate != rate:
            transport.baudrate = int(rate)  # the OK came at the old rate; the next byte is new
        return reply

    def identify(self) -> Identity:
        """Model, revision, firmware, IMEI, ICCID (ATI, AT+CGMM, AT+GMR, AT+QGMR, …)."""
        return identify(self.channel)

    def cpin(self) -> str:
        """`AT+CPIN?` → "READY", "SIM PIN", …; `+CME ERROR: 14` (SIM busy) raises ATError."""
        reply = self._ask("AT+CPIN?")
        return self._line(reply, "+CPIN:", "INIT-CPIN")

    def qinistat(self) -> int:
        """`AT+QINISTAT` → the SIM initialisation counter (3 = ready on M95/MC60)."""
        reply = self._ask("AT+QINISTAT")
        return self._int(reply, self._line(reply, "+QINISTAT:", "INIT-CPIN"), "INIT-CPIN")

    def _int(self, reply: Reply, text: str, clause: str) -> int:
        if not text.isdigit():
            raise self._deviation(reply, text, "a number", clause)
        return int(text)

    def creg(self) -> Registration:
        """`AT+CREG?` → Registration (INIT-CREG)."""
        return self._registration("+CREG", "INIT-CREG")

    def cgreg(self) -> Registration:
        """`AT+CGREG?` → Registration (INIT-CGREG)."""
        return self._registration("+CGREG", "INIT-CGREG")

    def _registration(self, name: str, clause: str) -> Registration:
        reply = self._ask(f"AT{name}?")
        for line in reply.lines:
            if line.startswith(f"{name}:"):
                m = _REG.match(line)
                if m is None:
                    break
                n, stat, lac, ci = m.groups()
                return Registration(int(n), int(stat), lac or None, ci or None)
        raise self._deviation(
            reply, reply.lines or reply.final, f"{name}: <n>,<stat>[,<lac>,<ci>] then OK", clause
        )

    def cgatt(self) -> int:
        """`AT+CGATT?` → 1 attached, 0 detached (INIT-CGATT, Chinese edition)."""
        reply = self._ask("AT+CGATT?")
        return self._int(reply, self._line(reply, "+CGATT:", "INIT-CGATT"), "INIT-CGATT")

    def csq(self) -> tuple[int, int]:
        """`AT+CSQ` → (rssi, ber)."""
        reply = self._ask("AT+CSQ")
        text = self._line(reply, "+CSQ:", "ORDER")
        numbers = _INTS.findall(text)
        if len(numbers) != 2:
            raise self._deviation(reply, text, "+CSQ: <rssi>,<ber>", "ORDER")
        return int(numbers[0]), int(numbers[1])

    # -- context setup ------------------------------------------------------------------------
    def qifgcnt(self, ctx: int = 0) -> Reply:
        """`AT+QIFGCNT=<ctx>`: the foreground context the following commands act on."""
        reply = self._ask(f"AT+QIFGCNT={int(ctx)}")
        self.context = int(ctx)
        return reply

    def qicsgp(self, apn: str, user: str = "", password: str = "") -> Reply:
        """`AT+QICSGP=1,"<apn>"[,"<user>","<password>"]`: GPRS bearer and APN (INIT-APN)."""
        for what, value in (("APN", apn), ("user", user), ("password", password)):
            if '"' in value or not value.isascii() or "\r" in value:
                raise CommandArgumentError(
                    f"the {what} cannot be sent in AT+QICSGP: it must be ASCII "
                    "without quotes or line breaks; fix [network] in the rig file"
                )
        extra = f',"{user}","{password}"' if user or password else ""
        return self._ask(f'AT+QICSGP=1,"{apn}"{extra}')

    def configure(self, apn: str, user: str = "", password: str = "") -> None:
        """INIT-FGCNT and INIT-APN: context 0 in the foreground, GPRS with `apn`."""
        self.qifgcnt(0)
        self.qicsgp(apn, user, password)

    def activate(self) -> str:
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
            reply = step()
            if not reply.ok:
                raise self._deviation(reply, reply.final, "OK", "PDP-ACT")
        return self.qilocip()

    def qiregapp(self) -> Reply:
        """`AT+QIREGAPP`: IP INITIAL → IP START (PDP-ACT); ERROR is returned, not raised."""
        return self.channel.command("AT+QIREGAPP")

    def qiact(self) -> Reply:
        """`AT+QIACT` (PDP-ACT, 180 s); ERROR is returned: PDP-ACT-RETRY counts it."""
        return self.channel.command("AT+QIACT")

    def qilocip(self) -> str:
        """`AT+QILOCIP` → the local address, which is the final (no OK, PROTOCOL.md §4)."""
        reply = self._ask("AT+QILOCIP")
        address = (reply.final or "").strip()
        if not _IPV4.match(address):
            raise self._deviation(reply, reply.final, "the bare local IP address", "PDP-ACT")
        return address

    def qideact(self) -> Reply:
        """`AT+QIDEACT` → `DEACT OK` (PDP-DEACT, 90 s); ERROR is returned."""
        return self.channel.command("AT+QIDEACT")

    def qistat(self) -> IpState:
        """`AT+QISTAT` (QIMUX=0): `OK`, then `STATE: <state>` (PROTOCOL.md §10)."""
        if self.channel.mux:
            raise ValueError(
                "qistat() reads the single-connection form; with AT+QIMUX=1 the module lists "
                "links instead (set AT+QIMUX=0 first)"
            )
        reply = self._ask("AT+QISTAT")
        state = ip_state(reply.final or "")
        if state is None:
            raise self._deviation(
                reply, reply.final, "OK, then STATE: <one of PROTOCOL.md §1>", "OPEN-ERR-STATE"
            )
        return state

    # -- options ------------------------------------------------------------------------------
    def qimux(self, on: bool | None = None) -> bool:
        """`AT+QIMUX?` (on=None) → the setting; `AT+QIMUX=<0|1>` → the setting made."""
        if on is not None:
            self._ask(f"AT+QIMUX={int(bool(on))}")
            return bool(on)
        reply = self._ask("AT+QIMUX?")
        return self._int(reply, self._line(reply, "+QIMUX:", "OPEN-ERR-MUX"), "OPEN-ERR-MUX") == 1

    def qimode(self, n: int) -> Reply:
        """`AT+QIMODE=<n>`: 1 transparent, 0 not (OPT-MODE)."""
        return self._ask(f"AT+QIMODE={int(n)}")

    def qidnsip(self, n: int) -> Reply:
        """`AT+QIDNSIP=<n>`: 1 = QIOPEN takes a domain name (OPT-DNSIP)."""
        return self._ask(f"AT+QIDNSIP={int(n)}")

    def qindi(self, n: int) -> Reply:
        """`AT+QINDI=<n>`: 1 = announce data with +QIRDI, fetch with AT+QIRD (OPT-INDI)."""
        return self._ask(f"AT+QINDI={int(n)}")

    def qihead(self, n: int) -> Reply:
        """`AT+QIHEAD=<n>`: 1 = `IPD<len>:` before received data (OPT-HEAD)."""
        return self._ask(f"AT+QIHEAD={int(n)}")

    def qishowra(self, n: int) -> Reply:
        """`AT+QISHOWRA=<n>`: 1 = a `RECV FROM:<ip>:<port>` line first (OPT-SHOWRA)."""
        return self._ask(f"AT+QISHOWRA={int(n)}")

    def qishowpt(self, n: int) -> Reply:
        """`AT+QISHOWPT=<n>`: 1 = the protocol in the header, `IPD36TCP:` (OPT-SHOWPT)."""
        return self._ask(f"AT+QISHOWPT={int(n)}")

    def qitcfg(
        self,
        count: int = limits.TCFG[0],
        wait: int = limits.TCFG[1],
        size: int = limits.TCFG[2],
        escape: int = limits.TCFG[3],
    ) -> Reply:
        """`AT+QITCFG=<NmRetry>,<WaitTm>,<SendSz>,<esc>` for transparent mode (OPT-TCFG)."""
        return self._ask(f"AT+QITCFG={int(count)},{int(wait)},{int(size)},{int(escape)}")

    # -- sessions -----------------------------------------------------------------------------
    def qiopen(
        self, proto: str, host: str, port: int | str, timeout: float | None = None
    ) -> OpenResult:
        """`AT+QIOPEN="<proto>","<host>","<port>"`, waiting for both stages (OPEN-TCP/UDP).

        CONNECT FAIL, ALREADY CONNECT and ERROR are outcomes, never raised; no final within
        `timeout` (default the QIOPEN limit) gives `timed_out=True` (OPEN-RETRY).
        """
        proto = str(proto).upper()
        seconds = limits.QIOPEN.seconds if timeout is None else float(timeout)
        cmd = f'AT+QIOPEN="{proto}","{host}","{port}"'
        try:
            reply = self.channel.command(cmd, seconds)
        except ATTimeout as e:
            partial = e.reply
            if partial is None:
                raise
            first_ok = any(s.text == "OK" for s in partial.stages)
            return OpenResult(partial, None, first_ok, partial.elapsed, timed_out=True)
        outcome = _outcome(reply.final)
        first_ok = any(s.text == "OK" for s in reply.stages[:-1])
        elapsed = reply.stages[-1].elapsed if reply.stages else reply.elapsed
        result = OpenResult(reply, outcome, first_ok, elapsed)
        if result.connected:
            ok_at = next((s.elapsed for s in reply.stages if s.text == "OK"), None)
            when = f"OK after {ok_at:.3f} s" if ok_at is not None else "no OK stage"
            limit = _relabel(limits.QIOPEN, "OPEN-UDP" if proto == "UDP" else "OPEN-TCP")
            self.note(limit.check(elapsed, f"AT+QIOPEN {proto} → {outcome}", note=when))
        return result

    def qisend(self, data: bytes, fixed: bool = False) -> SendResult:
        """`AT+QISEND` + Ctrl+Z (SEND-VAR), or `AT+QISEND=<n>` with `fixed` (SEND-FIXED)."""
        reply = self.channel.send_data(bytes(data), fixed=fixed)
        outcome = _outcome(reply.final) or ""
        return SendResult(reply, outcome, len(data) if outcome == "SEND OK" else 0)

    def qisack(self) -> Ack:
        """`AT+QISACK` → Ack(sent, acked, nacked) (SEND-ACK)."""
        reply = self._ask("AT+QISACK")
        text = next((ln for ln in reply.lines if ln.startswith("+QISACK:")), None)
        m = _SACK.match(text) if text is not None else None
        if m is None:
            raise self._deviation(
                reply, text or reply.lines, "+QISACK: <sent>, <acked>, <nAcked> then OK", "SEND-ACK"
            )
        ack = Ack(*(int(g) for g in m.groups()))
        if ack.acked > ack.sent or ack.nacked > ack.sent:
            raise self._deviation(
                reply, text, "acknowledged and unacknowledged are parts of the total", "SEND-ACK"
            )
        return ack

    def qird(self, max_len: int = limits.QIRD_MAX) -> QirdResult:
        """`AT+QIRD=<ctx>,1,0,<max_len>` → the buffered data (RECV-QIRD); ERROR = closed."""
        reply = self.channel.command(f"AT+QIRD={self.context},1,0,{int(max_len)}")
        if not reply.ok and reply.final != "ERROR":
            raise ATError(reply)
        short = [b for b in reply.blocks if not b.complete]
        if short:
            got = f"{len(short[0].payload)} of {short[0].length} announced bytes"
            raise self._deviation(reply, got, "+QIRD: <len> then exactly <len> bytes", "RECV-QIRD")
        if len(reply.data) > max_len:
            raise self._deviation(
                reply, f"{len(reply.data)} bytes", f"at most {max_len} bytes per call", "RECV-QIRD"
            )
        return QirdResult(reply.data, list(reply.blocks), reply)

    def qiclose(self) -> Reply:
        """`AT+QICLOSE` → `CLOSE OK` (CLOSE, 90 s); ERROR is returned."""
        return self.channel.command("AT+QICLOSE")

    def qpowd(self) -> Reply:
        """`AT+QPOWD=1` → `NORMAL POWER DOWN`; no command is accepted after it."""
        return self._ask("AT+QPOWD=1")

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
            assert refused is not None
            raise refused
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
            assert refused is not None
            raise refused
        self.note(limits.CGATT.check(seconds, "AT+CGATT? until 1", note=f"+CGATT: {state}"))
        return state, seconds

    def wait_acked(
        self, limit: float | None = None, since_ns: int | None = None
    ) -> tuple[Ack, float]:
        """Poll `AT+QISACK` every ACK_POLL until nAcked is 0 or past `limit` (SEND-ACK, 90 s).

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

    @staticmethod
    def _past(deadline: Deadline) -> bool:
        """Strictly past the limit, so a wait that gives up is judged FAIL, not marginal."""
        return deadline.seconds is not None and deadline.elapsed() > deadline.seconds


def _relabel(limit: Limit, clause: str) -> Limit:
    """The same documented number cited by another clause (QIOPEN's 90 s for OPEN-UDP)."""
    if limit.clause == clause:
        return limit
    return Limit(limit.name, limit.seconds, clause, limit.typical, limit.action, limit.source)
