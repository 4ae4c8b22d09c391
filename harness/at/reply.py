"""What a command got back (`Reply`), and the command in flight the reader fills (`Pending`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from harness.clauses import clause as _clause
from harness.commands import ResultCode, limit_for, result_code
from harness.limits import Timing
from harness.protocol import CommandSpec, Echo, Event, Final, Kind, Prompt, QirdBlock
from harness.protocol import Line as LineEvent
from harness.protocol import Stage as StageEvent


@dataclass(frozen=True)
class Stage:
    """A result on the way to the final one, `elapsed` module seconds after the command."""

    text: str
    elapsed: float
    t_ns: int


@dataclass(frozen=True)
class Reply:
    """Everything a command got back; `elapsed` = last byte sent → final byte received."""

    command: str
    lines: list[str]
    final: str | None
    ok: bool
    stages: list[Stage]
    elapsed: float
    error_code: int | None = None
    data: bytes = b""
    blocks: list[QirdBlock] = field(default_factory=list)
    raw: bytes = b""
    sent_ns: int = 0
    final_ns: int | None = None
    echo: str | None = None

    @property
    def code(self) -> ResultCode | None:
        """The final as a result code, as printed (`+CME ERROR: 3` → ERROR; an address, a
        `STATE:` or a `<n>, ` link index → None): compare members, never the text."""
        return result_code(self.final, link_index=False)

    def timing(self, clause: str | None = None) -> Timing:
        """This reply's time judged against the command's documented limit."""
        result = limit_for(self.command).check(self.elapsed, self.command)
        if clause is not None:
            result = replace(result, clause=_clause(clause).id)
        return result


@dataclass(frozen=True)
class EscapeResult:
    """`+++`: `ok` = the module answered OK; `echoed` = it echoed `+++` (was in command mode)."""

    ok: bool
    echoed: bool
    elapsed: float


class Pending:
    """The command in flight, filled by the reader thread from the codec's events."""

    __slots__ = (
        "blocks",
        "echo",
        "escape_echoed",
        "final",
        "lines",
        "payload_ns",
        "prompted",
        "raw",
        "sent_ns",
        "spec",
        "stages",
    )

    def __init__(self, spec: CommandSpec) -> None:
        self.spec = spec
        self.sent_ns = 0
        self.payload_ns: int | None = None
        self.echo: str | None = None
        self.escape_echoed = False
        self.prompted = False
        self.lines: list[str] = []
        self.stages: list[tuple[str, int]] = []
        self.blocks: list[QirdBlock] = []
        self.raw = bytearray()
        self.final: Final | None = None

    def take(self, ev: Event) -> None:
        """One event of the command's own (echo, line, stage, prompt, block, final)."""
        if isinstance(ev, Echo):
            if ev.data == b"+++" and self.spec.kind is Kind.ESCAPE:
                self.escape_echoed = True
            elif not ev.payload:
                self.echo = ev.data.decode("ascii", "replace")
        elif isinstance(ev, LineEvent):
            self.lines.append(ev.text)
        elif isinstance(ev, StageEvent):
            self.stages.append((ev.text, ev.t_ns))
        elif isinstance(ev, Prompt):
            self.prompted = True
            self.stages.append((">", ev.t_ns))
        elif isinstance(ev, QirdBlock):
            self.blocks.append(ev)
        elif isinstance(ev, Final):
            self.final = ev
            self.stages.append((ev.text, ev.t_ns))

    def reply(self, scale: float, now_ns: int) -> Reply:
        """The Reply so far; `elapsed` runs to the final, or to `now_ns` without one."""
        start = self.payload_ns if self.payload_ns is not None else self.sent_ns
        final = self.final
        end = final.t_ns if final is not None else now_ns
        sent = self.sent_ns
        return Reply(
            self.spec.command,
            self.lines,
            final.text if final is not None else None,
            final is not None and final.ok,
            [Stage(text, (t - sent) / 1e9 / scale, t) for text, t in self.stages],
            (end - start) / 1e9 / scale,  # Clock.module_between, inlined: the hot path
            final.code if final is not None else None,
            b"".join([b.payload for b in self.blocks]) if self.blocks else b"",
            self.blocks,
            bytes(self.raw),
            start,
            final.t_ns if final is not None else None,
            self.echo,
        )
