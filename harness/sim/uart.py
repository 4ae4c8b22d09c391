"""The module's UART: the master side of a pseudo-terminal, read and written on the module's loop.

The host opens `port` (the slave) like /dev/ttyUSB0. Bytes the host writes are handed to
`on_input(data, host_rate, stamp_ns)` as soon as the loop reads them; `write()` queues bytes for
the host, optionally paced, and on a rough line (`RoughLine`) cut into random chunks with random
gaps. Nothing here blocks the loop: a full PTY is waited for with the loop's writer callback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from harness.clock import Clock, stamp
from harness.sim.baud import host_rate
from harness.sim.loop import Loop, Timer
from harness.sim.rough import RoughLine

#: Wall seconds the UART waits for a host that reads nothing before the bytes are lost, as they
#: would be on a real UART nobody listens to.
WRITE_STALL_WALL = 2.0
#: Bytes per write when output is paced (one "burst" of the module's UART FIFO).
PACE_CHUNK = 16
#: Wall seconds between retries while the PTY reports EIO (no writer callback can tell when).
_EIO_RETRY_WALL = 0.01
#: Loop group of the UART's own timers (they outlive power-offs, as the line does).
UART = "uart"


@dataclass
class _Piece:
    """Bytes still to go, the silence after them (module seconds) and who wants to know when
    the last of them was written."""

    data: bytes
    gap: float
    written: Callable[[int], None] | None


class Uart:
    """A PTY pair the simulator owns; closed by `close()`. Runs on `loop`'s thread."""

    def __init__(
        self,
        clock: Clock,
        loop: Loop,
        on_input: Callable[[bytes, int, int], None],
        pace: Callable[[], int | None] = lambda: None,
        rough: RoughLine | None = None,
    ) -> None:
        self.clock = clock
        self._loop = loop
        self._rough = rough
        self._on_input = on_input
        self._pace = pace  # bytes per module second now, or None for unpaced
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or line discipline before the host opens it
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self._slave)
        self.dropped = 0  # bytes lost because nobody read them
        self._queue: deque[_Piece] = deque()
        self._free_ns = 0  # stamp when the paced line is free again
        self._resume_ns = 0  # no write before this stamp (a rough gap, the paced line busy)
        self._wakeup: Timer | None = None  # the pump's next turn (a gap, pacing, EIO)
        self._stall: Timer | None = None  # set while the host reads nothing
        self._waiting = False  # the loop's writer callback is armed
        self._closing = False
        loop.call(loop.add_reader, self.master, self._readable)

    def host_rate(self) -> int:
        """The speed the host set on its side of the line, in bits per second."""
        return host_rate(self.master)

    def write(self, data: bytes, written: Callable[[int], None] | None = None) -> None:
        """Queue bytes for the host (on the loop thread); `written(stamp_ns)` is called once
        their last byte is in the PTY, with the stamp taken just before that last write (after
        it, the loop may wait for the GIL while the host already reads); never if they are lost."""
        if not data or self._closing:
            return
        pieces = self._rough.pieces(data) if self._rough is not None else [(bytes(data), 0.0)]
        for i, (chunk, gap) in enumerate(pieces):
            self._queue.append(_Piece(chunk, gap, written if i == len(pieces) - 1 else None))
        if self._wakeup is None and not self._waiting:
            self._pump()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.call(self._forget)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _forget(self) -> None:
        self._loop.remove_reader(self.master)
        self._loop.remove_writer(self.master)
        for timer in (self._wakeup, self._stall):
            if timer is not None:
                timer.cancel()
        self._queue.clear()

    # -- on the loop ------------------------------------------------------------------------------
    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError:
            self._loop.remove_reader(self.master)
            return
        t_ns = stamp()
        if data:
            self._on_input(data, self.host_rate(), t_ns)

    def _writable(self) -> None:
        self._loop.remove_writer(self.master)
        self._waiting = False
        self._pump()

    def _pump(self) -> None:
        """Write what is due; come back (timer or writer callback) for the rest."""
        self._wakeup = None
        while self._queue and not self._closing:
            now = stamp()
            if self._resume_ns > now:
                self._wakeup = self._loop.call_at(self._resume_ns, self._pump, UART)
                return
            piece = self._queue[0]
            rate = self._pace()
            size = PACE_CHUNK if rate and self._rough is None else len(piece.data)
            if rate:
                # a running schedule: a late turn is made up by this chunk (up to one chunk's
                # time); a line idle for longer gives no credit
                late_ns = now - self._free_ns
                if late_ns > self.clock.to_wall(PACE_CHUNK / rate) * 1e9:
                    self._free_ns = now
            before = stamp()  # a final's moment: the harness cannot see its bytes any sooner
            sent = self._put(piece.data[:size])
            if sent is None:
                return  # the host is not reading: the writer callback or a timer resumes
            if rate and sent:
                self._free_ns += int(self.clock.to_wall(sent / rate) * 1e9)
                self._resume_ns = self._free_ns
            piece.data = piece.data[sent:]
            if piece.data:
                continue
            self._queue.popleft()
            if piece.written is not None:
                piece.written(before)
            if piece.gap > 0:
                gap_ns = int(self.clock.to_wall(piece.gap) * 1e9)
                self._resume_ns = max(self._resume_ns, stamp() + gap_ns)

    def _put(self, chunk: bytes) -> int | None:
        """Write what the PTY takes now; None if it takes nothing yet (the pump waits)."""
        try:
            sent = os.write(self.master, chunk)
        except BlockingIOError:
            self._blocked(eio=False)
            return None
        except OSError as exc:
            if exc.errno == errno.EIO:
                self._blocked(eio=True)
                return None
            self._lose()
            return 0
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        return sent

    def _blocked(self, eio: bool) -> None:
        if self._stall is None:
            self._stall = self._loop.call_later(
                self.clock.to_module(WRITE_STALL_WALL), self._stalled, UART
            )
        if eio:
            self._wakeup = self._loop.call_later(
                self.clock.to_module(_EIO_RETRY_WALL), self._pump, UART
            )
        else:
            self._waiting = True
            self._loop.add_writer(self.master, self._writable)

    def _stalled(self) -> None:
        """Nobody read for WRITE_STALL_WALL: the bytes in hand are lost."""
        self._stall = None
        self._loop.remove_writer(self.master)
        self._waiting = False
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._lose()
        self._pump()

    def _lose(self) -> None:
        if self._queue:
            self.dropped += len(self._queue.popleft().data)
