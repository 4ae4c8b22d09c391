"""Sans-IO AT codec for the Quectel QI command set: bytes in (any chunking), typed events out.

Like h11 it has no threads, no I/O and no clock: the channel says which command is in flight
(`Codec.begin(spec_for(cmd))`), feeds bytes with their arrival stamp, and signals timeouts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from harness.errors import HarnessBug
from harness.limits import command_name

#: Bounds that keep the codec from wedging on garbage (PROTOCOL.md §14 "line noise is real").
MAX_LINE = 4096  # a line longer than this is noise
MAX_FRAME = 65535  # a length-framed block announcing more than this is not a header
MAX_ECHO = 8192  # payload bytes remembered for matching their echo

#: ATV0 result codes (PROTOCOL.md §0); codes above 5 for QISTAT states are [U] (§1).
NUMERIC_RESULTS = {
    0: "OK",
    1: "CONNECT",
    2: "RING",
    3: "NO CARRIER",
    4: "ERROR",
    6: "NO DIALTONE",
    7: "BUSY",
    8: "NO ANSWER",
}
NUMERIC_STATES = ("IP INITIAL", "IP START", "IP CONFIG", "IP IND", "IP GPRSACT", "IP STATUS")

#: Strings the module prints in transparent mode that may also be peer data (TRANS-CLOSED).
DATA_MODE_ALERTS = (b"CLOSED", b"+PDP DEACT")


class ProtocolError(HarnessBug):
    """The codec was used out of order (e.g. a second command begun while one is in flight):
    the channel's bug, never the module's."""


# -- events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Echo:
    """The module echoing what the host typed: a command line (ATE1) or QISEND payload (§14)."""

    data: bytes
    t_ns: int
    payload: bool = False


@dataclass(frozen=True)
class Line:
    """An information line of the command in flight (`+CREG: 0,1`, `Quectel_M95`)."""

    text: str
    t_ns: int


@dataclass(frozen=True)
class Stage:
    """An intermediate result: QIOPEN's `OK` before `CONNECT OK`, QISTAT's `OK` before STATE."""

    text: str
    t_ns: int


@dataclass(frozen=True)
class Final:
    """The result that ends the command in flight; `ok` says whether it is a success."""

    text: str
    t_ns: int
    ok: bool
    code: int | None = None  # the number of `+CME ERROR: <n>` / `+CMS ERROR: <n>`


@dataclass(frozen=True)
class Prompt:
    """The `\\r\\n> ` send prompt of AT+QISEND (PROTOCOL.md §6): type the payload now."""

    t_ns: int


class UrcKind(StrEnum):
    RDY = "rdy"
    CFUN = "cfun"
    CPIN = "cpin"
    CALL_READY = "call_ready"
    SMS_READY = "sms_ready"
    CREG = "creg"
    CGREG = "cgreg"
    CLOSED = "closed"
    PDP_DEACT = "pdp_deact"
    QIRDI = "qirdi"
    RECEIVE = "receive"
    RECV_FROM = "recv_from"  # a RECV FROM line not followed by IPD data
    POWER_DOWN = "power_down"
    VOLTAGE = "voltage"
    ERROR = "error"  # +CME/+CMS ERROR with nothing in flight (boot noise, §3)
    LATE = "late"  # CONNECT OK / CONNECT FAIL / ALREADY CONNECT after the caller gave up
    STRAY = "stray"  # OK, ERROR, SEND OK ... that no command is waiting for
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Urc:
    """An unsolicited line; it never belongs to the reply it interrupts."""

    text: str
    t_ns: int
    kind: UrcKind = UrcKind.UNKNOWN


@dataclass(frozen=True)
class Received:
    """Pushed data framed by `IPD<len>[TCP|UDP]:` or `+RECEIVE: <id>, <len>` (§8)."""

    payload: bytes
    peer: str | None
    proto: str | None
    t_ns: int
    link: int | None = None
    complete: bool = True  # False: the frame gap expired before `length` bytes came


@dataclass(frozen=True)
class QirdBlock:
    """One `+QIRD: <ip>:<port>,<proto>,<len>` block of an AT+QIRD reply and its payload."""

    payload: bytes
    t_ns: int
    peer: str
    proto: str
    length: int
    complete: bool = True


@dataclass(frozen=True)
class DataBytes:
    """Bytes from the peer in transparent data mode (TRANS-DATA)."""

    data: bytes
    t_ns: int


@dataclass(frozen=True)
class PossibleClosed:
    """`CLOSED` or `+PDP DEACT` seen in the data stream: maybe peer data (TRANS-CLOSED)."""

    text: str
    t_ns: int


@dataclass(frozen=True)
class Noise:
    """Bytes that could not be framed (0xFF, XON/XOFF, over-long lines); parsing went on."""

    data: bytes
    t_ns: int
    reason: str


@dataclass(frozen=True)
class Absorbed:
    """The `ERROR` an M95 prints after `ALREADY CONNECT` (§14), kept from the next command."""

    text: str
    t_ns: int


Event = (
    Echo
    | Line
    | Stage
    | Final
    | Prompt
    | Urc
    | Received
    | QirdBlock
    | DataBytes
    | PossibleClosed
    | Noise
    | Absorbed
)
#: Every event type the codec can emit, for fuzzers checking invariants.
EVENT_TYPES: tuple[type, ...] = (
    Echo,
    Line,
    Stage,
    Final,
    Prompt,
    Urc,
    Received,
    QirdBlock,
    DataBytes,
    PossibleClosed,
    Noise,
    Absorbed,
)


# -- what is in flight ----------------------------------------------------------------------
class Kind(StrEnum):
    """How a command's reply is framed (PROTOCOL.md §4–§12)."""

    BASIC = "basic"  # info lines, then OK / ERROR / +CME ERROR
    OPEN = "open"  # OK, later CONNECT OK / CONNECT FAIL / CONNECT; or ALREADY CONNECT
    SEND = "send"  # prompt, payload, SEND OK / SEND FAIL
    STAT = "stat"  # OK then STATE: (QIMUX=0); +QISTAT: lines then OK (QIMUX=1)
    STATE = "state"  # AT+QISTATE: OK, STATE:, +QISTATE: lines, OK
    LOCIP = "locip"  # the bare address, no OK
    DEACT = "deact"  # DEACT OK, no OK
    CLOSE = "close"  # CLOSE OK / <n>, CLOSE OK
    QIRD = "qird"  # +QIRD: header + exactly <len> bytes, repeated, then OK
    POWD = "powd"  # NORMAL POWER DOWN
    DNSGIP = "dnsgip"  # OK, then the address line
    ONLINE = "online"  # ATO: CONNECT back into data mode
    ESCAPE = "escape"  # +++ in data mode: OK, or an echo and nothing


