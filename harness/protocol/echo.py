"""The echo of a QISEND payload: typed bytes coming back, or not at all (PROTOCOL.md §6, §14).

A state machine of its own: the echo may stop at a line of the module's and go on after it,
pushed data may come first, and bytes that could be either wait for the frame gap.
"""

from __future__ import annotations

import re
from enum import Enum, StrEnum

from harness.protocol.classify import EOL, LINE_END, common_prefix
from harness.protocol.events import MAX_ECHO, Echo, Event, Noise, Urc

_LEADING_EOL = re.compile(rb"\r?\n?")
#: What follows a payload echo: maybe its Ctrl+Z, then the CR LF of the module's next line.
_AFTER_ECHO = re.compile(rb"\x1a?(\r[\r\n]*)?")
CTRL_Z = 0x1A


class Progress(Enum):
    """What a reader made of the bytes at the front of the buffer."""

    WAIT = "wait"  # not decidable yet: more bytes (or the frame gap) will tell
    DONE = "done"  # consumed something; read on
    NO = "no"  # not this reader's bytes


class EchoState(StrEnum):
    NONE = "none"  # no payload echo is expected
    EXPECTED = "expected"  # the payload was typed: its echo may come now
    AFTER_BLOCK = "after block"  # pushed data came first: only a whole echo then a line counts
    PAUSED = "paused"  # a module line is being read: no echo inside it
    TAIL = "tail"  # the echo came; its Ctrl+Z may follow


# Bound once: an enum member lookup costs ~80 ns on Python 3.11 (the codec's hot loop).
_NONE, _EXPECTED, _AFTER_BLOCK = EchoState.NONE, EchoState.EXPECTED, EchoState.AFTER_BLOCK


class PayloadEcho:
    """Matches the bytes after the prompt against the payload typed (`expect()`)."""

    __slots__ = ("_want", "state")

    def __init__(self) -> None:
        self.state = EchoState.NONE
        self._want = b""

    def clear(self) -> None:
        self.state = _NONE
        self._want = b""

    def expect(self, payload: bytes) -> None:
        """The payload is being typed; its echo (if the module echoes) is looked for."""
        if payload:
            self._want = bytes(payload[:MAX_ECHO])
            self.state = EchoState.EXPECTED
        else:
            self.clear()

    @property
    def matching(self) -> bool:
        state = self.state
        return state is _EXPECTED or state is _AFTER_BLOCK

    def undecided(self, buf: bytearray) -> bool:
        """Bytes are held that may yet be the echo (the frame gap settles them)."""
        return self.matching and bool(buf)

    def tail(self, buf: bytearray, out: list[Event], t: int) -> bool:
        """After the echo: its Ctrl+Z may be echoed too (True: taken)."""
        if self.state is not EchoState.TAIL:
            return False
        self.state = EchoState.NONE
        if buf[0] != CTRL_Z:
            return False
        del buf[0]
        out.append(Echo(b"\x1a", t, payload=True))
        return True

    def match(self, buf: bytearray, numeric: bool, out: list[Event], t: int) -> Progress:
        """Is what follows the prompt the payload's echo? The module's own output starts a line
        with CR LF; the echo is the typed bytes, and a module may not echo them at all. NO
        pauses the echo: the module's line is read first."""
        want = self._want
        # Right after pushed data a CR LF may be that data's end or the start of a module line:
        # the echo may follow it, but only a whole echo followed by a new line counts then.
        strict = self.state is EchoState.AFTER_BLOCK
        skips = [0]
        if strict:
            m = _LEADING_EOL.match(buf)  # it matches anything, if only the empty string
            lead = m.end() if m else 0
            if lead == len(buf):
                return Progress.WAIT
            skips += [lead] if lead else []
        verdicts = [(self._at(buf, skip, strict, numeric), skip) for skip in skips]
        for verdict, skip in verdicts:
            if verdict is Progress.DONE:
                del buf[:skip]
                _take(buf, len(want), out, t)
                self._want = b""
                self.state = EchoState.TAIL
                return Progress.DONE
        if any(verdict is Progress.WAIT for verdict, _ in verdicts):
            return Progress.WAIT
        self.state = EchoState.PAUSED
        k = common_prefix(buf, want)
        if not strict and k and buf[k] in LINE_END and not EOL.search(buf, 0, k):
            # The echo stopped at a line of the module's (ESC, over-long input, a URC): the
            # rest may still be echoed after that line.
            _take(buf, k, out, t)
            self._want = want[k:]
        return Progress.NO

    def _at(self, buf: bytearray, skip: int, strict: bool, numeric: bool) -> Progress:
        """Whether the whole echo starts `skip` bytes in: DONE, WAIT (maybe), or NO."""
        want = self._want
        k = common_prefix(buf[skip:], want)
        if k < len(want):
            return Progress.WAIT if k == len(buf) - skip else Progress.NO
        if strict or (not numeric and EOL.search(want)):
            # An echo holding CR/LF could be the module's own lines: it is the echo only if a
            # new line of the module's (CR LF, text) follows it; it never runs into one.
            m = _AFTER_ECHO.match(buf, skip + k)
            assert m is not None  # every part of the pattern is optional
            if m.end() == len(buf):
                return Progress.WAIT
            if b"\n" not in (m.group(1) or b""):
                return Progress.NO
        return Progress.DONE

    def settle(self, buf: bytearray, out: list[Event], t: int) -> None:
        """The frame gap passed with bytes that could still be the echo: with a line end among
        or after them they are the module's line; else the module stopped echoing there."""
        strict = self.state is EchoState.AFTER_BLOCK
        k = common_prefix(buf, self._want)
        if strict or k < len(buf) or EOL.search(buf, 0, k) or not k:
            self.state = EchoState.PAUSED
            return
        _take(buf, k, out, t)
        self.clear()

    def after_block(self) -> None:
        """Pushed data came before the echo: the echo may still come after it."""
        if self.state is EchoState.PAUSED:
            self.state = EchoState.AFTER_BLOCK

    def after_line(self, produced: list[Event]) -> None:
        """A module line was read while the echo was paused: after a URC the echo may still
        come; after the module's answer it will not."""
        if self.state is not EchoState.PAUSED:
            return
        if all(isinstance(e, Urc | Noise) for e in produced):
            self.state = EchoState.EXPECTED
        else:
            self.clear()


def _take(buf: bytearray, k: int, out: list[Event], t: int) -> None:
    out.append(Echo(bytes(buf[:k]), t, payload=True))
    del buf[:k]
