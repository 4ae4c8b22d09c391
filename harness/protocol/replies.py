"""The command in flight and how its reply ends: one small reader per framing `Kind`.

`InFlight.result(text)` says whether a line is a stage or the final of the command in flight
(PROTOCOL.md §4–§12); the words are the registry's `ResultCode`s. A command of an existing
kind needs nothing here: its registry entry names the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple

from harness.commands import NUMERIC_RESULTS, NUMERIC_STATES, Kind, ResultCode
from harness.commands.words import STATE_PREFIX
from harness.protocol.classify import CLOSE_OK, CME, CONNECTION, IPV4, urc_kind
from harness.protocol.events import Final, Stage
from harness.protocol.spec import CommandSpec

OK, ERROR = ResultCode.OK.value, ResultCode.ERROR.value


class Phase(StrEnum):
    """How far the reply of the command in flight has come."""

    SENT = "sent"  # the command line is out; nothing of its reply yet
    ANSWERING = "answering"  # a line or result of the reply came
    STAGED = "staged"  # its first OK came; the final is still to come (QIOPEN, QISTAT …)
    PROMPTED = "prompted"  # AT+QISEND's `> `: the payload is typed now


class Effect(StrEnum):
    """What a result does to the line besides ending the command."""

    DATA_MODE = "data mode"  # CONNECT: transparent mode from the next byte (TRANS-OPEN)
    ABSORB_ERROR = "absorb error"  # ALREADY CONNECT: an M95 prints ERROR after it (§14)


class Result(NamedTuple):
    """A line read as a stage or final of the command in flight, and its effect."""

    event: Stage | Final
    effect: Effect | None = None


# Enum members bound once: a member lookup costs ~80 ns on Python 3.11, and this is the codec's
# hot loop (run for every byte chunk).
_SENT, _ANSWERING, _PROMPTED = Phase.SENT, Phase.ANSWERING, Phase.PROMPTED
_BASIC, _QIRD, _SEND = Kind.BASIC, Kind.QIRD, Kind.SEND


class InFlight:
    """The command in flight: its spec, its `Phase`, whether its echo came, its info lines."""

    __slots__ = ("echoed", "info", "phase", "space_due", "spec")

    def __init__(self, spec: CommandSpec) -> None:
        self.spec = spec
        self.phase = _SENT
        self.echoed = False  # its command line was echoed (ATE1)
        self.info = 0  # information lines so far
        self.space_due = False  # the space of `> ` may follow the prompt (PROTOCOL.md §6)

    @property
    def responded(self) -> bool:
        return self.phase is not _SENT

    @property
    def awaiting_prompt(self) -> bool:
        return self.spec.kind is _SEND and self.phase is not _PROMPTED

    def answered(self) -> None:
        """A line of the reply came (an information line, a stage, a final)."""
        if self.phase is _SENT:
            self.phase = _ANSWERING

    def prompted(self) -> None:
        self.phase = _PROMPTED
        self.space_due = True

    def result(self, text: str, t: int, numeric: bool) -> Result | None:
        """The stage or final `text` is for this command; None if it is neither."""
        spec, kind = self.spec, self.spec.kind
        if text == OK and (kind is _BASIC or kind is _QIRD):  # the common case first
            return Result(Final(text, t, ok=True))
        if len(text) == 1 and text.isdigit() and (numeric or spec.setting("V") is not None):
            if kind is Kind.STAT and self.phase is Phase.STAGED:
                n = int(text)  # ATV0 QISTAT: the state as a number (§1)
                state = NUMERIC_STATES[n].value if n < len(NUMERIC_STATES) else text
                return Result(Final(f"{STATE_PREFIX} {state}", t, ok=True))
            text = NUMERIC_RESULTS.get(int(text), text)
        if text == ERROR:
            return Result(Final(text, t, ok=False))
        m = CME.match(text)
        if m is not None:
            code = m.group(2).strip()
            return Result(Final(text, t, ok=False, code=int(code) if code.isdigit() else None))
        return _READERS[kind](self, text, t)

    def stage(self, text: str, t: int) -> Result:
        self.phase = Phase.STAGED
        return Result(Stage(text, t))

    def first_ok(self, text: str, t: int) -> Result | None:
        """The OK before the final is a stage; a second one is no result."""
        return self.stage(text, t) if text == OK and self.phase is not Phase.STAGED else None


Reader = Callable[[InFlight, str, int], Result | None]


def _finals(words: dict[str, bool]) -> Reader:
    """A kind whose reply ends with one of `words` (each: whether it is a success)."""

    def read(cmd: InFlight, text: str, t: int) -> Result | None:
        ok = words.get(text)
        return None if ok is None else Result(Final(text, t, ok=ok))

    return read


def _open(cmd: InFlight, text: str, t: int) -> Result | None:
    m = CONNECTION.match(text)
    if m is None:
        return cmd.first_ok(text, t)
    result = m.group(2)
    effect = None
    if result == ResultCode.ALREADY_CONNECT:
        effect = Effect.ABSORB_ERROR
    elif result == ResultCode.CONNECT:
        effect = Effect.DATA_MODE
    ok = result in (ResultCode.CONNECT_OK, ResultCode.CONNECT)
    return Result(Final(text, t, ok=ok), effect)


def _stat(cmd: InFlight, text: str, t: int) -> Result | None:
    if text == OK:
        if cmd.phase is Phase.STAGED or cmd.info:
            return Result(Final(text, t, ok=True))
        return cmd.stage(text, t)
    stated = cmd.spec.kind is Kind.STAT and not cmd.spec.mux and cmd.phase is Phase.STAGED
    if stated and text.startswith(STATE_PREFIX):
        return Result(Final(text, t, ok=True))
    return None


def _locip(cmd: InFlight, text: str, t: int) -> Result | None:
    if IPV4.match(text):
        return Result(Final(text, t, ok=True))
    return cmd.first_ok(text, t)


def _close(cmd: InFlight, text: str, t: int) -> Result | None:
    if CLOSE_OK.match(text) or text == OK:
        return Result(Final(text, t, ok=True))
    return None


def _dnsgip(cmd: InFlight, text: str, t: int) -> Result | None:
    if cmd.phase is not Phase.STAGED:
        return cmd.first_ok(text, t)
    if urc_kind(text) is None:
        return Result(Final(text, t, ok=bool(IPV4.match(text))))
    return None


def _online(cmd: InFlight, text: str, t: int) -> Result | None:
    if text == ResultCode.CONNECT:
        return Result(Final(text, t, ok=True), Effect.DATA_MODE)
    if text in (OK, ResultCode.NO_CARRIER):
        return Result(Final(text, t, ok=text == OK))
    return None


_READERS: dict[Kind, Reader] = {
    Kind.BASIC: _finals({OK: True}),
    Kind.QIRD: _finals({OK: True}),
    Kind.OPEN: _open,
    Kind.SEND: _finals({ResultCode.SEND_OK: True, ResultCode.SEND_FAIL: False, OK: True}),
    Kind.STAT: _stat,
    Kind.STATE: _stat,
    Kind.LOCIP: _locip,
    Kind.DEACT: _finals({ResultCode.DEACT_OK: True}),
    Kind.CLOSE: _close,
    Kind.POWD: _finals({ResultCode.NORMAL_POWER_DOWN: True, OK: True}),
    Kind.DNSGIP: _dnsgip,
    Kind.ONLINE: _online,
    Kind.ESCAPE: _finals({OK: True}),
}