class Form(StrEnum):
    EXEC = "exec"
    READ = "read"
    TEST = "test"
    SET = "set"


@dataclass(frozen=True)
class CommandSpec:
    """What the codec needs to know about the command in flight to frame its reply."""

    command: str
    name: str  # "+QIOPEN", "E" for ATE0, "" for AT
    form: Form
    kind: Kind
    mux: bool = False
    transparent: bool = False
    send_length: int | None = None  # AT+QISEND=<n>: exactly n bytes, no Ctrl+Z
    basic: tuple[tuple[str, int | None], ...] = ()  # ATE0V1 → (("E", 0), ("V", 1))

    def setting(self, letter: str) -> int | None:
        """The value a basic command sets (`ATE0` → E=0), or None if it does not set it."""
        for name, value in self.basic:
            if name == letter:
                return 0 if value is None else value
        return None


_SPECIAL_KINDS = {
    "+QIOPEN": Kind.OPEN,
    "+QISEND": Kind.SEND,
    "+QISTAT": Kind.STAT,
    "+QISTATE": Kind.STATE,
    "+QILOCIP": Kind.LOCIP,
    "+QIDEACT": Kind.DEACT,
    "+QICLOSE": Kind.CLOSE,
    "+QIRD": Kind.QIRD,
    "+QPOWD": Kind.POWD,
    "+QIDNSGIP": Kind.DNSGIP,
    "O": Kind.ONLINE,
}
_BASIC_TOKEN = re.compile(r"(&?[A-Z])(\d*)")
_LAST_INT = re.compile(r"(\d+)\s*$")


def spec_for(command: str, mux: bool = False, mode: int = 0) -> CommandSpec:
    """The framing of `command`'s reply; `mux` = AT+QIMUX, `mode` = AT+QIMODE (1: transparent)."""
    text = command.strip()
    name = command_name(text)
    rest = text[2 + len(name) :] if text[:2].upper() == "AT" else ""
    if rest.startswith("=?"):
        form = Form.TEST
    elif rest.startswith("?"):
        form = Form.READ
    elif rest.startswith("="):
        form = Form.SET
    else:
        form = Form.EXEC
    kind = Kind.BASIC
    if form in (Form.EXEC, Form.SET):
        kind = _SPECIAL_KINDS.get(name, Kind.BASIC)
    send_length = None
    if kind is Kind.SEND and form is Form.SET:
        m = _LAST_INT.search(rest)
        send_length = int(m.group(1)) if m else None
    basic: tuple[tuple[str, int | None], ...] = ()
    if not name.startswith("+"):
        body = re.split(r"[+;]", text[2:], maxsplit=1)[0].upper()
        basic = tuple((t, int(v) if v else None) for t, v in _BASIC_TOKEN.findall(body))
    return CommandSpec(
        command=text,
        name=name,
        form=form,
        kind=kind,
        mux=bool(mux),
        transparent=bool(mode),
        send_length=send_length,
        basic=basic,
    )


ESCAPE_SPEC = CommandSpec(command="+++", name="+++", form=Form.EXEC, kind=Kind.ESCAPE)

