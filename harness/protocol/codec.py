"""The codec: bytes in (any chunking), typed events out, in named states.

Like h11 it has no threads, no I/O and no clock: the channel says which command is in flight
(`Codec.begin(spec_for(cmd))`), feeds bytes with their arrival stamp, and signals timeouts.
What the bytes are read as is `Codec.reading`; each state's reading lives in its own module
(`lines`, `blocks`, `datamode`).
"""

from __future__ import annotations

from harness.commands import Kind, ResultCode
from harness.protocol.blocks import Announced, Block
from harness.protocol.classify import EOL
from harness.protocol.datamode import DataStream, Escaped
from harness.protocol.echo import PayloadEcho
from harness.protocol.events import Echo, Event, Final, Noise, ProtocolError
from harness.protocol.lines import LineReader
from harness.protocol.replies import InFlight
from harness.protocol.spec import ESCAPE_SPEC, CommandSpec
from harness.protocol.states import Reading

# Enum members bound once: a member lookup costs ~80 ns on Python 3.11, and this is the codec's
# hot loop (run for every byte chunk).
_LINES, _OVERLONG, _ANNOUNCED = Reading.LINES, Reading.OVERLONG, Reading.ANNOUNCED
_BLOCK, _DATA = Reading.BLOCK, Reading.DATA


