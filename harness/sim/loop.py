"""The module's one thread of control: timers, tasks, its file descriptors (the PTY, the sessions'
sockets) and calls from other threads, all in module time.

Everything the simulated firmware does runs here, in order, so its state needs no locks and no
other thread touches its PTY or sockets. A task is a generator that yields module seconds to
sleep (or a Future to wait for). A task's sleeps count from the moment its previous sleep was
due, not from when the loop got round to it, so its schedule never drifts; and its wake-ups are
*precise*: the loop stops sleeping `SPIN_WALL_NS` early and spins to the due time, because the
OS wakes a sleeping thread 0.05–0.3 ms late (and select() up to 0.1 % of its timeout late).
Timers and tasks can be cancelled by group (power-off cancels the firmware's).
"""

from __future__ import annotations

import contextlib
import heapq
import inspect
import itertools
import os
import select
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from harness.clock import Clock, stamp

#: Wall seconds between checks that the loop is still alive while a caller waits on it.
_CALL_SLICE = 0.5
#: Wall nanoseconds before a precise timer is due at which the loop stops sleeping and spins:
#: covers the OS's usual wake-up lateness (~0.1 ms, more on a busy host), and is all the CPU a
#: precise timer costs.
SPIN_WALL_NS = 400_000

#: A firmware task: yields module seconds to sleep (or a Future to wait for), returns when done.
TaskGen = Generator[Any, None, Any]