# -- line classification --------------------------------------------------------------------
_EOL = re.compile(rb"[\r\n]")
_LINE_END = b"\r\n"
_LEADING_EOL = re.compile(rb"\r?\n?")
#: What follows a payload echo: maybe its Ctrl+Z, then the CR LF of the module's next line.
_AFTER_ECHO = re.compile(rb"\x1a?(\r[\r\n]*)?")
_NOT_CRLF = re.compile(rb"[^\r\n]")
_NOISE = re.compile(rb"[^\t\x20-\x7e]")
_NOISE_RUN = re.compile(rb"[^\t\r\n\x20-\x7e]+")
_IPD = re.compile(rb"IPD(\d{1,5})(TCP|UDP)?:")
_IPD_PREFIX = re.compile(rb"I(?:P(?:D(?:\d{1,5}(?:T(?:C(?:P)?)?|U(?:D(?:P)?)?)?)?)?)?")
_IPD_HEADER_MAX = 12  # len("IPD65535TCP:")
_RECV_FROM = b"RECV FROM:"
_RECV_FROM_LINE = re.compile(rb"RECV FROM:\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}")
_RECV_FROM_PARTIAL = re.compile(
    rb"R(?:E(?:C(?:V(?: (?:F(?:R(?:O(?:M(?::[0-9.:]{0,21})?)?)?)?)?)?)?)?)?"
)
_RECEIVE = re.compile(r"\+RECEIVE:\s*(\d+)\s*,\s*(\d+)$")
_QIRD = re.compile(r"\+QIRD:\s*(\S+?:\d+)\s*,\s*(TCP|UDP)\s*,\s*(\d+)$")
_CME = re.compile(r"\+CM([ES]) ERROR:\s*(.*)$")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}$")
_CONNECTION = re.compile(r"(?:(\d+)\s*,\s*)?(CONNECT OK|CONNECT FAIL|ALREADY CONNECT|CONNECT)$")
_CLOSE_OK = re.compile(r"(?:\d+\s*,\s*)?CLOSE OK$")

_URC = re.compile(
    r"(?P<rdy>RDY$)"
    r"|(?P<cfun>\+CFUN:)"
    r"|(?P<cpin>\+CPIN:)"
    r"|(?P<call_ready>Call Ready$)"
    r"|(?P<sms_ready>SMS Ready$)"
    r"|(?P<creg>\+CREG:)"
    r"|(?P<cgreg>\+CGREG:)"
    r"|(?P<closed>(?:\d+\s*,\s*)?CLOS(?:ED?)?$)"
    r"|(?P<pdp_deact>\+PDP DEACT$)"
    r"|(?P<qirdi>\+QIRDI:)"
    r"|(?P<receive>\+RECEIVE:)"
    r"|(?P<power_down>NORMAL POWER DOWN$)"
    r"|(?P<voltage>(?:UNDER|OVER)[_-]VOLTAGE (?:WARNN?ING|POWER DOWN)$)"
    r"|(?P<error>\+CM[ES] ERROR:)"
    r"|(?P<late>(?:\d+\s*,\s*)?(?:CONNECT(?: OK| FAIL)?|ALREADY CONNECT)$)"
    r"|(?P<stray>(?:\d+\s*,\s*)?(?:OK|ERROR|SEND OK|SEND FAIL|CLOSE OK|DEACT OK)$)"
)
#: URCs whose prefix is also the reply of the read command of the same name.
_SHARED_PREFIX = {UrcKind.CFUN, UrcKind.CPIN, UrcKind.CREG, UrcKind.CGREG}


def urc_kind(text: str) -> UrcKind | None:
    """The URC family of a line, or None if it is not a known unsolicited line."""
    m = _URC.match(text)
    return UrcKind(m.lastgroup) if m and m.lastgroup else None


def _fields(text: str) -> int:
    return text.split(":", 1)[1].count(",") + 1


def _own_reply(spec: CommandSpec, text: str, kind: UrcKind) -> bool:
    """Is this `+XXX:` line the reply of the command in flight rather than a URC?"""
    if kind not in _SHARED_PREFIX or text.split(":", 1)[0] != spec.name:
        return False
    if kind in (UrcKind.CREG, UrcKind.CGREG):
        # Read reply `+CREG: <n>,<stat>[,<lac>,<ci>]` vs URC `+CREG: <stat>[,<lac>,<ci>]` (§2).
        body = text.split(":", 1)[1].strip()
        return body.startswith("(") or _fields(text) in (2, 4)
    return True


def _squeeze(text: str) -> str:
    return "".join(text.split()).upper()


def _echo_start(text: str, command: str) -> int | None:
    """Where the echo of `command` starts in the line `text` (it ends the line), or None."""
    want = _squeeze(command)
    upper = text.upper()
    i = upper.rfind("AT")
    while i >= 0:
        if _squeeze(text[i:]) == want:
            return i
        i = upper.rfind("AT", 0, i)
    return None


def _common_prefix(a: bytes | bytearray, b: bytes | bytearray) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass
class _Frame:
    """A length-framed payload being collected."""

    kind: str  # "ipd" | "qird"
    length: int
    peer: str | None = None
    proto: str | None = None
    link: int | None = None
    skip_lf: bool = False  # the header ended in CR; one LF may still follow it
    data: bytearray = field(default_factory=bytearray)


@dataclass
class _Receive:
    """`+RECEIVE: <id>, <len>` seen: a RECV FROM line, an IPD header or raw bytes follow."""

    link: int
    length: int
    peer: str | None = None
    skip_lf: bool = False


_WAIT, _DONE, _NO = 0, 1, 2


