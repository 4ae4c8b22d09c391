"""Codec test material: how the module frames lines, what a run produced, a scripted runner,
and the `Case` an exchange is written as.

The seed exchanges are in `_at_seeds`, the properties in `_at_checks`, the hypothesis strategies
in `_at_strategies`; tests/harness/conftest.py puts this directory on sys.path (bench/fuzz.py
loads the four by path).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from harness.protocol import (
    EVENT_TYPES,
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


# -- feeding one codec --------------------------------------------------------------------------
def feed(codec: Codec, *chunks: bytes) -> list:
    """Feed `chunks` in order, stamped 0, 1, 2 …; every event."""
    events = []
    for i, chunk in enumerate(chunks):
        events += codec.feed(chunk, i)
    return events


def exchange(command: str, *chunks: bytes, codec: Codec | None = None, mux=False, mode=0):
    """`command` begun, `chunks` fed: the codec and the summary of its events."""
    codec = codec or Codec()
    codec.begin(spec_for(command, mux=mux, mode=mode))
    return codec, summarize(feed(codec, *chunks))
