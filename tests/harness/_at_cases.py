"""Codec test material: the seed exchanges byte for byte, a runner, and hypothesis strategies.

Used by test_protocol.py and test_protocol_props.py; bench/fuzz.py can import it too
(`sys.path.insert(0, "tests/harness"); import _at_cases`) and run the `check_*` properties
with its own example counts.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from hypothesis import assume
from hypothesis import strategies as st

from harness.protocol import (
    EVENT_TYPES,
    MAX_ECHO,
    MAX_FRAME,
    MAX_LINE,
    Absorbed,
    Codec,
    DataBytes,
    Echo,
    Event,
    Final,
    Line,
    Noise,
    PossibleClosed,
    Prompt,
    ProtocolError,
    QirdBlock,
    Received,
    Stage,
    Urc,
    spec_for,
)


def frame(*lines: str | bytes) -> bytes:
    """Lines as the module frames results: `\\r\\n<line>\\r\\n` each (PROTOCOL.md §0)."""
    return b"".join(b"\r\n" + (x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines)


# -- what a run produced --------------------------------------------------------------------
@dataclass
class Summary:
    """The events of a run, grouped the way a reply is read."""

    echo: list[bytes] = field(default_factory=list)
    payload_echo: bytes = b""
    lines: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)  # Stage, Prompt (">") and Final texts
    final: str | None = None
    ok: bool | None = None
    code: int | None = None
    finals: int = 0
    blocks: list[bytes] = field(default_factory=list)
    block_peers: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    urcs: list[str] = field(default_factory=list)
    urc_kinds: list[str] = field(default_factory=list)
    data: bytes = b""
    possible: list[str] = field(default_factory=list)
    noise: bytes = b""
    absorbed: int = 0

    def reply(self) -> tuple:
        """The parts that belong to the command (what URCs must never change)."""
        return (
            self.echo,
            self.payload_echo,
            self.lines,
            self.stages,
            self.final,
            self.ok,
            self.code,
            self.blocks,
            self.block_peers,
            self.absorbed,
        )


def summarize(events: Sequence[Event]) -> Summary:
    s = Summary()
    for ev in events:
        assert isinstance(ev, EVENT_TYPES), ev
        if isinstance(ev, Echo):
            if ev.payload:
                s.payload_echo += ev.data
            else:
                s.echo.append(ev.data)
        elif isinstance(ev, Line):
            s.lines.append(ev.text)
        elif isinstance(ev, Stage):
            s.stages.append(ev.text)
        elif isinstance(ev, Prompt):
            s.stages.append(">")
        elif isinstance(ev, Final):
            s.stages.append(ev.text)
            s.final, s.ok, s.code = ev.text, ev.ok, ev.code
            s.finals += 1
        elif isinstance(ev, QirdBlock):
            s.blocks.append(ev.payload)
            s.block_peers.append(ev.peer)
        elif isinstance(ev, Received):
            s.received.append(ev)
        elif isinstance(ev, Urc):
            s.urcs.append(ev.text)
            s.urc_kinds.append(str(ev.kind))
        elif isinstance(ev, DataBytes):
            s.data += ev.data
        elif isinstance(ev, PossibleClosed):
            s.possible.append(ev.text)
        elif isinstance(ev, Noise):
            s.noise += ev.data
        elif isinstance(ev, Absorbed):
            s.absorbed += 1
    return s


def normalize(events: Sequence[Event]) -> list[Event]:
    """Merge what chunking may split: runs of DataBytes, of Noise, of payload Echo."""
    out: list[Event] = []
    for ev in events:
        prev = out[-1] if out else None
        if isinstance(ev, DataBytes) and isinstance(prev, DataBytes):
            out[-1] = DataBytes(prev.data + ev.data, 0)
        elif isinstance(ev, Noise) and isinstance(prev, Noise) and prev.reason == ev.reason:
            out[-1] = Noise(prev.data + ev.data, 0, ev.reason)
        else:
            out.append(ev)
    return out


# -- scripted runs ----------------------------------------------------------------------------
# A run is a list of steps: ("begin", command, mux, mode) | ("feed", bytes) | ("payload", bytes)
# | ("escape",) | ("abort",) | ("expire",) | ("leave",) | ("reset",)
Step = tuple


def run(steps: Sequence[Step], split: Callable[[int, bytes], list[bytes]] | None = None):
    """Drive a fresh codec through `steps`; `split(i, data)` chunks the i-th feed."""
    codec = Codec()
    events: list[Event] = []
    feeds = 0
    for step in steps:
        op = step[0]
        if op == "begin":
            codec.begin(spec_for(step[1], mux=step[2], mode=step[3]))
        elif op == "feed":
            chunks = split(feeds, step[1]) if split else [step[1]]
            feeds += 1
            for chunk in chunks:
                events += codec.feed(chunk, 0)
        elif op == "payload":
            codec.payload_sent(step[1])
        elif op == "escape":
            codec.escape_sent()
        elif op == "abort":
            events += codec.abort(0)
        elif op == "expire":
            events += codec.expire(0)
        elif op == "leave":
            codec.leave_data_mode()
        elif op == "reset":
            codec.reset()
    return codec, events


def cut(data: bytes, positions: Sequence[int]) -> list[bytes]:
    """`data` split at `positions` (any values; reduced into range)."""
    points = sorted({p % (len(data) + 1) for p in positions} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


# -- the exchanges ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One command and the module's answer, in pieces split at line boundaries.

    `before` comes before the QISEND payload is typed (up to the prompt), `after` after it.
    The expected reply is stated explicitly; `command=None` means nothing is in flight.
    """

    name: str
    command: str | None
    before: tuple[bytes, ...]
    payload: bytes | None = None
    after: tuple[bytes, ...] = ()
    mux: bool = False
    mode: int = 0
    final: str | None = None
    ok: bool | None = None
    code: int | None = None
    lines: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    blocks: tuple[bytes, ...] = ()
    received: tuple[bytes, ...] = ()
    urcs: tuple[str, ...] = ()
    absorbed: int = 0
    echo: bool = False

    def steps(self, before: Sequence[bytes] | None = None, after: Sequence[bytes] | None = None):
        before = self.before if before is None else before
        after = self.after if after is None else after
        steps: list[Step] = []
        if self.command is not None:
            steps.append(("begin", self.command, self.mux, self.mode))
        steps.append(("feed", b"".join(before)))
        if self.payload is not None:
            steps.append(("payload", self.payload))
        if after:
            steps.append(("feed", b"".join(after)))
        return steps

    def mismatches(self, s: Summary) -> list[str]:
        want = {
            "final": self.final,
            "ok": self.ok,
            "code": self.code,
            "lines": list(self.lines),
            "stages": list(self.stages),
            "blocks": list(self.blocks),
            "received": list(self.received),
            "urcs": list(self.urcs),
            "absorbed": self.absorbed,
            "echo": [self.command.encode()] if self.echo and self.command else [],
            "payload_echo": self.payload if self.echo and self.payload else b"",
            "noise": b"",
        }
        got = {k: getattr(s, k) for k in want}
        got["received"] = [r.payload for r in s.received]
        return [f"{k}: want {want[k]!r}, got {got[k]!r}" for k in want if want[k] != got[k]]


