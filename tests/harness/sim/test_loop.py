"""The module's event loop: posted calls, timers and tasks in module time, cancellation."""

from __future__ import annotations

import os
import threading

import pytest

from harness.clock import Clock, stamp
from harness.sim.loop import Future, Loop


@pytest.fixture
def loop():
    lp = Loop(Clock(0.01))
    lp.start()
    yield lp
    lp.stop()
    assert not lp.errors


def test_call_returns_and_raises(loop):
    assert loop.call(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        loop.call(lambda: 1 / 0)


def test_timers_fire_in_due_order_and_can_be_cancelled(loop):
    seen: list[str] = []
    done = threading.Event()

    def arm():
        loop.call_later(2.0, lambda: (seen.append("late"), done.set()))
        loop.call_later(1.0, lambda: seen.append("early"))
        loop.call_later(1.5, lambda: seen.append("cancelled")).cancel()

    loop.call(arm)
    assert loop.clock.wait(done, 500)
    assert seen == ["early", "late"]


def test_tasks_sleep_wait_for_futures_and_cancel_by_group(loop):
    steps: list[str] = []
    future = Future()
    finished = threading.Event()

    def work():
        steps.append("start")
        yield 0.5
        steps.append("slept")
        yield future
        steps.append(future.value)
        finished.set()

    def forever():
        while True:
            yield 1.0

    task = loop.call(loop.spawn, work(), "g", "work")
    other = loop.call(loop.spawn, forever(), "h", "forever")
    threading.Thread(target=future.set, args=("delivered",)).start()
    assert loop.clock.wait(finished, 500)
    assert steps == ["start", "slept", "delivered"] and task.done
    loop.call(loop.cancel_group, "h")
    assert other.done and other.cancelled


def test_a_failing_task_is_recorded_not_fatal():
    lp = Loop(Clock(0.01))
    lp.start()

    def broken():
        yield 0.1
        raise RuntimeError("boom")

    done = threading.Event()
    task = lp.call(lp.spawn, broken(), "", "broken")
    task.on_done.append(lambda _: done.set())
    assert lp.clock.wait(done, 500)
    assert "boom" in lp.errors[0]
    assert lp.call(lambda: "still alive") == "still alive"
    lp.stop()


def test_a_task_sleeps_from_when_its_last_sleep_was_due_not_from_when_it_ran(loop):
    """A late wake-up is not added to the next sleep: the schedule never drifts."""
    clock = loop.clock
    start = stamp() - int(clock.to_wall(5.0) * 1e9)  # its input was read 5 module s ago
    dues: list[int] = []

    def work():
        yield 1.0
        yield 2.0

    def record(task):
        dues.append(task._timer.due_ns)

    done = threading.Event()

    def begin():
        task = loop.spawn(work(), "g", "work", start_ns=start)
        record(task)  # its first sleep, from `start`: due at once, 1 s after `start`
        task.on_done.append(lambda _t: done.set())
        return task

    task = loop.call(begin)
    wall = int(clock.to_wall(1.0) * 1e9)
    assert dues == [start + wall]
    assert clock.wait(done, 500)  # ran late (the first was due in the past), yet:
    assert task._base_ns == start + 3 * wall  # the second counted from the first's due time


def test_precise_timers_are_never_early(loop):
    clock = loop.clock
    fired: list[tuple[int, int]] = []
    done = threading.Event()

    def arm():
        for i in range(20):
            due = stamp() + int(clock.to_wall(0.05 * (i + 1)) * 1e9)
            loop.call_at(due, lambda due=due: fired.append((due, stamp())), precise=True)
        loop.call_at(due + 1, done.set, precise=True)

    loop.call(arm)
    assert clock.wait(done, 500)
    assert len(fired) == 20 and all(t >= due for due, t in fired)


def test_descriptors_are_watched_on_the_loop(loop):
    r, w = os.pipe()
    got: list[tuple[bytes, str]] = []
    done = threading.Event()

    def readable():
        got.append((os.read(r, 10), threading.current_thread().name))
        loop.remove_reader(r)
        done.set()

    loop.call(loop.add_reader, r, readable)
    os.write(w, b"ping")
    assert loop.clock.wait(done, 500)
    assert got == [(b"ping", loop.name)]
    os.close(r)
    os.close(w)