class Timer:
    """A callback due at a `stamp()` time; `cancel()` stops it."""

    __slots__ = ("cancelled", "due_ns", "fn", "group", "precise")

    def __init__(self, due_ns: int, fn: Callable[[], None], group: str, precise: bool) -> None:
        self.due_ns = due_ns
        self.fn = fn
        self.group = group
        self.precise = precise
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Future:
    """A result delivered later (a dial's outcome); a task yields it to wait. `set()` from any
    thread; callbacks run where `set()` is called."""

    def __init__(self) -> None:
        self.value: Any = None
        self._done = False
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def set(self, value: Any) -> None:
        with self._lock:
            self.value, self._done = value, True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn()

    def then(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if not self._done:
                self._callbacks.append(fn)
                return
        fn()


class Task:
    """A running generator; `done` is set when it returns, is cancelled or fails."""

    def __init__(self, loop: Loop, gen: TaskGen, group: str, name: str, start_ns: int) -> None:
        self.loop = loop
        self.gen = gen
        self.group = group
        self.name = name
        self.done = False
        self.cancelled = False
        self.on_done: list[Callable[[Task], None]] = []
        self._timer: Timer | None = None
        self._base_ns = start_ns  # when the last sleep was due: the next one counts from here

    def __repr__(self) -> str:
        return f"<Task {self.name} {'done' if self.done else 'running'}>"

    def cancel(self) -> None:
        if self.done:
            return
        self.cancelled = True
        if self._timer is not None:
            self._timer.cancel()
        if inspect.getgeneratorstate(self.gen) == inspect.GEN_RUNNING:
            return  # cancelled from inside itself: it ends at its next yield
        self.gen.close()
        self._finish()

    def _resume(self) -> None:
        """After a Future: the schedule starts again from now."""
        self._base_ns = stamp()
        self._step()

    def _step(self) -> None:
        if self.done:
            return
        try:
            delay = next(self.gen)
        except StopIteration:
            self._finish()
            return
        except Exception:
            self.loop.errors.append(f"task {self.name}: {traceback.format_exc()}")
            self._finish()
            return
        if self.cancelled:
            self.gen.close()
            self._finish()
            return
        if isinstance(delay, Future):
            delay.then(lambda: self.loop.post(self._resume))
            return
        wall = self.loop.clock.to_wall(max(0.0, float(delay)))
        self._base_ns += int(wall * 1e9)
        self._timer = self.loop.call_at(self._base_ns, self._step, self.group, precise=True)

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        self.loop._tasks.discard(self)
        for fn in self.on_done:
            fn(self)


class Loop:
    """A single thread running posted callbacks, due timers, tasks and file descriptor callbacks,
    all in module time."""

    def __init__(self, clock: Clock, name: str = "sim-module") -> None:
        self.clock = clock
        self.name = name
        self.errors: list[str] = []
        self._posted: deque[Callable[[], None]] = deque()
        self._timers: list[tuple[int, int, Timer]] = []
        self._tasks: set[Task] = set()
        self._readers: dict[int, Callable[[], None]] = {}
        self._writers: dict[int, Callable[[], None]] = {}
        self._seq = itertools.count()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._wake_lock = threading.Lock()  # the pipe is closed once, never written after
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- from any thread --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread (after the callback it is running) and close the wake-up pipe."""
        self._stopping = True
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._wake_lock:
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = -1

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the loop thread soon (thread-safe)."""
        self._posted.append(lambda: fn(*args))
        if threading.current_thread() is not self._thread:
            self._wake()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` on the loop thread and return its result (raises what it raised)."""
        thread = self._thread
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            return fn(*args)
        done = threading.Event()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:  # handed back to the caller
                box["error"] = exc
            done.set()

        self.post(run)
        while not self.clock.wait(done, self.clock.to_module(_CALL_SLICE)):
            if not thread.is_alive():
                raise RuntimeError("the simulated module's thread has stopped")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    # -- on the loop thread (or before it starts / after it stopped) ----------------------------
    def call_later(
        self, module_seconds: float, fn: Callable[[], None], group: str = "", precise: bool = False
    ) -> Timer:
        due = stamp() + int(self.clock.to_wall(max(0.0, module_seconds)) * 1e9)
        return self.call_at(due, fn, group, precise)

    def call_at(
        self, due_ns: int, fn: Callable[[], None], group: str = "", precise: bool = False
    ) -> Timer:
        """Run `fn` when `stamp()` reaches `due_ns` (`precise`: to a few µs, spinning)."""
        timer = Timer(due_ns, fn, group, precise)
        heapq.heappush(self._timers, (due_ns, next(self._seq), timer))
        return timer

    def spawn(
        self, gen: TaskGen, group: str = "", name: str = "task", start_ns: int | None = None
    ) -> Task:
        """Start a task now; it runs until its first yield before this returns. Its first sleep
        counts from `start_ns` (a past stamp, e.g. when its input was read) or from now."""
        task = Task(self, gen, group, name, stamp() if start_ns is None else start_ns)
        self._tasks.add(task)
        task._step()
        return task

    def cancel_group(self, group: str) -> None:
        """Cancel every timer and task of `group` (power-off cancels the firmware's)."""
        for task in [t for t in self._tasks if t.group == group]:
            task.cancel()
        for _, _, timer in self._timers:
            if timer.group == group:
                timer.cancel()

    def add_reader(self, fd: int, fn: Callable[[], None]) -> None:
        """Call `fn` on the loop whenever `fd` is readable (one callback per descriptor)."""
        self._readers[fd] = fn

    def remove_reader(self, fd: int) -> None:
        self._readers.pop(fd, None)

    def add_writer(self, fd: int, fn: Callable[[], None]) -> None:
        """Call `fn` on the loop whenever `fd` is writable (one callback per descriptor)."""
        self._writers[fd] = fn

    def remove_writer(self, fd: int) -> None:
        self._writers.pop(fd, None)

    # -- the thread -----------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._wake_lock:
            if self._wake_w >= 0:
                with contextlib.suppress(OSError):  # full: the loop is awake already
                    os.write(self._wake_w, b"x")

    def _run(self) -> None:
        while not self._stopping:
            while self._posted:
                self._guard(self._posted.popleft())
            timers = self._timers
            now = stamp()
            while timers and timers[0][0] <= now:
                _, _, timer = heapq.heappop(timers)
                if not timer.cancelled:
                    self._guard(timer.fn)
                if self._posted:
                    break  # events that came meanwhile go first: they happened earlier
            if self._posted or self._stopping:
                continue
            while timers and timers[0][2].cancelled:
                heapq.heappop(timers)
            wait: float | None = None
            if timers:
                due, _, timer = timers[0]
                left = due - stamp()
                if timer.precise:
                    if left <= SPIN_WALL_NS:
                        self._spin(due)
                        continue
                    # select() may wake up to 0.1 % of its timeout late (the kernel's slack for
                    # it): aim that much earlier too; the next, short wait is accurate
                    left -= SPIN_WALL_NS + left // 1000
                wait = max(0, left) / 1e9
            self._select(wait)

    def _spin(self, due_ns: int) -> None:
        """Busy-wait the last fraction of a millisecond to a precise timer (or a posted call).

        It keeps the GIL (at most SPIN_WALL_NS): polling instead, to let other threads in, makes
        them wait longer, for the switch interval (5 ms), when the poll takes the GIL back first.
        """
        while stamp() < due_ns and not self._posted and not self._stopping:
            pass

    def _select(self, wait: float | None) -> None:
        readers = [self._wake_r, *self._readers]
        try:
            readable, writable, _ = select.select(readers, list(self._writers), [], wait)
        except (OSError, ValueError):
            self.errors.append(traceback.format_exc())
            self._drop_closed()
            return
        for fd in readable:
            if fd == self._wake_r:
                with contextlib.suppress(OSError):
                    os.read(fd, 4096)
                continue
            fn = self._readers.get(fd)
            if fn is not None:
                self._guard(fn)
        for fd in writable:
            fn = self._writers.get(fd)
            if fn is not None:
                self._guard(fn)

    def _drop_closed(self) -> None:
        """Forget descriptors closed without being removed (a simulator bug, already recorded)."""
        for table in (self._readers, self._writers):
            for fd in list(table):
                try:
                    os.fstat(fd)
                except OSError:
                    del table[fd]

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            self.errors.append(traceback.format_exc())