def with_echo(case: Case) -> Case:
    """The same exchange with ATE1: the command line (and typed payload) echoed (§0, §14)."""
    if case.command is None:
        return case
    after = case.after if case.payload is None else (case.payload, *case.after)
    return replace(
        case,
        name=case.name + "+echo",
        before=(case.command.encode() + b"\r", *case.before),
        after=after,
        echo=True,
    )


ABC = b"1234567890abcdefghijklmnopqrstuvwxyz"  # the seeds' 36-byte payload
OPEN_TCP = 'AT+QIOPEN="TCP","116.226.39.202","7007"'
OPEN_UDP = 'AT+QIOPEN="UDP","116.226.39.202","7007"'

#: Every example exchange of the two seed documents (English ch. 2–8; the Chinese edition adds
#: AT+CGATT? and spells the URCs `+CREG:1` / `+CERG:5`), with the spellings of the seeds.
SEED_CASES: tuple[Case, ...] = (
    Case("ipr", "AT+IPR=115200&W", (frame("OK"),), final="OK", ok=True, stages=("OK",)),
    Case(
        "cpin",
        "AT+CPIN?",
        (frame("+CPIN:READY"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+CPIN:READY",),
        stages=("OK",),
    ),
    Case(
        "creg",
        "AT+CREG?",
        (frame("+CREG: 0,1"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+CREG: 0,1",),
        stages=("OK",),
    ),
    Case(
        "cgatt-cn",
        "AT+CGATT?",
        (frame("+CGATT: 1"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+CGATT: 1",),
        stages=("OK",),
    ),
    *(
        Case(f"set-{cmd}", cmd, (frame("OK"),), final="OK", ok=True, stages=("OK",))
        for cmd in (
            "AT+QIFGCNT=0",
            'AT+QICSGP=1,"CMNET"',
            "AT+QIDNSIP=1",
            "AT+QINDI=1",
            "AT+QIHEAD=1",
            "AT+QISHOWRA=1",
            "AT+QISHOWPT=1",
            "AT+QIMODE=1",
            "AT+QITCFG=3,2,512,1",
            "AT+QIMUX=0",
        )
    ),
    Case(
        "qiopen-tcp",
        OPEN_TCP,
        (frame("OK"), frame("CONNECT OK")),
        final="CONNECT OK",
        ok=True,
        stages=("OK", "CONNECT OK"),
    ),
    Case(
        "qiopen-udp",
        OPEN_UDP,
        (frame("OK"), frame("CONNECT OK")),
        final="CONNECT OK",
        ok=True,
        stages=("OK", "CONNECT OK"),
    ),
    Case("qiopen-error", OPEN_TCP, (frame("ERROR"),), final="ERROR", ok=False, stages=("ERROR",)),
    Case(
        "qiopen-already",
        OPEN_TCP,
        (frame("ALREADY CONNECT"), frame("ERROR")),
        final="ALREADY CONNECT",
        ok=False,
        stages=("ALREADY CONNECT",),
        absorbed=1,
    ),
    Case(
        "qiopen-fail",
        OPEN_TCP,
        (frame("OK"), frame("CONNECT FAIL")),
        final="CONNECT FAIL",
        ok=False,
        stages=("OK", "CONNECT FAIL"),
    ),
    Case(
        "qimux-read",
        "AT+QIMUX?",
        (frame("+QIMUX: 1"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+QIMUX: 1",),
        stages=("OK",),
    ),
    Case(
        "qistat-connecting",
        "AT+QISTAT",
        (frame("OK"), frame("STATE: TCP CONNECTING")),
        final="STATE: TCP CONNECTING",
        ok=True,
        stages=("OK", "STATE: TCP CONNECTING"),
    ),
    Case(
        "qisend-test",
        "AT+QISEND",
        (b"\r\n> ",),
        payload=b"TEST",
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    Case(
        "qisend-fixed-special",
        "AT+QISEND=3",
        (b"\r\n> ",),
        payload=b"\x08\x1a\x1b",
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    Case(
        "qisend-abc",
        "AT+QISEND",
        (b"\r\n> ",),
        payload=ABC,
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    Case(
        "qisend-heart",
        "AT+QISEND",
        (b"\r\n> ",),
        payload=b"Heart01",
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    *(
        Case(
            f"qisack-{ack}",
            "AT+QISACK",
            (frame(f"+QISACK: {ack}"), frame("OK")),
            final="OK",
            ok=True,
            lines=(f"+QISACK: {ack}",),
            stages=("OK",),
        )
        for ack in (
            "4, 4, 0",
            "17, 17, 0",
            "1448, 1448, 0",
            "1484,1448,36",
            "1484,1484,0",
            "1491,1491,0",
        )
    ),
    Case(
        "recv-direct",
        None,
        (b"\r\nRECV FROM:116.228.146.250:7070\r\nIPD36TCP:" + ABC, b"\r\n"),
        received=(ABC,),
    ),
    Case("qirdi", None, (frame("+QIRDI:0,1,0"),), urcs=("+QIRDI:0,1,0",)),
    Case(
        "qird",
        "AT+QIRD=0,1,0,1024",
        (b"\r\n+QIRD:116.228.146.250:7070,TCP,36\r\n" + ABC, frame("OK")),
        final="OK",
        ok=True,
        stages=("OK",),
        blocks=(ABC,),
    ),
    Case(
        "qiclose",
        "AT+QICLOSE",
        (frame("CLOSE OK"),),
        final="CLOSE OK",
        ok=True,
        stages=("CLOSE OK",),
    ),
    Case(
        "qideact",
        "AT+QIDEACT",
        (frame("DEACT OK"),),
        final="DEACT OK",
        ok=True,
        stages=("DEACT OK",),
    ),
    Case("creg-urc-1", None, (frame("+CREG: 1"),), urcs=("+CREG: 1",)),
    Case("creg-urc-5", None, (frame("+CREG: 5"),), urcs=("+CREG: 5",)),
    Case("cgreg-urc-1", None, (frame("+CGREG: 1"),), urcs=("+CGREG: 1",)),
    Case("cgreg-urc-5", None, (frame("+CGREG: 5"),), urcs=("+CGREG: 5",)),
    Case("creg-urc-cn", None, (frame("+CREG:1"),), urcs=("+CREG:1",)),
    Case("cerg-typo-cn", None, (frame("+CERG:5"),), urcs=("+CERG:5",)),
)

#: Facts of PROTOCOL.md beyond the seeds, as exchanges (the quirk tests add more by hand).
PROTOCOL_CASES: tuple[Case, ...] = (
    Case(
        "qilocip",
        "AT+QILOCIP",
        (frame("10.152.38.7"),),
        final="10.152.38.7",
        ok=True,
        stages=("10.152.38.7",),
    ),
    Case(
        "qiopen-mux",
        'AT+QIOPEN=0,"TCP","127.0.0.1",7007',
        (frame("OK"), frame("0, CONNECT OK")),
        mux=True,
        final="0, CONNECT OK",
        ok=True,
        stages=("OK", "0, CONNECT OK"),
    ),
    Case(
        "qiclose-mux",
        "AT+QICLOSE=0",
        (frame("0, CLOSE OK"),),
        mux=True,
        final="0, CLOSE OK",
        ok=True,
        stages=("0, CLOSE OK",),
    ),
    Case(
        "qistat-mux",
        "AT+QISTAT",
        (frame('+QISTAT: 0, "TCP", "127.0.0.1", 7007'), frame("OK")),
        mux=True,
        final="OK",
        ok=True,
        lines=('+QISTAT: 0, "TCP", "127.0.0.1", 7007',),
        stages=("OK",),
    ),
    Case(
        "qidnsgip",
        'AT+QIDNSGIP="localhost"',
        (frame("OK"), frame("127.0.0.1")),
        final="127.0.0.1",
        ok=True,
        stages=("OK", "127.0.0.1"),
    ),
    Case(
        "qpowd",
        "AT+QPOWD=1",
        (frame("NORMAL POWER DOWN"),),
        final="NORMAL POWER DOWN",
        ok=True,
        stages=("NORMAL POWER DOWN",),
    ),
    Case(
        "ati",
        "ATI",
        (frame("Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08"), frame("OK")),
        final="OK",
        ok=True,
        lines=("Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08"),
        stages=("OK",),
    ),
    Case(
        "gsn",
        "AT+GSN",
        (frame("861234567890123"), frame("OK")),
        final="OK",
        ok=True,
        lines=("861234567890123",),
        stages=("OK",),
    ),
    Case(
        "cme-3517",
        "AT+QIACT",
        (frame("+CME ERROR: 3517"),),
        final="+CME ERROR: 3517",
        ok=False,
        code=3517,
        stages=("+CME ERROR: 3517",),
    ),
    Case(
        "qird-udp-blocks",
        "AT+QIRD=0,1,0,1500",
        (
            b"\r\n+QIRD: 127.0.0.1:7007,UDP,5\r\nOK\r\nX",
            b"\r\n+QIRD: 127.0.0.1:7007,UDP,6\r\nCLOSED",
            frame("OK"),
        ),
        final="OK",
        ok=True,
        stages=("OK",),
        blocks=(b"OK\r\nX", b"CLOSED"),
    ),
    Case(
        "qisend-then-push",
        "AT+QISEND=5",
        (b"\r\n> ",),
        payload=b"Hello",
        after=(frame("SEND OK"), frame("+QIRDI: 0,1,0"), b"IPD5:Hello", b"\r\n"),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
        urcs=("+QIRDI: 0,1,0",),
        received=(b"Hello",),
    ),
)

CASES: tuple[Case, ...] = SEED_CASES + PROTOCOL_CASES
ALL_CASES: tuple[Case, ...] = CASES + tuple(with_echo(c) for c in CASES if c.command)

#: Unsolicited output a module may put between any two lines of a reply (PROTOCOL.md §3, §8,
#: §11, §13.4): URC lines and pushed data blocks, each with what it must come out as.
INTERRUPTIONS: tuple[tuple[bytes, tuple[str, ...], tuple[bytes, ...]], ...] = (
    (frame("RDY"), ("RDY",), ()),
    (frame("+CFUN: 1"), ("+CFUN: 1",), ()),
    (frame("+CPIN: READY"), ("+CPIN: READY",), ()),
    (frame("Call Ready"), ("Call Ready",), ()),
    (frame("SMS Ready"), ("SMS Ready",), ()),
    (frame("+CREG: 1"), ("+CREG: 1",), ()),
    (frame('+CREG: 1,"2842","0461"'), ('+CREG: 1,"2842","0461"',), ()),
    (frame("+CGREG: 5"), ("+CGREG: 5",), ()),
    (frame("CLOSED"), ("CLOSED",), ()),
    (frame("0, CLOSED"), ("0, CLOSED",), ()),
    (frame("0, CLOS"), ("0, CLOS",), ()),
    (frame("+PDP DEACT"), ("+PDP DEACT",), ()),
    (frame("+QIRDI: 0,1,0"), ("+QIRDI: 0,1,0",), ()),
    (frame("+QIRDI:0,1,0,1,36,36"), ("+QIRDI:0,1,0,1,36,36",), ()),
    (frame("UNDER_VOLTAGE WARNING"), ("UNDER_VOLTAGE WARNING",), ()),
    (frame("UNDER-VOLTAGE WARNNING"), ("UNDER-VOLTAGE WARNNING",), ()),
    (frame("OVER_VOLTAGE POWER DOWN"), ("OVER_VOLTAGE POWER DOWN",), ()),
    (frame("NORMAL POWER DOWN"), ("NORMAL POWER DOWN",), ()),
    (b"\r\nRECV FROM:10.0.0.1:7007\r\nIPD4TCP:OK\r\n", (), (b"OK\r\n",)),
    (b"\r\n+RECEIVE: 0, 5\r\nIPD5:ERROR", ("+RECEIVE: 0, 5",), (b"ERROR",)),
    (b"\r\nIPD6UDP:CLOSED\r\n", (), (b"CLOSED",)),
)


def interruption_allowed(case: Case, urc: bytes) -> bool:
    """False where the "URC" would really be the command's own answer."""
    name = case.command and spec_for(case.command).name
    if name == "+CPIN" and b"+CPIN" in urc:
        return False
    if name == "+CFUN" and b"+CFUN" in urc:
        return False
    return not (name == "+QPOWD" and b"POWER DOWN" in urc)


def boundaries(case: Case) -> list[tuple[str, int]]:
    """Every line boundary of the module's output where a URC may come."""
    spots = [("before", i) for i in range(len(case.before) + 1)]
    if case.payload is not None:
        spots += [("after", i) for i in range(len(case.after) + 1)]
    return spots


def insert(case: Case, where: Sequence[tuple[tuple[str, int], bytes]]):
    """The case's pieces with `where` = [((segment, index), bytes)] spliced in."""
    parts = {"before": list(case.before), "after": list(case.after)}
    for (segment, index), urc in sorted(where, key=lambda w: w[0], reverse=True):
        parts[segment].insert(index, urc)
    return parts["before"], parts["after"]


# -- properties (plain functions: the tests and bench/fuzz.py wrap them in @given) -------------
def check_chunking(case: Case, before_cuts: Sequence[int], after_cuts: Sequence[int]) -> None:
    """Any chunking of a valid exchange gives the same events."""
    steps = case.steps()
    _, whole = run(steps)
    cuts_by_feed = [before_cuts, after_cuts]
    _, chunked = run(steps, lambda i, data: cut(data, cuts_by_feed[min(i, 1)]))
    assert normalize(chunked) == normalize(whole), case.name


def check_session_chunking(cases_: Sequence[Case], cuts: Sequence[Sequence[int]]) -> None:
    """A whole session (several exchanges on one codec) chunked anyhow gives the same events."""
    steps = [step for case in cases_ for step in case.steps()]
    _, whole = run(steps)
    _, chunked = run(steps, lambda i, data: cut(data, cuts[i % len(cuts)] if cuts else ()))
    assert normalize(chunked) == normalize(whole), [c.name for c in cases_]
    assert [e for e in whole if isinstance(e, Final)] == [
        Final(c.final, 0, bool(c.ok), c.code) for c in cases_ if c.command
    ]


def check_interruptions(case: Case, where: Sequence[tuple[tuple[str, int], bytes]]) -> None:
    """URCs (and pushed data) at line boundaries never change the reply they interrupt."""
    where = [w for w in where if interruption_allowed(case, w[1])]
    _, base = run(case.steps())
    before, after = insert(case, where)
    _, events = run(case.steps(before, after))
    plain, mixed = summarize(base), summarize(events)
    assert mixed.reply() == plain.reply(), case.name
    expected = {raw: (urcs, data) for raw, urcs, data in INTERRUPTIONS}
    want_urcs = Counter(plain.urcs) + Counter(x for _, u in where for x in expected[u][0])
    want_data = Counter(r.payload for r in plain.received) + Counter(
        x for _, u in where for x in expected[u][1]
    )
    assert Counter(mixed.urcs) == want_urcs, case.name
    assert Counter(r.payload for r in mixed.received) == want_data, case.name
    assert not mixed.noise, case.name


def recover(codec: Codec) -> list[Event]:
    """What the channel does when things go quiet: frame gap, give up, assume command mode."""
    events: list[Event] = []
    for _ in range(4):
        events += codec.feed(b"\r\n", 0)
        events += codec.expire(0)
        events += codec.abort(0)
        codec.leave_data_mode()
    return events


#: The bound on unparsed bytes: a partial line, or the start of an expected echo.
BUFFER_BOUND = max(MAX_LINE, MAX_ECHO) + 1


def check_chaos(steps: Sequence[Step]) -> None:
    """Any bytes and any call order: only ProtocolError escapes, buffers stay bounded, and
    the codec still answers a plain AT afterwards (it never wedges)."""
    codec = Codec()
    for step in steps:
        try:
            op = step[0]
            if op == "begin":
                codec.begin(spec_for(step[1], mux=step[2], mode=step[3]))
            elif op == "feed":
                events = codec.feed(step[1], 0)
                assert all(isinstance(e, EVENT_TYPES) for e in events)
            elif op == "payload":
                codec.payload_sent(step[1])
            elif op == "escape":
                codec.escape_sent()
            elif op == "abort":
                codec.abort(0)
            elif op == "expire":
                codec.expire(0)
            elif op == "leave":
                codec.leave_data_mode()
            elif op == "reset":
                codec.reset()
        except ProtocolError:
            pass
        assert codec.buffered <= BUFFER_BOUND
        frame_ = codec._frame
        assert frame_ is None or len(frame_.data) <= MAX_FRAME
    recover(codec)
    assert not codec.data_mode and not codec.in_flight and not codec.awaiting_frame
    codec.begin(spec_for("AT"))
    # Echoed: whatever ATE the random bytes showed, an echoed answer is always one's own.
    final = [e for e in codec.feed(b"AT\r\r\nOK\r\n", 0) if isinstance(e, Final)]
    assert final == [Final("OK", 0, ok=True)]


def check_payload(kind: str, payload: bytes, cuts: Sequence[int]) -> None:
    """Length-framed payloads holding OK, CLOSED, ERROR, CR/LF, 0x1A, 0xFF are never
    misattributed: they come out whole, and the real final is still found."""
    n = len(payload)
    if kind == "receive":
        # +RECEIVE without a header: raw bytes that begin with an exact header line are
        # indistinguishable from one (the module frames nothing else); documented.
        headers = [b"IPD%d%s:" % (n, p) for p in (b"", b"TCP", b"UDP")]
        assume(not any(payload.startswith(h) for h in headers))
        assume(not re.match(rb"RECV FROM:\d{1,3}(\.\d{1,3}){3}:\d{1,5}[\r\n]", payload))
    if kind == "qird":
        steps = [
            ("begin", "AT+QIRD=0,1,0,1500", False, 0),
            ("feed", b"\r\n+QIRD: 127.0.0.1:7007,TCP,%d\r\n" % n + payload + b"\r\nOK\r\n"),
        ]
    elif kind == "ipd":
        steps = [
            ("begin", "AT+CSQ", False, 0),
            ("feed", b"\r\nRECV FROM:127.0.0.1:7007\r\nIPD%dTCP:" % n + payload + frame("OK")),
        ]
    elif kind == "receive":
        steps = [("feed", b"\r\n+RECEIVE: 0, %d\r\n" % n + payload + frame("CLOSED"))]
    elif kind == "echo":
        steps = [
            ("begin", f"AT+QISEND={n}", False, 0),
            ("feed", b"AT+QISEND=%d\r\r\n> " % n),
            ("payload", payload),
            ("feed", payload + frame("SEND OK")),
        ]
    else:  # transparent data mode
        steps = [
            ("begin", OPEN_TCP, False, 1),
            ("feed", frame("OK", "CONNECT") + payload),
        ]
    _, events = run(steps, lambda i, data: cut(data, cuts))
    s = summarize(events)
    if kind == "qird":
        assert s.blocks == [payload] and s.final == "OK" and s.finals == 1
    elif kind == "ipd":
        assert [r.payload for r in s.received] == [payload]
        assert s.received[0].peer == "127.0.0.1:7007" and s.final == "OK" and s.finals == 1
    elif kind == "receive":
        assert [r.payload for r in s.received] == [payload] and s.urcs[-1] == "CLOSED"
    elif kind == "echo":
        assert s.payload_echo == payload and s.final == "SEND OK" and s.finals == 1
    else:
        assert s.data == payload and s.final == "CONNECT"
        alerts = sum(payload.count(a) for a in (b"CLOSED", b"+PDP DEACT"))
        assert len(s.possible) == alerts
    assert not s.lines


# -- what a faithful module may send after the QISEND prompt (PROTOCOL.md §6, §14) -------------
#: The module's own answers after a payload; a payload that starts like one of them is the trap.
SEND_RESULTS = ("SEND OK", "SEND FAIL", "ERROR")
#: Payload beginnings that look like the module's own output after the prompt.
LOOKALIKE_STARTS = (b"S", b"SE", b"SEND", b"SEND OK", b"OK", b"ERROR", b"\r\n", b"\r\nSE", b"\r")


def send_exchange(payload: bytes, after: bytes, cuts: Sequence[int], urc: bytes = b""):
    """AT+QISEND=<n> with echo on: the echoed command and prompt, then `urc` and `after`
    (the module's bytes after the prompt) cut at `cuts`; the frame gap passes at the end if no
    final came (the channel's timer). Returns the summary and whether the gap was needed."""
    command = f"AT+QISEND={len(payload)}"
    codec = Codec()
    codec.begin(spec_for(command))
    events = codec.feed(command.encode() + b"\r\r\n> ", 0)
    codec.payload_sent(payload, echo=True)
    for chunk in cut(urc + after, cuts):
        events += codec.feed(chunk, 0)
    gap = not any(isinstance(e, Final) for e in events)
    if gap:
        events += codec.expire(0)
    return summarize(events), gap


def check_unechoed_payload(payload: bytes, result: str, cuts: Sequence[int], first) -> None:
    """A module that does not echo the payload (firmware, AT+QISDE=0) answers right after the
    prompt (maybe after a URC or pushed data, `first`): its answer is found whole under any
    chunking, however the payload begins, and no byte of it is taken for echo. Only bytes
    that could be the echo wait for the frame gap."""
    urc, urcs, data = first
    # Pushed data may end in CR LF or not (§14), so after it a payload of line ends alone reads
    # the same echoed or not: the one case no codec can tell.
    assume(payload.strip(b"\r\n") or not urc.endswith(b"\r\n") or not data)
    s, gap = send_exchange(payload, frame(result), cuts, urc)
    assert (s.final, s.finals, s.lines, s.payload_echo) == (result, 1, [], b""), s
    assert (s.urcs, [r.payload for r in s.received]) == (list(urcs), list(data)), s
    if not re.search(rb"[\r\n]", payload) and not data:
        assert not gap, "a payload without CR/LF never needs the frame gap to be told apart"


def check_echoed_payload(payload: bytes, result: str, cuts: Sequence[int], first) -> None:
    """The same payloads echoed (with a URC or pushed data possibly first) are echo, whole, and
    the answer after them is found without waiting for the frame gap."""
    urc, urcs, data = first
    s, gap = send_exchange(payload, payload + frame(result), cuts, urc)
    assert (s.final, s.finals, s.lines, s.payload_echo) == (result, 1, [], payload), s
    assert (s.urcs, [r.payload for r in s.received]) == (list(urcs), list(data)), s
    assert not gap


#: Lines a module may print before the echo of the command in flight: URCs, and the late
#: answer (with or without its echo) of a command the host gave up on.
BEFORE_ECHO = (
    frame("+CPIN: READY"),
    frame("+CREG: 1"),
    frame("Call Ready"),
    frame("+QIRDI: 0,1,0"),
    frame("OK"),
    frame("ERROR"),
    frame("+CME ERROR: 14"),
    frame("SEND OK"),
    b"AT\r" + frame("OK"),
    b"AT+CPIN?\r" + frame("+CPIN: READY", "OK"),
    b"AT+CSQ\r" + frame("+CSQ: 25,0", "OK"),
)


def check_before_echo(case: Case, noise: Sequence[bytes], cuts: Sequence[int]) -> None:
    """With echo on (shown by an earlier echoed `AT`), nothing before the command's echo is its
    answer: the reply is the same as without those lines, under any chunking."""
    assert case.echo and case.command
    noise = [n for n in noise if not n.startswith(case.command.encode() + b"\r")]
    prior = [("begin", "AT", False, 0), ("feed", b"AT\r" + frame("OK"))]
    _, base = run(prior + case.steps())
    before = (b"".join(noise) + case.before[0], *case.before[1:])
    _, mixed = run(prior + case.steps(before), lambda i, data: cut(data, cuts))
    assert summarize(mixed).reply() == summarize(base).reply(), case.name


def check_late_line_feed(first: Case, second: Case, at: int, cuts: Sequence[int]) -> None:
    """The LF of a final that ended in CR may come after the first bytes of the next echo (the
    echo overtook it): it is noise there, and both replies stay what they were."""
    assert first.echo and second.echo and first.payload is None and second.payload is None
    plain_steps = first.steps() + second.steps()
    _, plain = run(plain_steps)
    head = b"".join(first.before)
    assert head.endswith(b"\r\n")
    echo = second.before[0]
    at = 1 + at % (len(echo) - 1)  # inside the echo, after its first byte
    late = (echo[:at] + b"\n" + echo[at:], *second.before[1:])
    steps = first.steps((head[:-1],)) + second.steps(late)
    _, mixed = run(steps, lambda i, data: cut(data, cuts))
    finals = [(e.text, e.ok) for e in mixed if isinstance(e, Final)]
    assert finals == [(e.text, e.ok) for e in plain if isinstance(e, Final)]
    s = summarize(mixed)
    assert s.echo == summarize(plain).echo and s.lines == summarize(plain).lines
    assert s.noise == b"\n"


# -- strategies -------------------------------------------------------------------------------
def cases() -> st.SearchStrategy[Case]:
    return st.sampled_from(ALL_CASES)


positions = st.lists(st.integers(min_value=0, max_value=4096), max_size=12)


@st.composite
def chunked_cases(draw) -> tuple[Case, list[int], list[int]]:
    return draw(cases()), draw(positions), draw(positions)


#: A faithful module echoes every command or none (no ATE in between): one or the other.
ECHOED_CASES: tuple[Case, ...] = tuple(c for c in ALL_CASES if c.echo or c.command is None)
PLAIN_CASES: tuple[Case, ...] = tuple(c for c in ALL_CASES if not c.echo)
sessions = st.tuples(
    st.sampled_from([ECHOED_CASES, PLAIN_CASES]).flatmap(
        lambda cases_: st.lists(st.sampled_from(cases_), min_size=1, max_size=6)
    ),
    st.lists(positions, max_size=12),
)


@st.composite
def interrupted_cases(draw) -> tuple[Case, list[tuple[tuple[str, int], bytes]]]:
    case = draw(cases())
    spots = boundaries(case)
    where = draw(
        st.lists(
            st.tuples(st.sampled_from(spots), st.sampled_from([u for u, _, _ in INTERRUPTIONS])),
            min_size=1,
            max_size=4,
        )
    )
    return case, where


#: Pieces that steer random bytes into the codec's interesting states.
TOKENS = (
    b"\r\n",
    b"\r",
    b"\n",
    b"OK",
    b"ERROR",
    b"> ",
    b">",
    b"AT",
    b"IPD",
    b"IPD5:",
    b"IPD3TCP:",
    b"TCP:",
    b"RECV FROM:1.2.3.4:5\r\n",
    b"+RECEIVE: 0, 4\r\n",
    b"+QIRD: 1.2.3.4:5,TCP,3\r\n",
    b"+CME ERROR: 14",
    b"CONNECT",
    b"CONNECT OK",
    b"ALREADY CONNECT",
    b"CLOSED",
    b"+PDP DEACT",
    b"STATE: IP STATUS",
    b"+++",
    b"\r\nOK\r\n",
    b"\x1a",
    b"\xff",
    b"\x11",
    b"\x13",
    b"9" * 6,
)
COMMANDS = (
    "AT",
    "ATE1",
    "ATV0",
    "ATV1",
    "ATO",
    "AT+CREG?",
    "AT+CPIN?",
    OPEN_TCP,
    'AT+QIOPEN=0,"TCP","1.2.3.4",5',
    "AT+QISEND",
    "AT+QISEND=4",
    "AT+QISTAT",
    "AT+QISTATE",
    "AT+QILOCIP",
    "AT+QIDEACT",
    "AT+QICLOSE",
    "AT+QIRD=0,1,0,1500",
    "AT+QPOWD=1",
    'AT+QIDNSGIP="x"',
)
noisy_bytes = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=24)), max_size=24).map(
    b"".join
)
chaos_step = st.one_of(
    st.tuples(st.just("feed"), noisy_bytes),
    st.tuples(st.just("feed"), noisy_bytes),
    st.tuples(st.just("feed"), st.binary(max_size=64)),
    st.tuples(st.just("begin"), st.sampled_from(COMMANDS), st.booleans(), st.integers(0, 1)),
    st.tuples(st.just("payload"), st.binary(min_size=1, max_size=16)),
    st.sampled_from([("escape",), ("abort",), ("expire",), ("leave",), ("reset",)]),
)
chaos = st.lists(chaos_step, max_size=40)
#: Long garbage, to exercise the over-long-line and frame bounds.
long_chaos = st.lists(
    st.tuples(
        st.just("feed"),
        st.builds(
            lambda unit, extra: unit * (MAX_LINE // len(unit) + extra),
            st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=32)),
            st.integers(min_value=0, max_value=MAX_LINE),
        ),
    ),
    max_size=3,
)

#: Payload bytes that look like module output.
TRAPS = (
    b"OK",
    b"\r\nOK\r\n",
    b"ERROR",
    b"\r\nERROR\r\n",
    b"CLOSED",
    b"\r\n0, CLOSED\r\n",
    b"+PDP DEACT",
    b"SEND OK",
    b"\r\n+QIRD: 1.2.3.4:5,TCP,9\r\n",
    b"IPD3:",
    b"\r\n> ",
    b"\r",
    b"\n",
    b"\x1a",
    b"\xff",
    b"\x00",
    b"+++",
)
trap_payloads = st.lists(
    st.one_of(st.sampled_from(TRAPS), st.binary(max_size=16)), min_size=1, max_size=16
).map(b"".join)
payload_kinds = st.sampled_from(["qird", "ipd", "receive", "echo", "data"])

#: Payloads that begin like the module's own output after the prompt, then anything.
lookalike_payloads = st.builds(
    lambda start, tail: (start + tail)[:MAX_ECHO],
    st.sampled_from(LOOKALIKE_STARTS),
    trap_payloads | st.just(b""),
)
send_results = st.sampled_from(SEND_RESULTS)
#: Nothing, or one URC or pushed block (with what it must come out as) before the answer.
urc_first = st.sampled_from([(b"", (), ()), *INTERRUPTIONS])
echoed_cases = st.sampled_from(
    [c for c in ALL_CASES if c.echo and c.payload is None and c.command is not None]
)
