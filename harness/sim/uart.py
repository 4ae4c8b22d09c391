"""The module's UART: the master side of a pseudo-terminal, one reader and one writer thread.

The host opens `port` (the slave) like /dev/ttyUSB0. Bytes the host writes are handed to
`on_input(data, host_rate, stamp_ns)`; `write()` queues bytes for the host, optionally paced,
and on a rough line (`RoughLine`) cut into random chunks with random gaps.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import tty
from collections import deque
from collections.abc import Callable

from harness.clock import Clock, stamp
from harness.sim.baud import host_rate
from harness.sim.rough import RoughLine

#: Wall seconds the writer waits for a host that reads nothing before the bytes are lost, as
#: they would be on a real UART nobody listens to.
WRITE_STALL_WALL = 2.0
#: Bytes per write when output is paced (one "burst" of the module's UART FIFO).
PACE_CHUNK = 16


class Uart:
    """A PTY pair the simulator owns; closed by `close()`."""

    def __init__(
        self,
        clock: Clock,
        on_input: Callable[[bytes, int, int], None],
        pace: Callable[[], int | None] = lambda: None,
        rough: RoughLine | None = None,
    ) -> None:
        self.clock = clock
        self._rough = rough
        self._on_input = on_input
        self._pace = pace  # bytes per module second now, or None for unpaced
        self._free_ns = 0  # stamp when the paced line is free again
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or line discipline before the host opens it
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self._slave)
        self.dropped = 0  # bytes lost because nobody read them
        self._out: deque[bytes] = deque()
        self._out_ready = threading.Event()
        self._stop_r, self._stop_w = os.pipe()
        self._closing = False
        self._reader = threading.Thread(target=self._read_loop, name="sim-uart-rx", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="sim-uart-tx", daemon=True)
        self._reader.start()
        self._writer.start()

    def host_rate(self) -> int:
        """The speed the host set on its side of the line, in bits per second."""
        return host_rate(self.master)

    def write(self, data: bytes) -> None:
        if data and not self._closing:
            self._out.append(bytes(data))
            self._out_ready.set()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        self._out_ready.set()
        for thread in (self._reader, self._writer):
            if thread is not threading.current_thread():
                thread.join()
        for fd in (self.master, self._slave, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- threads --------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master, self._stop_r], [], [])
            except (OSError, ValueError):
                return
            if self._stop_r in ready:
                return
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if data:
                self._on_input(data, self.host_rate(), stamp())

    def _write_loop(self) -> None:
        while not self._closing:
            if not self._out:
                self.clock.wait(self._out_ready, None)
                self._out_ready.clear()
                continue
            data = self._out.popleft()
            rate = self._pace()
            if self._rough is not None:
                for chunk, gap in self._rough.pieces(data):
                    if rate:
                        self._put_paced(chunk, rate)
                    else:
                        self._put(chunk)
                    if gap > 0:
                        self.clock.sleep(gap)
                continue
            step = PACE_CHUNK if rate else len(data)
            for i in range(0, len(data), step):
                chunk = data[i : i + step]
                if rate:
                    self._put_paced(chunk, rate)
                else:
                    self._put(chunk)

    def _put_paced(self, chunk: bytes, rate: int) -> None:
        """Send when the line is free, on a running schedule: a late wake-up is made up by the
        next chunk instead of adding up, so the line keeps its rate."""
        now = stamp()
        if self._free_ns > now:
            self.clock.sleep(self.clock.module_between(now, self._free_ns))
        else:
            self._free_ns = now  # an idle line gives no credit
        self._put(chunk)
        self._free_ns += int(self.clock.to_wall(len(chunk) / rate) * 1e9)

    def _put(self, data: bytes) -> None:
        deadline = self.clock.deadline(self.clock.to_module(WRITE_STALL_WALL))
        while data and not self._closing:
            try:
                data = data[os.write(self.master, data) :]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                if exc.errno != errno.EIO:
                    self.dropped += len(data)
                    return
            wall = deadline.wall_remaining()
            if not wall:
                self.dropped += len(data)
                return
            with contextlib.suppress(OSError, ValueError):
                select.select([self._stop_r], [self.master], [], wall)