class Codec:
    """The AT reply parser: `begin(spec)`, `feed(bytes, t_ns) -> events`, signals for timeouts.

    Never raises on any input bytes; only API misuse raises `ProtocolError`. All buffers are
    bounded; a length-framed block that stops short is ended by `expire()`. `buf`, `t`, `cmd`,
    `payload`, `announced` and the transitions below the API are its readers' (package-internal).
    """

    def __init__(self, *, numeric: bool = False) -> None:
        self.numeric = numeric  # ATV0: result codes are digits
        self.echo: bool | None = None  # ATE as the module has shown it; None: not known
        self.reading = Reading.LINES
        self.buf = bytearray()  # bytes not read yet
        self.t = 0  # the arrival stamp of the bytes being read
        self.cmd: InFlight | None = None  # the command in flight
        self.payload = PayloadEcho()  # its QISEND payload's echo
        self.announced: Announced | None = None  # ANNOUNCED's announcement
        self._block: Block | None = None  # BLOCK's block
        self._data = DataStream()  # DATA's stream
        self._lines = LineReader(self)  # LINES and ANNOUNCED

    # -- what the channel asks -----------------------------------------------------------------
    @property
    def spec(self) -> CommandSpec | None:
        return self.cmd.spec if self.cmd is not None else None

    @property
    def in_flight(self) -> bool:
        return self.cmd is not None

    @property
    def data_mode(self) -> bool:
        return self.reading is _DATA

    @property
    def awaiting_frame(self) -> bool:
        """Bytes are held that only the frame gap can settle (the channel runs its timer): a
        length-framed payload being collected, or bytes that may yet be the payload's echo."""
        framed = self.reading is _BLOCK or self.reading is _ANNOUNCED
        return framed or self.payload.undecided(self.buf)

    @property
    def lf_due(self) -> bool:
        """A module line ended in CR and its LF has not come yet: writing now could put the
        next command's echo before that LF (the channel waits a moment for it)."""
        return self._lines.lf_owed

    @property
    def absorbing(self) -> bool:
        """`ALREADY CONNECT` was the answer and its trailing `ERROR` has not come yet (§14)."""
        return self._lines.absorb_error

    @property
    def buffered(self) -> int:
        """Bytes held unparsed: at most a partial line (MAX_LINE) or a partial echo (MAX_ECHO)."""
        return len(self.buf)

    @property
    def collecting(self) -> int:
        """Payload bytes of the block being collected (at most MAX_FRAME)."""
        return len(self._block.data) if self._block is not None else 0

    # -- what the channel tells ----------------------------------------------------------------
    def begin(self, spec: CommandSpec) -> None:
        """The command line of `spec` is about to be written."""
        if not isinstance(spec, CommandSpec):
            raise ProtocolError(f"begin() needs a CommandSpec from spec_for(), not {spec!r}")
        if self.cmd is not None:
            raise ProtocolError(
                f"{spec.command!r} begun while {self.cmd.spec.command!r} is still in flight "
                "(ORDER: wait for each final answer, or abort() first)"
            )
        if self.data_mode:
            raise ProtocolError(f"{spec.command!r} begun in data mode: escape with +++ first")
        self.clear_command()
        self._lines.absorb_error = False
        self.cmd = InFlight(spec)

    def payload_sent(self, payload: bytes, *, echo: bool | None = None) -> None:
        """The QISEND payload is being typed after the prompt; its echo is expected if echo
        is on (`echo=None`: as the command line's own echo showed)."""
        cmd = self.cmd
        if cmd is None or cmd.spec.kind is not Kind.SEND or cmd.awaiting_prompt:
            raise ProtocolError("payload_sent() without an AT+QISEND prompt in flight")
        if cmd.echoed if echo is None else echo:
            self.payload.expect(payload)
        else:
            self.payload.clear()

    def escape_sent(self) -> None:
        """`+++` was written in data mode; look for `OK` or its echo (TRANS-ESC, TRANS-CLOSED)."""
        if not self.data_mode:
            raise ProtocolError("escape_sent() outside data mode")
        if self.cmd is not None:
            raise ProtocolError("escape_sent() while a command is in flight")
        self.clear_command()
        self.cmd = InFlight(ESCAPE_SPEC)

    def feed(self, data: bytes, t_ns: int) -> list[Event]:
        """Parse `data` that arrived at `t_ns`; return the events it completes."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProtocolError(f"feed() takes bytes, not {type(data).__name__}")
        self.t = t_ns
        self.buf += data
        out: list[Event] = []
        self._process(out)
        return out

    def expire(self, t_ns: int) -> list[Event]:
        """The frame gap passed: end a length-framed block that stopped short, and settle bytes
        that might have been the payload's echo (an echo streams back as it is typed)."""
        self.t = t_ns
        out: list[Event] = []
        if self.payload.undecided(self.buf):
            self.payload.settle(self.buf, out, t_ns)
        if self.announced is not None:  # undecided: what is buffered is the raw payload
            self.to_block(self.announced.unframed(), out)
            if self.buf and self._block is not None:
                self._fill(out)
        if self._block is not None:
            self._finish_block(out, complete=False)
        self._process(out)
        return out

    def abort(self, t_ns: int) -> list[Event]:
        """The caller gave up on the command in flight; later results of it become URCs."""
        self.t = t_ns
        spec = self.spec
        if spec is not None and spec.kind is not Kind.ESCAPE:
            self._lines.abandoned = spec
        self.clear_command()
        out: list[Event] = []
        self._process(out)  # data held back while looking for the escape's OK goes out now
        return out

    def leave_data_mode(self) -> None:
        """The module is in command mode now (an escape was answered, or it echoed `+++`)."""
        if self.reading is Reading.DATA:
            self.reading = Reading.LINES
        if self._escaping:
            self.clear_command()

    def reset(self) -> None:
        """Forget modes and framing state (after a reboot). A command in flight stays in flight
        (its caller's timeout ends it); unparsed bytes stay too."""
        self.numeric = False
        self.echo = None
        self.reading = Reading.LINES
        self._block = self.announced = None
        self._lines.reset()
        self._data.reset()
        if self._escaping:
            self.clear_command()

    # -- transitions (the readers') ------------------------------------------------------------
    @property
    def _escaping(self) -> bool:
        return self.cmd is not None and self.cmd.spec.kind is Kind.ESCAPE

    def clear_command(self) -> None:
        self.cmd = None
        self.payload.clear()

    def before_echo(self) -> bool:
        """With echo on, nothing before the command's echo is its answer."""
        return self.echo is True and not (self.cmd is not None and self.cmd.echoed)

    def announce(self, announced: Announced) -> None:
        self.announced = announced
        self.reading = Reading.ANNOUNCED

    def to_block(self, block: Block, out: list[Event]) -> None:
        self.announced = None
        self._block = block
        self.reading = Reading.BLOCK
        if block.length == 0:
            self._finish_block(out, complete=True)

    def enter_data_mode(self, lf_due: bool) -> None:
        """CONNECT: transparent mode; `lf_due`: its line ended in CR, its LF is no data."""
        self.reading = Reading.DATA
        self._data.enter(lf_due)

    def _fill(self, out: list[Event]) -> bool:
        assert self._block is not None
        if not self._block.fill(self.buf):
            return False
        self._finish_block(out, complete=True)
        return True

    def _finish_block(self, out: list[Event], complete: bool) -> None:
        block, self._block = self._block, None
        assert block is not None
        self.reading = Reading.LINES
        self.payload.after_block()  # pushed data before the echo: the echo may still come
        out.append(block.event(self.t, complete))

    # -- the byte loop -------------------------------------------------------------------------
    def _process(self, out: list[Event]) -> None:
        buf = self.buf
        while buf:
            reading = self.reading
            if reading is _OVERLONG:
                m = EOL.search(buf)
                end = m.start() if m else len(buf)
                if end:
                    out.append(Noise(bytes(buf[:end]), self.t, "over-long line"))
                del buf[: end + 1 if m else end]
                if m is not None:
                    self.reading = _LINES
            elif reading is _BLOCK:
                if not self._fill(out):
                    return
            elif reading is _DATA:
                if not self._read_data(out):
                    return
            elif not self._lines.read(out):
                return

    def _read_data(self, out: list[Event]) -> bool:
        got = self._data.read(self.buf, self._escaping, out, self.t)
        if isinstance(got, bool):
            return got
        self.reading = _LINES
        if got is Escaped.OK:
            self._lines.lf_owed = not self.numeric
            self.clear_command()
            out.append(Final(ResultCode.OK.value, self.t, ok=True))
        else:  # the module was already in command mode and echoed "+++" (TRANS-CLOSED)
            out.append(Echo(b"+++", self.t))
        return True
