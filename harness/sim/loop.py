"""The module's one thread of control: events from other threads, timers and tasks in module time.

Everything the simulated firmware does runs here, in order, so its state needs no locks. A task
is a generator that yields module seconds to sleep; timers and tasks can be cancelled by group
(power-off cancels the firmware's).
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from harness.clock import Clock, stamp

#: Wall seconds between checks that the loop is still alive while a caller waits on it.
_CALL_SLICE = 0.5

#: A firmware task: yields module seconds to sleep (or a Future to wait for), returns when done.
TaskGen = Generator[Any, None, Any]


class Timer:
    """A callback due at a `stamp()` time; `cancel()` stops it."""

    __slots__ = ("cancelled", "due_ns", "fn", "group")

    def __init__(self, due_ns: int, fn: Callable[[], None], group: str) -> None:
        self.due_ns = due_ns
        self.fn = fn
        self.group = group
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Future:
    """A result another thread delivers; a task yields it to wait (`set()` from any thread)."""

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

    def __init__(self, loop: Loop, gen: TaskGen, group: str, name: str) -> None:
        self.loop = loop
        self.gen = gen
        self.group = group
        self.name = name
        self.done = False
        self.cancelled = False
        self.on_done: list[Callable[[Task], None]] = []
        self._timer: Timer | None = None

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
            delay.then(lambda: self.loop.post(self._step))
            return
        self._timer = self.loop.call_later(float(delay), self._step, self.group)

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        self.loop._tasks.discard(self)
        for fn in self.on_done:
            fn(self)


class Loop:
    """A single thread running posted callbacks, due timers and tasks, all in module time."""

    def __init__(self, clock: Clock, name: str = "sim-module") -> None:
        self.clock = clock
        self.name = name
        self.errors: list[str] = []
        self._posted: deque[Callable[[], None]] = deque()
        self._timers: list[tuple[int, int, Timer]] = []
        self._tasks: set[Task] = set()
        self._seq = itertools.count()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- from any thread --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the loop thread soon (thread-safe)."""
        self._posted.append(lambda: fn(*args))
        self._wake.set()

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

    # -- on the loop thread -------------------------------------------------------------------
    def call_later(self, module_seconds: float, fn: Callable[[], None], group: str = "") -> Timer:
        due = stamp() + int(self.clock.to_wall(max(0.0, module_seconds)) * 1e9)
        return self.call_at(due, fn, group)

    def call_at(self, due_ns: int, fn: Callable[[], None], group: str = "") -> Timer:
        """Run `fn` when `stamp()` reaches `due_ns`."""
        timer = Timer(due_ns, fn, group)
        heapq.heappush(self._timers, (due_ns, next(self._seq), timer))
        self._wake.set()
        return timer

    def spawn(self, gen: TaskGen, group: str = "", name: str = "task") -> Task:
        """Start a task now; it runs until its first yield before this returns."""
        task = Task(self, gen, group, name)
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

    # -- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            while self._posted:
                self._guard(self._posted.popleft())
            now = stamp()
            while self._timers and self._timers[0][0] <= now:
                _, _, timer = heapq.heappop(self._timers)
                if not timer.cancelled:
                    self._guard(timer.fn)
                if self._posted:
                    break  # events that came meanwhile go first: they happened earlier
            if self._posted or self._stopping:
                continue
            wait = None
            if self._timers:
                wait = self.clock.to_module(max(0, self._timers[0][0] - stamp()) / 1e9)
            self.clock.wait(self._wake, wait)

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            self.errors.append(traceback.format_exc())
