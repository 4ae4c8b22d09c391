"""A scripted module on the master side of a PTY, for channel and transport tests.

Rules say what to answer when the host has written some bytes; answers are bytes to write,
gates (threading.Event) to wait on, or callables. No sleeps: tests open gates instead.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.clock import Clock

#: Wall seconds a gate or a wait in this helper may take before the test is declared stuck.
STUCK = 10.0
_WALL = Clock(1.0)

Answer = bytes | threading.Event | Callable[[], object]


@dataclass
class Rule:
    expect: bytes
    answers: tuple[Answer, ...]
    times: int | None = 1  # None: every time
    hits: int = 0
    done: threading.Event = field(default_factory=threading.Event)


class Responder:
    """Answers the host's bytes on a PTY by script; `port` is the slave path to open."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._rules: list[Rule] = []
        self._pending = bytearray()  # host bytes no rule consumed yet
        self._all = bytearray()
        self._cond = threading.Condition()
        self._stop_r, self._stop_w = os.pipe()
        self._close_lock = threading.Lock()
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="pty-responder", daemon=True)
        self._thread.start()

    # -- script -------------------------------------------------------------------------------
    def on(self, expect: bytes | str, *answers: Answer, times: int | None = 1) -> Rule:
        """When the host has written `expect`, consume it and give `answers` in order."""
        if isinstance(expect, str):
            expect = expect.encode()
        rule = Rule(expect, answers, times)
        with self._cond:
            self._rules.append(rule)
            work = self._match()
        if work:  # the host already wrote it: answer from a helper thread
            threading.Thread(target=self._answer_all, args=(work,), daemon=True).start()
        return rule

    def send(self, data: bytes) -> None:
        """Write bytes to the host now (a URC, pushed data)."""
        os.write(self.master, data)

    @property
    def received(self) -> bytes:
        with self._cond:
            return bytes(self._all)

    def wait_for(self, data: bytes, wall_timeout: float = STUCK) -> bool:
        """Wait until the host has written `data` (anywhere in what it sent)."""
        deadline = _WALL.deadline(wall_timeout)
        with self._cond:
            while data not in self._all:
                left = deadline.wall_remaining()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def disappear(self) -> None:
        """Close the master side: to the host the device is gone (reads EOF/EIO)."""
        # The thread must leave select() first: a descriptor closed under a select() in
        # another thread stays open in the kernel until that select() returns.
        self._halt()
        with self._close_lock:  # a descriptor number closed twice may be someone else's
            if self.master >= 0:
                os.close(self.master)
                os.close(self._slave)
                self.master = -1

    def _halt(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        if self._thread is not threading.current_thread():
            self._thread.join(STUCK)

    def stop(self) -> None:
        self.disappear()
        with self._close_lock:
            if self._stop_r >= 0:
                os.close(self._stop_r)
                os.close(self._stop_w)
                self._stop_r = self._stop_w = -1

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            master = self.master
            if master < 0:
                return
            try:
                ready, _, _ = select.select([master, self._stop_r], [], [])
            except (OSError, ValueError):
                return
            if self._stop_r in ready:
                return
            try:
                data = os.read(master, 4096)
            except OSError:
                return  # no slave open right now, or closed
            if not data:
                return
            with self._cond:
                self._all += data
                self._pending += data
                self._cond.notify_all()
                work = self._match()
            self._answer_all(work)

    def _answer_all(self, work: list[tuple[Rule, tuple[Answer, ...]]]) -> None:
        for rule, answers in work:
            self._answer(rule, answers)

    def _match(self) -> list[tuple[Rule, tuple[Answer, ...]]]:
        """Consume host bytes for every rule that now matches (called with the lock held)."""
        work = []
        progress = True
        while progress:
            progress = False
            for rule in self._rules:
                i = self._pending.find(rule.expect)
                if i < 0:
                    continue
                del self._pending[: i + len(rule.expect)]
                rule.hits += 1
                if rule.times is not None and rule.hits >= rule.times:
                    self._rules.remove(rule)
                work.append((rule, rule.answers))
                progress = True
                break
        return work

    def _answer(self, rule: Rule, answers: tuple[Answer, ...]) -> None:
        for answer in answers:
            if isinstance(answer, bytes):
                with contextlib.suppress(OSError):
                    os.write(self.master, answer)
            elif isinstance(answer, threading.Event):
                if not _WALL.wait(answer, STUCK):
                    self.errors.append(f"gate for {rule.expect!r} never opened")
            else:
                answer()
        rule.done.set()
