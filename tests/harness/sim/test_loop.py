"""The module's event loop: posted calls, timers and tasks in module time, cancellation."""

from __future__ import annotations

import threading

import pytest

from harness.clock import Clock
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
