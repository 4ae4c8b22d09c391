"""Command mode (the codec's LINES and ANNOUNCED states): lines, echoes, the prompt, IPD headers.

`LineReader` owns what only matters between lines: an LF that is due, a pending RECV FROM
line, the ERROR owed after ALREADY CONNECT, the command given up on. It reads the codec's
buffer and asks the codec for its transitions (a block, data mode, the end of a command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.commands import Kind, ResultCode
from harness.protocol import classify as c
from harness.protocol.blocks import Announced, Block, Framing, ipd_header
from harness.protocol.echo import EchoState, Progress
from harness.protocol.events import (
    MAX_FRAME,
    MAX_LINE,
    Absorbed,
    Echo,
    Event,
    Final,
    Line,
    Noise,
    Prompt,
    Stage,
    Urc,
    UrcKind,
)
from harness.protocol.replies import Effect, InFlight, Phase
from harness.protocol.spec import CommandSpec, spec_for
from harness.protocol.states import Reading

if TYPE_CHECKING:
    from harness.protocol.codec import Codec

OK, ERROR = ResultCode.OK.value, ResultCode.ERROR.value
LF, CR, SPACE, PROMPT, IPD = 0x0A, 0x0D, 0x20, 0x3E, 0x49
# Enum members bound once: a member lookup costs ~80 ns on Python 3.11, and this is the codec's
# hot loop (run for every byte chunk).
_LINES, _ANNOUNCED, _OVERLONG = Reading.LINES, Reading.ANNOUNCED, Reading.OVERLONG
_NO_ECHO, _PAUSED, _SENT = EchoState.NONE, EchoState.PAUSED, Phase.SENT
_WAIT, _DONE, _ESCAPE, _UNKNOWN = Progress.WAIT, Progress.DONE, Kind.ESCAPE, UrcKind.UNKNOWN


class LineReader:
    """Reads the codec's buffer in command mode, one step at a time."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.line_cr = False  # the last line ended in CR
        self.lf_owed = False  # a module line ended in CR: its LF is due (PROTOCOL.md §0)
        self.peer: str | None = None  # from a RECV FROM line, for the next IPD block
        self.absorb_error = False  # ALREADY CONNECT came: its ERROR is not the next answer
        self.abandoned: CommandSpec | None = None  # the command the caller gave up on

    def reset(self) -> None:
        self.peer = self.abandoned = None
        self.absorb_error = self.lf_owed = False

    def read(self, out: list[Event]) -> bool:
        """Read command-mode bytes: False when more bytes are needed, True when the buffer is
        empty or the codec left command mode (a block, data mode, an over-long line)."""
        codec = self.codec
        buf, payload, t = codec.buf, codec.payload, codec.t
        while buf:
            reading = codec.reading
            if reading is not _LINES and reading is not _ANNOUNCED:
                return True  # not command mode (any more)
            cmd = codec.cmd
            if self.lf_owed and buf[0] == LF:
                self.lf_owed = False  # the LF of the line that ended in CR
                del buf[0]
                continue
            if cmd is not None and cmd.space_due:
                cmd.space_due = False
                if buf[0] == SPACE:  # the space of "> " (PROTOCOL.md §6)
                    del buf[0]
                    continue
            if payload.state is not _NO_ECHO:  # a QISEND payload's echo is due
                if payload.tail(buf, out, t):
                    continue
                if payload.matching:
                    progress = payload.match(buf, codec.numeric, out, t)
                    if progress is _WAIT:
                        return False
                    if progress is _DONE:
                        continue
            if codec.announced is not None:
                header = codec.announced.header(buf)
                if header is _WAIT:
                    return False
                if isinstance(header, Block):
                    codec.to_block(header, out)
                continue
            b0 = buf[0]
            if b0 in (CR, LF):
                m = c.NOT_CRLF.search(buf)
                del buf[: m.start() if m else len(buf)]
                continue
            if not (0x20 <= b0 <= 0x7E or b0 == 0x09):
                m = c.NOISE_RUN.match(buf)  # b0 is noise: it matches
                end = m.end() if m else 1
                out.append(Noise(bytes(buf[:end]), t, "unframed bytes"))
                del buf[:end]
                continue
            if b0 == PROMPT and cmd is not None and cmd.awaiting_prompt and not codec.before_echo():
                del buf[0]
                cmd.prompted()
                out.append(Prompt(t))
                continue
            if b0 == IPD:  # maybe an IPD header, which has no line end
                header = ipd_header(buf, self.peer)
                if header is _WAIT:
                    return False
                if isinstance(header, Block):
                    self.peer = None
                    codec.to_block(header, out)
                    continue
            if not self._next_line(out):
                return False
        return True

    def _next_line(self, out: list[Event]) -> bool:
        """Read the line at the front of the buffer; False if it has not ended yet."""
        codec = self.codec
        buf = codec.buf
        m = c.EOL.search(buf)
        if m is None:
            if len(buf) > MAX_LINE:
                out.append(Noise(bytes(buf), codec.t, "over-long line"))
                buf.clear()
                codec.reading = _OVERLONG
            return False
        end = m.start()
        if self.lf_owed:
            self.lf_owed = False
            if buf[end] == LF:
                # The LF of the previous line arrived after bytes of the next one (the next
                # echo can overtake it): it ends nothing.
                del buf[end]
                out.append(Noise(b"\n", codec.t, "late line feed"))
                return True
        raw = bytes(buf[:end])
        self.line_cr = buf[end] == CR
        del buf[: end + 1]
        if end > MAX_LINE:
            out.append(Noise(raw, codec.t, "over-long line"))
            return True
        mark = len(out)
        if c.NOISE.search(raw):
            out.append(Noise(b"".join(c.NOISE.findall(raw)), codec.t, "control bytes in a line"))
            raw = c.NOISE.sub(b"", raw)
        text = raw.decode("ascii").strip()
        if text:
            self._line(text, out)
        self._after_line(out, mark)
        return True

    def _after_line(self, out: list[Event], mark: int) -> None:
        """Once a line is parsed: its LF is due, and an echo paused for it may go on if the
        line was unsolicited."""
        produced = out[mark:]
        last = produced[-1] if produced else None
        if (
            self.line_cr
            and not self.codec.numeric
            and isinstance(last, Final | Stage | Line | Urc | Absorbed)
            and not (isinstance(last, Urc) and last.kind is _UNKNOWN)  # bare data
            and self.codec.reading is _LINES
        ):
            self.lf_owed = True
        payload = self.codec.payload
        if payload.state is _PAUSED:
            payload.after_line(produced)

    # -- one line ------------------------------------------------------------------------------
    def _line(self, text: str, out: list[Event]) -> None:
        codec = self.codec
        t, cmd = codec.t, codec.cmd
        if self.absorb_error and cmd is None and text == ERROR:
            self.absorb_error = False
            out.append(Absorbed(text, t))
            return
        if text.startswith(c.RECV_FROM):
            self._flush_peer(out)
            self.peer = text[len(c.RECV_FROM) :].strip()
            return
        if self.peer is not None:
            self._flush_peer(out)
        if text[0] == "+" and self._header_line(text, out):
            return
        if cmd is None or cmd.spec.kind is _ESCAPE:
            if cmd is not None and text == OK:
                self._end(Final(OK, t, ok=True), out)
                return
            out.append(self._unsolicited(text))
            return
        if cmd.phase is _SENT and self._echo_line(cmd, text, out):
            return
        if codec.echo is True and not cmd.echoed:  # nothing before the echo is the answer
            out.append(self._unsolicited(text))  # e.g. +CPIN: READY at boot, a late OK
            return
        result = cmd.result(text, t, codec.numeric)
        if result is not None:
            cmd.answered()
            if result.effect is Effect.ABSORB_ERROR:
                self.absorb_error = True  # the M95 prints ERROR after it (§14)
            elif result.effect is Effect.DATA_MODE:
                codec.enter_data_mode(self.line_cr)  # TRANS-OPEN, ATO
            if isinstance(result.event, Final):
                self._end(result.event, out)
            else:
                out.append(result.event)
            return
        kind = c.urc_kind(text)
        if kind is not None and not c.own_reply(cmd.spec, text, kind):
            out.append(self._unsolicited(text, kind))
            return
        cmd.answered()
        cmd.info += 1
        out.append(Line(text, t))

    def _header_line(self, text: str, out: list[Event]) -> bool:
        """`+RECEIVE: <id>, <len>` or `+QIRD: <ip>:<port>,<proto>,<len>`: a block follows."""
        codec = self.codec
        m = c.RECEIVE.match(text)
        if m is not None and int(m.group(2)) <= MAX_FRAME:
            out.append(Urc(text, codec.t, UrcKind.RECEIVE))
            codec.announce(Announced(int(m.group(1)), int(m.group(2)), skip_lf=self.line_cr))
            return True
        m = c.QIRD.match(text)
        if m is not None and int(m.group(3)) <= MAX_FRAME:
            # Framed wherever it comes, so a late block's payload is never read as lines.
            length = int(m.group(3))
            block = Block(Framing.QIRD, length, m.group(1), m.group(2), skip_lf=self.line_cr)
            codec.to_block(block, out)
            return True
        return False

    def _echo_line(self, cmd: InFlight, text: str, out: list[Event]) -> bool:
        """A command line echoed (ATE1)? Ours, perhaps stuck to bare pushed data that had no
        line end (§8); or a late one of a command given up on, whose answer then follows it
        and is not ours either. False if `text` is no echo."""
        codec = self.codec
        i = c.echo_start(text, cmd.spec.command)
        if i is not None:
            if text[:i].strip():
                out.append(self._unsolicited(text[:i].strip()))
            cmd.echoed = True
            codec.echo = True
            out.append(Echo(text[i:].encode(), codec.t))
            return True
        if text[:2].upper() != "AT":
            return False
        # Echo is on (this echo shows it) unless that late line changed it.
        codec.echo = True if spec_for(text).setting("E") is None else None
        out.append(Urc(text, codec.t, UrcKind.STRAY))
        return True

    def _flush_peer(self, out: list[Event]) -> None:
        if self.peer is not None:
            out.append(Urc(f"{c.RECV_FROM}{self.peer}", self.codec.t, UrcKind.RECV_FROM))
            self.peer = None

    def _unsolicited(self, text: str, kind: UrcKind | None = None) -> Urc:
        codec = self.codec
        kind = kind or c.urc_kind(text) or _UNKNOWN
        if kind is UrcKind.LATE:
            m = c.CONNECTION.match(text)
            result = m.group(2) if m else ""
            if result == ResultCode.ALREADY_CONNECT:
                self.absorb_error = True
            elif result == ResultCode.CONNECT and self._abandoned_open:
                codec.enter_data_mode(self.line_cr)  # a transparent open given up on succeeded
        elif kind is UrcKind.RDY:
            codec.numeric = False  # a reboot restores the verbose default
            codec.echo = None  # ... and the stored ATE, which we may not know
            self.abandoned = None
        return Urc(text, codec.t, kind)

    @property
    def _abandoned_open(self) -> bool:
        return self.abandoned is not None and self.abandoned.kind is Kind.OPEN

    def _end(self, final: Final, out: list[Event]) -> None:
        """The command's final: it is over, and a basic command's settings hold if it took."""
        codec = self.codec
        spec = codec.cmd.spec if codec.cmd is not None else None
        codec.clear_command()
        if spec is not None and final.ok and spec.basic:
            v = spec.setting("V")
            if v is not None:
                codec.numeric = v == 0
            elif spec.resets:
                codec.numeric = False
            e = spec.setting("E")
            if e is not None:
                codec.echo = e == 1
            elif spec.resets:
                codec.echo = None
        out.append(final)
