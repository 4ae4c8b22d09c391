"""A serial port that can be unplugged and plugged back: a PTY bridged to the simulator's PTY,
reached through a stable link (like /dev/serial/by-id/…).

`unplug()` closes the PTY's master, so the harness's next read or write fails the way a pulled
USB adapter does (EIO), and removes the link; `plug()` makes a new PTY (a new /dev/pts/N, as a
replugged adapter gets a new ttyUSBn) and points the same link at it. The bridge copies bytes
both ways and mirrors the host's line speed onto the simulator's side, which is how the
simulator knows the host's baud rate.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from pathlib import Path


class UnpluggablePort:
    def __init__(self, target: str, link: Path) -> None:
        self.link = Path(link)
        self.target = os.open(target, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.target)
        self.master: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.plugs = 0
        self.plug()

    @property
    def path(self) -> str:
        return str(self.link)

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._bridge, args=(master, self._stop), daemon=True)
        self._thread.start()
        self.plugs += 1

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = None

    def close(self) -> None:
        self.unplug()
        with contextlib.suppress(OSError):
            os.close(self.target)

    def _mirror_speed(self, master: int) -> None:
        try:
            host = termios.tcgetattr(master)
            here = termios.tcgetattr(self.target)
            if (host[4], host[5]) != (here[4], here[5]):
                here[4], here[5] = host[4], host[5]
                termios.tcsetattr(self.target, termios.TCSANOW, here)
        except (termios.error, OSError):
            pass

    def _bridge(self, master: int, stop: threading.Event) -> None:
        while not stop.is_set():
            self._mirror_speed(master)
            try:
                ready, _, _ = select.select([master, self.target], [], [], 0.002)
            except (OSError, ValueError):
                return
            for src, dst in ((master, self.target), (self.target, master)):
                if src not in ready:
                    continue
                try:
                    data = os.read(src, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    if src == master:  # nobody holds the slave side right now
                        continue
                    return
                if src == master:
                    self._mirror_speed(master)
                self._write(dst, data, stop)

    @staticmethod
    def _write(fd: int, data: bytes, stop: threading.Event) -> None:
        view = memoryview(data)
        while view and not stop.is_set():
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                select.select([], [fd], [], 0.01)
            except OSError:
                return


def station_class(link: Path, holder: list):
    """A Station whose simulator is reached through an UnpluggablePort at `link`; the port is
    appended to `holder` once the station starts."""
    from harness.module_backend import SimulatorBackend
    from harness.station import Station

    class SimThroughPort(SimulatorBackend):
        unpluggable: UnpluggablePort | None = None

        def start(self):
            super().start()
            self.unpluggable = UnpluggablePort(self.sim.port, link)
            holder.append(self.unpluggable)
            return self

        @property
        def port(self) -> str | None:
            return self.unpluggable.path if self.unpluggable is not None else None

        def closers(self):
            closers = super().closers()
            if self.unpluggable is not None:
                closers.insert(0, ("unplug the port", self.unpluggable.close))
            return closers

    class UnpluggableStation(Station):
        def __init__(self, rig, run_dir, **kwargs) -> None:
            super().__init__(rig, run_dir, **kwargs)
            sim = self.module_backend
            self.module_backend = SimThroughPort(rig, sim.clock, sim.state_dir, sim.mutations)

    return UnpluggableStation


if __name__ == "__main__":  # pragma: no cover - a manual check: bridge a PTY to a link
    p = UnpluggablePort(sys.argv[1], Path(sys.argv[2]))
    print(p.path, "→", os.readlink(p.path))
    threading.Event().wait()