class Codec:
    """The AT reply parser: `begin(spec)`, `feed(bytes, t_ns) -> events`, signals for timeouts.

    Never raises on any input bytes; only API misuse raises `ProtocolError`. All buffers are
    bounded; a length-framed block that stops short is ended by `expire()`.
    """

    def __init__(self, *, numeric: bool = False) -> None:
        self._buf = bytearray()
        self.numeric = numeric  # ATV0: result codes are digits
        self.data_mode = False
        self._frame: _Frame | None = None
        self._receive: _Receive | None = None
        self._peer: str | None = None  # from a RECV FROM line, for the next IPD block
        self._scan_tail = b""  # last bytes of data mode, to see CLOSED split across chunks
        self._absorb_error = False
        self._abandoned: CommandSpec | None = None
        self._discarding = False  # inside an over-long line: noise up to its end
        self._data_lf = False  # CONNECT ended in CR: its LF is not peer data
        self._line_cr = False
        self._lf_owed = False  # a module line ended in CR: its LF is due (PROTOCOL.md §0)
        self.echo: bool | None = None  # ATE as the module has shown it; None: not known
        self._t = 0
        self._clear_command()

    def _clear_command(self) -> None:
        self.spec: CommandSpec | None = None
        self._responded = False
        self._echo_seen = False
        self._prompted = False
        self._after_prompt = False
        self._echo_expect: bytes | None = None
        self._echo_paused = False  # a module line is being read: no payload echo inside it
        self._after_frame = False  # pushed data came before the echo; its CR LF may follow it
        self._echo_tail = False
        self._stage_ok = False
        self._info = 0

    # -- what the channel tells the codec ----------------------------------------------------
    @property
    def in_flight(self) -> bool:
        return self.spec is not None

    @property
    def awaiting_frame(self) -> bool:
        """Bytes are held that only the frame gap can settle (the channel runs its timer): a
        length-framed payload being collected, or bytes that may yet be the payload's echo."""
        return self._frame is not None or self._receive is not None or self._echo_undecided

    @property
    def _echo_undecided(self) -> bool:
        return self._echo_expect is not None and not self._echo_paused and bool(self._buf)

    @property
    def lf_due(self) -> bool:
        """A module line ended in CR and its LF has not come yet: writing now could put the
        next command's echo before that LF (the channel waits a moment for it)."""
        return self._lf_owed

    @property
    def absorbing(self) -> bool:
        """`ALREADY CONNECT` was the answer and its trailing `ERROR` has not come yet (§14)."""
        return self._absorb_error

    @property
    def buffered(self) -> int:
        """Bytes held unparsed: at most a partial line (MAX_LINE) or a partial echo (MAX_ECHO)."""
        return len(self._buf)

    def begin(self, spec: CommandSpec) -> None:
        """The command line of `spec` is about to be written."""
        if not isinstance(spec, CommandSpec):
            raise ProtocolError(f"begin() needs a CommandSpec from spec_for(), not {spec!r}")
        if self.spec is not None:
            raise ProtocolError(
                f"{spec.command!r} begun while {self.spec.command!r} is still in flight "
                "(ORDER: wait for each final answer, or abort() first)"
            )
        if self.data_mode:
            raise ProtocolError(f"{spec.command!r} begun in data mode: escape with +++ first")
        self._clear_command()
        self._absorb_error = False
        self.spec = spec

    def payload_sent(self, payload: bytes, *, echo: bool | None = None) -> None:
        """The QISEND payload is being typed after the prompt; its echo is expected if echo
        is on (`echo=None`: as the command line's own echo showed)."""
        spec = self.spec
        if spec is None or spec.kind is not Kind.SEND or not self._prompted:
            raise ProtocolError("payload_sent() without an AT+QISEND prompt in flight")
        expect = self._echo_seen if echo is None else echo
        self._echo_expect = bytes(payload[:MAX_ECHO]) if expect and payload else None
        self._echo_paused = False

    def escape_sent(self) -> None:
        """`+++` was written in data mode; look for `OK` or its echo (TRANS-ESC, TRANS-CLOSED)."""
        if not self.data_mode:
            raise ProtocolError("escape_sent() outside data mode")
        if self.spec is not None:
            raise ProtocolError("escape_sent() while a command is in flight")
        self._clear_command()
        self.spec = ESCAPE_SPEC

    def feed(self, data: bytes, t_ns: int) -> list[Event]:
        """Parse `data` that arrived at `t_ns`; return the events it completes."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProtocolError(f"feed() takes bytes, not {type(data).__name__}")
        self._t = t_ns
        self._buf += data
        out: list[Event] = []
        self._process(out)
        return out

    def expire(self, t_ns: int) -> list[Event]:
        """The frame gap passed: end a length-framed block that stopped short, and settle bytes
        that might have been the payload's echo (an echo streams back as it is typed)."""
        self._t = t_ns
        out: list[Event] = []
        if self._echo_undecided:
            self._settle_echo(out)
        if self._receive is not None:  # undecided: what is buffered is the raw payload
            r, self._receive = self._receive, None
            self._frame = _Frame("ipd", r.length, r.peer, None, r.link, skip_lf=r.skip_lf)
            if self._buf:
                self._fill_frame(out)
        if self._frame is not None:
            self._finish_frame(out, complete=False)
        self._process(out)
        return out

    def abort(self, t_ns: int) -> list[Event]:
        """The caller gave up on the command in flight; later results of it become URCs."""
        self._t = t_ns
        if self.spec is not None and self.spec.kind is not Kind.ESCAPE:
            self._abandoned = self.spec
        self._clear_command()
        out: list[Event] = []
        self._process(out)  # data held back while looking for the escape's OK goes out now
        return out

    def leave_data_mode(self) -> None:
        """The module is in command mode now (an escape was answered, or it echoed `+++`)."""
        self.data_mode = False
        if self.spec is not None and self.spec.kind is Kind.ESCAPE:
            self._clear_command()

    def reset(self) -> None:
        """Forget modes and framing state (after a reboot). A command in flight stays in flight
        (its caller's timeout ends it); unparsed bytes stay too."""
        self.numeric = False
        self.data_mode = False
        self.echo = None
        self._frame = self._receive = self._peer = self._abandoned = None
        self._absorb_error = self._discarding = self._data_lf = self._lf_owed = False
        if self.spec is not None and self.spec.kind is Kind.ESCAPE:
            self._clear_command()

    # -- the parser -------------------------------------------------------------------------
    def _process(self, out: list[Event]) -> None:
        buf = self._buf
        while buf:
            if self._discarding:
                m = _EOL.search(buf)
                end = m.start() if m else len(buf)
                if end:
                    out.append(Noise(bytes(buf[:end]), self._t, "over-long line"))
                del buf[: end + 1 if m else end]
                self._discarding = m is None
                continue
            if self._frame is not None:
                if not self._fill_frame(out):
                    return
                continue
            if self.data_mode:
                if not self._data(out):
                    return
                continue
            if self._lf_owed and buf[0] == 0x0A:
                self._lf_owed = False  # the LF of the line that ended in CR
                del buf[0]
                continue
            if self._after_prompt:
                self._after_prompt = False
                if buf[0] == 0x20:  # the space of "> " (PROTOCOL.md §6)
                    del buf[0]
                    continue
            if self._echo_tail:
                self._echo_tail = False
                if buf[0] == 0x1A:  # Ctrl+Z may be echoed after the payload
                    del buf[0]
                    out.append(Echo(b"\x1a", self._t, payload=True))
                    continue
            if self._echo_expect is not None and not self._echo_paused:
                r = self._match_echo(out)
                if r == _WAIT:
                    return
                if r == _DONE:
                    continue
                self._echo_paused = True  # module output first: read its line, then see
            if self._receive is not None:
                if self._receive_start(out) == _WAIT:
                    return
                continue
            b0 = buf[0]
            if b0 in (0x0D, 0x0A):
                m = _NOT_CRLF.search(buf)
                del buf[: m.start() if m else len(buf)]
                continue
            if not (0x20 <= b0 <= 0x7E or b0 == 0x09):
                m = _NOISE_RUN.match(buf)  # b0 is noise: it matches
                end = m.end() if m else 1
                out.append(Noise(bytes(buf[:end]), self._t, "unframed bytes"))
                del buf[:end]
                continue
            if b0 == 0x3E and self._awaiting_prompt() and not self._before_echo():
                del buf[0]
                self._prompted = self._responded = self._after_prompt = True
                out.append(Prompt(self._t))
                continue
            if b0 == 0x49:  # "I": maybe an IPD header, which has no line end
                r = self._ipd(out)
                if r == _WAIT:
                    return
                if r == _DONE:
                    continue
            m = _EOL.search(buf)
            if m is None:
                if len(buf) > MAX_LINE:
                    out.append(Noise(bytes(buf), self._t, "over-long line"))
                    buf.clear()
                    self._discarding = True
                return
            end = m.start()
            if self._lf_owed:
                self._lf_owed = False
                if buf[end] == 0x0A:
                    # The LF of the previous line arrived after bytes of the next one (the next
                    # echo can overtake it): it ends nothing.
                    del buf[end]
                    out.append(Noise(b"\n", self._t, "late line feed"))
                    continue
            raw = bytes(buf[:end])
            self._line_cr = buf[end] == 0x0D
            del buf[: end + 1]
            if end > MAX_LINE:
                out.append(Noise(raw, self._t, "over-long line"))
                continue
            mark = len(out)
            self._raw_line(raw, self._line_cr, out)
            self._after_line(out, mark)

    def _awaiting_prompt(self) -> bool:
        spec = self.spec
        return spec is not None and spec.kind is Kind.SEND and not self._prompted

    def _match_echo(self, out: list[Event]) -> int:
        """Is what follows the prompt the payload's echo? The module's own output starts a line
        with CR LF; the echo is the typed bytes, and a module may not echo them at all."""
        expect = self._echo_expect
        assert expect is not None
        buf = self._buf
        # Right after pushed data a CR LF may be that data's end or the start of a module line:
        # the echo may follow it, but only a whole echo followed by a new line counts then.
        strict = self._after_frame
        skips = [0]
        if strict:
            m = _LEADING_EOL.match(buf)  # it matches anything, if only the empty string
            lead = m.end() if m else 0
            if lead == len(buf):
                return _WAIT
            skips += [lead] if lead else []
        verdicts = [(self._echo_at(skip, strict), skip) for skip in skips]
        for verdict, skip in verdicts:
            if verdict == _DONE:
                del buf[:skip]
                self._take_echo(len(expect), out)
                self._echo_expect = None
                self._echo_tail = True
                self._after_frame = False
                return _DONE
        if any(verdict == _WAIT for verdict, _ in verdicts):
            return _WAIT
        self._after_frame = False
        k = _common_prefix(buf, expect)
        if not strict and k and buf[k] in _LINE_END and not _EOL.search(buf, 0, k):
            # The echo stopped at a line of the module's (ESC, over-long input, a URC): the
            # rest may still be echoed after that line.
            self._take_echo(k, out)
            self._echo_expect = expect[k:]
        return _NO

    def _echo_at(self, skip: int, strict: bool) -> int:
        """Whether the whole echo starts `skip` bytes in: _DONE, _WAIT (maybe), or _NO."""
        expect = self._echo_expect
        assert expect is not None
        buf = self._buf
        k = _common_prefix(buf[skip:], expect)
        if k < len(expect):
            return _WAIT if k == len(buf) - skip else _NO
        if strict or (not self.numeric and _EOL.search(expect)):
            # An echo holding CR/LF could be the module's own lines: it is the echo only if a
            # new line of the module's (CR LF, text) follows it; it never runs into one.
            m = _AFTER_ECHO.match(buf, skip + k)
            assert m is not None  # every part of the pattern is optional
            if m.end() == len(buf):
                return _WAIT
            if b"\n" not in (m.group(1) or b""):
                return _NO
        return _DONE

    def _take_echo(self, k: int, out: list[Event]) -> None:
        out.append(Echo(bytes(self._buf[:k]), self._t, payload=True))
        del self._buf[:k]

    def _settle_echo(self, out: list[Event]) -> None:
        """The frame gap passed with bytes that could still be the echo: with a line end among
        or after them they are the module's line; else the module stopped echoing there."""
        expect = self._echo_expect
        assert expect is not None
        buf = self._buf
        strict, self._after_frame = self._after_frame, False
        k = _common_prefix(buf, expect)
        if strict or k < len(buf) or _EOL.search(buf, 0, k) or not k:
            self._echo_paused = True
            return
        self._take_echo(k, out)
        self._echo_expect = None

    def _after_line(self, out: list[Event], mark: int) -> None:
        """Bookkeeping once a line is parsed: its LF is due, and an echo paused for it may go
        on if the line was unsolicited."""
        produced = out[mark:]
        last = produced[-1] if produced else None
        if (
            self._line_cr
            and not self.numeric
            and isinstance(last, Final | Stage | Line | Urc | Absorbed)
            and not (isinstance(last, Urc) and last.kind is UrcKind.UNKNOWN)  # bare data
            and self._frame is None
            and self._receive is None
            and not self.data_mode
        ):
            self._lf_owed = True
        if self._echo_paused and self._echo_expect is not None:
            if all(isinstance(e, Urc | Noise) for e in produced):
                self._echo_paused = False  # a URC before the echo: the echo may still come
            else:
                self._echo_expect = None  # the module answered: no echo is coming

    def _before_echo(self) -> bool:
        """With echo on, nothing before the command's echo is its answer."""
        return self.echo is True and not self._echo_seen

    def _ipd(self, out: list[Event]) -> int:
        buf = self._buf
        m = _IPD.match(buf)
        if m is not None:
            length = int(m.group(1))
            if length > MAX_FRAME:
                return _NO
            proto = m.group(2).decode() if m.group(2) else None
            del buf[: m.end()]
            self._frame = _Frame("ipd", length, peer=self._peer, proto=proto)
            self._peer = None
            return _DONE
        if len(buf) < _IPD_HEADER_MAX and _IPD_PREFIX.fullmatch(buf):
            return _WAIT
        return _NO

    def _receive_start(self, out: list[Event]) -> int:
        # Only exact headers count (a RECV FROM address line, IPD with the announced length):
        # anything else is the raw payload, which may itself start with such text.
        r = self._receive
        assert r is not None
        buf = self._buf
        if r.skip_lf:
            r.skip_lf = False
            if buf[0] == 0x0A:
                del buf[0]
                return _DONE
        if r.peer is None and buf[:1] == b"R":
            m = _EOL.search(buf)
            if m is None:
                if _RECV_FROM_PARTIAL.fullmatch(buf):
                    return _WAIT
            elif _RECV_FROM_LINE.fullmatch(buf, 0, m.start()):
                r.peer = buf[len(_RECV_FROM) : m.start()].decode()
                r.skip_lf = buf[m.start()] == 0x0D
                del buf[: m.end()]
                return _DONE
        proto: str | None = None
        for header, name in (
            (b"IPD%d:" % r.length, None),
            (b"IPD%dTCP:" % r.length, "TCP"),
            (b"IPD%dUDP:" % r.length, "UDP"),
        ):
            if buf.startswith(header):
                del buf[: len(header)]
                proto = name
                break
            if len(buf) < len(header) and header.startswith(buf):
                return _WAIT
        self._receive = None
        self._frame = _Frame("ipd", r.length, r.peer, proto, r.link)
        if self._frame.length == 0:
            self._finish_frame(out, complete=True)
        return _DONE

    def _fill_frame(self, out: list[Event]) -> bool:
        f = self._frame
        assert f is not None
        buf = self._buf
        if f.skip_lf:
            f.skip_lf = False
            if buf[0] == 0x0A:
                del buf[0]
                if not buf:
                    return False
        take = min(f.length - len(f.data), len(buf))
        f.data += buf[:take]
        del buf[:take]
        if len(f.data) < f.length:
            return False
        self._finish_frame(out, complete=True)
        return True

    def _finish_frame(self, out: list[Event], complete: bool) -> None:
        f, self._frame = self._frame, None
        assert f is not None
        if self._echo_paused and self._echo_expect is not None:
            self._echo_paused = False  # pushed data before the echo: the echo may still come
            self._after_frame = True
        payload = bytes(f.data)
        if f.kind == "qird":
            out.append(QirdBlock(payload, self._t, f.peer or "", f.proto or "", f.length, complete))
        else:
            out.append(Received(payload, f.peer, f.proto, self._t, f.link, complete))

    def _data(self, out: list[Event]) -> bool:
        """Transparent mode: everything is peer data, except the escape's answer."""
        buf = self._buf
        if self._data_lf:
            self._data_lf = False
            if buf[0] == 0x0A:
                del buf[0]
                return True
        if self.spec is None or self.spec.kind is not Kind.ESCAPE:
            self._release(bytes(buf), out)
            buf.clear()
            return False
        ok = buf.find(b"\r\nOK\r")
        echo = buf.find(b"+++")
        hits = [(i, what) for i, what in ((ok, "ok"), (echo, "echo")) if i >= 0]
        if not hits:
            hold = 0  # keep a tail that may be the start of "\r\nOK\r" or "+++"
            for pattern in (b"\r\nOK\r", b"+++"):
                for n in range(min(len(pattern) - 1, len(buf)), 0, -1):
                    if buf.endswith(pattern[:n]):
                        hold = max(hold, n)
                        break
            self._release(bytes(buf[: len(buf) - hold]), out)
            del buf[: len(buf) - hold]
            return False
        i, what = min(hits)
        self._release(bytes(buf[:i]), out)
        if what == "ok":
            del buf[: i + 5]
            self.data_mode = False
            self._lf_owed = not self.numeric
            self._clear_command()
            out.append(Final("OK", self._t, ok=True))
        else:  # the module was already in command mode and echoed "+++" (TRANS-CLOSED)
            del buf[: i + 3]
            self.data_mode = False
            out.append(Echo(b"+++", self._t))
        return True

    def _release(self, data: bytes, out: list[Event]) -> None:
        if not data:
            return
        tail = self._scan_tail
        window = tail + data
        hits: list[tuple[int, bytes]] = []
        for alert in DATA_MODE_ALERTS:
            i = window.find(alert)
            while i >= 0:
                end = i + len(alert) - len(tail)
                if end > 0:
                    hits.append((end, alert))
                i = window.find(alert, i + 1)
        start = 0
        for end, alert in sorted(hits):
            out.append(DataBytes(data[start:end], self._t))
            out.append(PossibleClosed(alert.decode(), self._t))
            start = end
        if start < len(data):
            out.append(DataBytes(data[start:], self._t))
        self._scan_tail = window[-(max(map(len, DATA_MODE_ALERTS)) - 1) :]

    # -- lines --------------------------------------------------------------------------------
    def _raw_line(self, raw: bytes, cr: bool, out: list[Event]) -> None:
        if _NOISE.search(raw):
            out.append(Noise(b"".join(_NOISE.findall(raw)), self._t, "control bytes in a line"))
            raw = _NOISE.sub(b"", raw)
        text = raw.decode("ascii").strip()
        if text:
            self._line(text, cr, out)

    def _line(self, text: str, cr: bool, out: list[Event]) -> None:
        t = self._t
        if self._absorb_error and self.spec is None and text == "ERROR":
            self._absorb_error = False
            out.append(Absorbed(text, t))
            return
        if text.startswith("RECV FROM:"):
            self._flush_peer(out)
            self._peer = text[len("RECV FROM:") :].strip()
            return
        if self._peer is not None:
            self._flush_peer(out)
        if text[0] == "+":
            m = _RECEIVE.match(text)
            if m is not None and int(m.group(2)) <= MAX_FRAME:
                out.append(Urc(text, t, UrcKind.RECEIVE))
                self._receive = _Receive(int(m.group(1)), int(m.group(2)), skip_lf=cr)
                return
            m = _QIRD.match(text)
            if m is not None and int(m.group(3)) <= MAX_FRAME:
                # Framed wherever it comes, so a late block's payload is never read as lines.
                self._frame = _Frame("qird", int(m.group(3)), m.group(1), m.group(2), skip_lf=cr)
                if self._frame.length == 0:
                    self._finish_frame(out, complete=True)
                return
        spec = self.spec
        if spec is None or spec.kind is Kind.ESCAPE:
            if spec is not None and text == "OK":
                self._end(Final("OK", t, ok=True), out)
                return
            out.append(self._unsolicited(text))
            return
        if not self._responded and self._echo_line(spec, text, out):
            return
        if self._before_echo():
            out.append(self._unsolicited(text))  # e.g. +CPIN: READY at boot, a late OK
            return
        if self._result(spec, text, out):
            self._responded = True
            return
        kind = urc_kind(text)
        if kind is not None and not _own_reply(spec, text, kind):
            out.append(self._unsolicited(text, kind))
            return
        self._responded = True
        self._info += 1
        out.append(Line(text, t))

    def _echo_line(self, spec: CommandSpec, text: str, out: list[Event]) -> bool:
        """A command line echoed (ATE1)? Ours, perhaps stuck to bare pushed data that had no
        line end (§8); or a late one of a command given up on, whose answer then follows it
        and is not ours either. False if `text` is no echo."""
        i = _echo_start(text, spec.command)
        if i is not None:
            if text[:i].strip():
                out.append(self._unsolicited(text[:i].strip()))
            self._echo_seen = True
            self.echo = True
            out.append(Echo(text[i:].encode(), self._t))
            return True
        if text[:2].upper() != "AT":
            return False
        # Echo is on (this echo shows it) unless that late line changed it.
        self.echo = True if spec_for(text).setting("E") is None else None
        out.append(Urc(text, self._t, UrcKind.STRAY))
        return True

    def _flush_peer(self, out: list[Event]) -> None:
        if self._peer is not None:
            out.append(Urc(f"RECV FROM:{self._peer}", self._t, UrcKind.RECV_FROM))
            self._peer = None

    def _unsolicited(self, text: str, kind: UrcKind | None = None) -> Urc:
        kind = kind or urc_kind(text) or UrcKind.UNKNOWN
        if kind is UrcKind.LATE:
            m = _CONNECTION.match(text)
            result = m.group(2) if m else ""
            if result == "ALREADY CONNECT":
                self._absorb_error = True
            elif result == "CONNECT" and self._abandoned and self._abandoned.kind is Kind.OPEN:
                self._enter_data_mode()  # a transparent open the caller gave up on succeeded
        elif kind is UrcKind.RDY:
            self.numeric = False  # a reboot restores the verbose default
            self.echo = None  # ... and the stored ATE, which we may not know
            self._abandoned = None
        return Urc(text, self._t, kind)

    def _end(self, final: Final, out: list[Event]) -> None:
        spec = self.spec
        self._clear_command()
        if spec is not None and final.ok and spec.basic:
            v = spec.setting("V")
            if v is not None:
                self.numeric = v == 0
            elif spec.setting("Z") is not None or spec.setting("&F") is not None:
                self.numeric = False
            e = spec.setting("E")
            if e is not None:
                self.echo = e == 1
            elif spec.setting("Z") is not None or spec.setting("&F") is not None:
                self.echo = None
        out.append(final)

    def _enter_data_mode(self) -> None:
        self.data_mode = True
        self._scan_tail = b""
        self._data_lf = self._line_cr

    def _result(self, spec: CommandSpec, text: str, out: list[Event]) -> bool:
        """Emit the Stage or Final that `text` is for `spec`; False if it is neither."""
        t = self._t
        kind = spec.kind
        if text == "OK" and (kind is Kind.BASIC or kind is Kind.QIRD):  # the common case first
            self._end(Final(text, t, ok=True), out)
            return True
        if len(text) == 1 and text.isdigit() and (self.numeric or spec.setting("V") is not None):
            if kind is Kind.STAT and self._stage_ok:
                n = int(text)  # ATV0 QISTAT: the state as a number (§1)
                state = NUMERIC_STATES[n] if n < len(NUMERIC_STATES) else text
                self._end(Final(f"STATE: {state}", t, ok=True), out)
                return True
            text = NUMERIC_RESULTS.get(int(text), text)
        if text == "ERROR":
            self._end(Final(text, t, ok=False), out)
            return True
        m = _CME.match(text)
        if m is not None:
            code = m.group(2).strip()
            self._end(Final(text, t, ok=False, code=int(code) if code.isdigit() else None), out)
            return True
        if kind is Kind.OPEN:
            m = _CONNECTION.match(text)
            if m is not None:
                result = m.group(2)
                if result == "ALREADY CONNECT":
                    self._absorb_error = True  # the M95 prints ERROR after it (§14)
                elif result == "CONNECT":
                    self._enter_data_mode()  # TRANS-OPEN
                ok = result in ("CONNECT OK", "CONNECT")
                self._end(Final(text, t, ok=ok), out)
                return True
            if text == "OK" and not self._stage_ok:
                self._stage_ok = True
                out.append(Stage(text, t))
                return True
            return False
        if kind is Kind.SEND:
            if text in ("SEND OK", "SEND FAIL", "OK"):
                self._end(Final(text, t, ok=text != "SEND FAIL"), out)
                return True
            return False
        if kind in (Kind.STAT, Kind.STATE):
            if text == "OK":
                if self._stage_ok or self._info:
                    self._end(Final(text, t, ok=True), out)
                else:
                    self._stage_ok = True
                    out.append(Stage(text, t))
                return True
            if kind is Kind.STAT and not spec.mux and self._stage_ok and text.startswith("STATE:"):
                self._end(Final(text, t, ok=True), out)
                return True
            return False
        if kind is Kind.LOCIP:
            if _IPV4.match(text):
                self._end(Final(text, t, ok=True), out)
                return True
            if text == "OK" and not self._stage_ok:
                self._stage_ok = True
                out.append(Stage(text, t))
                return True
            return False
        if kind is Kind.DEACT:
            if text == "DEACT OK":
                self._end(Final(text, t, ok=True), out)
                return True
            return False
        if kind is Kind.CLOSE:
            if _CLOSE_OK.match(text) or text == "OK":
                self._end(Final(text, t, ok=True), out)
                return True
            return False
        if kind is Kind.POWD:
            if text in ("NORMAL POWER DOWN", "OK"):
                self._end(Final(text, t, ok=True), out)
                return True
            return False
        if kind is Kind.DNSGIP:
            if text == "OK" and not self._stage_ok:
                self._stage_ok = True
                out.append(Stage(text, t))
                return True
            if self._stage_ok and urc_kind(text) is None:
                self._end(Final(text, t, ok=bool(_IPV4.match(text))), out)
                return True
            return False
        if kind is Kind.ONLINE:
            if text == "CONNECT":
                self._enter_data_mode()
                self._end(Final(text, t, ok=True), out)
                return True
            if text in ("OK", "NO CARRIER"):
                self._end(Final(text, t, ok=text == "OK"), out)
                return True
            return False
        if text == "OK":  # BASIC, QIRD
            self._end(Final(text, t, ok=True), out)
            return True
        return False
