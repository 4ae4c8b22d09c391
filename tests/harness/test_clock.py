"""harness/clock.py: module time with a scale, conversions, deadlines, waits that can be cut short.

Waits are checked from below (a sleep lasts at least its time) and by outcome (a cancelled
sleep says so); nothing asserts that the machine is fast.
"""

import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.clock import MAX_SCALE, MIN_SCALE, Clock, Deadline, epoch, epoch_of, stamp

NS = 1_000_000_000
#: A wait the tests expect to be cut short: long enough that finishing it means the cut failed.
NEVER = 10_000.0

scales = st.floats(min_value=MIN_SCALE, max_value=MAX_SCALE)
module_seconds = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)


def ago(clock: Clock, module_s: float) -> int:
    """The `stamp()` value `module_s` module seconds before now."""
    return stamp() - round(clock.to_wall(module_s) * NS)


# -- scale -------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [MIN_SCALE, 0.02, 0.5, MAX_SCALE])
def test_scales_inside_the_range_are_kept(scale):
    assert Clock(scale).scale == scale
    assert isinstance(Clock(1).scale, float)


@pytest.mark.parametrize("scale", [0.0, -0.02, MIN_SCALE / 2, 1.0001, 50.0, math.nan, math.inf])
def test_scales_outside_the_range_are_refused_with_the_range_and_an_example(scale):
    with pytest.raises(ValueError) as e:
        Clock(scale)
    message = str(e.value)
    assert repr(scale) in message
    assert f"{MIN_SCALE}..{MAX_SCALE}" in message
    assert "sim rig" in message  # tells the user what a sensible value is


def test_the_default_scale_is_real_time():
    assert Clock().scale == 1.0
    assert repr(Clock(0.02)) == "Clock(scale=0.02)"


# -- reading -----------------------------------------------------------------------------------
def test_now_starts_near_zero_and_never_goes_back():
    clock = Clock(1.0)
    readings = [clock.now() for _ in range(1000)]
    assert 0.0 <= readings[0] < 5.0
    assert readings == sorted(readings)


def test_module_between_divides_wall_time_by_the_scale():
    clock = Clock(0.02)
    assert clock.module_between(0, NS) == pytest.approx(50.0)
    assert clock.module_between(5 * NS, 5 * NS + 20_000_000) == pytest.approx(1.0)
    assert clock.module_between(NS, 0) == pytest.approx(-50.0)  # order matters


def test_since_counts_module_seconds_from_a_stamp():
    clock = Clock(0.02)
    elapsed = clock.since(ago(clock, 120.0))
    assert 120.0 <= elapsed < 120.0 + 100.0  # 100 module s = 2 s of wall noise allowed


def test_at_puts_a_stamp_on_the_same_axis_as_now():
    clock = Clock(0.5)
    before = clock.now()
    t = stamp()
    after = clock.now()
    assert before <= clock.at(t) <= after
    assert clock.at(t + NS) == pytest.approx(clock.at(t) + 2.0)


@given(scales, module_seconds)
def test_to_wall_and_to_module_are_inverse(scale, seconds):
    clock = Clock(scale)
    assert clock.to_wall(seconds) == pytest.approx(seconds * scale)
    assert clock.to_module(clock.to_wall(seconds)) == pytest.approx(seconds, rel=1e-12, abs=1e-12)


@given(scales, st.integers(min_value=0, max_value=10**15))
def test_module_between_agrees_with_to_module(scale, wall_ns):
    clock = Clock(scale)
    assert clock.module_between(0, wall_ns) == pytest.approx(clock.to_module(wall_ns / NS))


def test_the_documented_example_qiact_limit_costs_3_6_wall_seconds_at_0_02():
    assert Clock(0.02).to_wall(180.0) == pytest.approx(3.6)


# -- Deadline ----------------------------------------------------------------------------------
def test_a_fresh_deadline_has_almost_all_its_time():
    clock = Clock(1.0)
    d = clock.deadline(100.0)
    assert isinstance(d, Deadline)
    assert 0.0 <= d.elapsed() < 5.0
    assert 95.0 < d.remaining() <= 100.0
    assert not d.expired


def test_a_deadline_counts_down_in_module_seconds():
    clock = Clock(0.5)
    d = Deadline(clock, 10.0, start_ns=ago(clock, 4.0))
    assert 4.0 <= d.elapsed() < 6.0
    assert 4.0 < d.remaining() <= 6.0
    assert d.wall_remaining() == pytest.approx(clock.to_wall(d.remaining()), abs=0.5)
    assert d.wall_remaining() <= 3.0  # 6 module s at scale 0.5
    assert not d.expired


def test_a_passed_deadline_is_expired_with_nothing_left():
    clock = Clock(0.02)
    d = Deadline(clock, 10.0, start_ns=ago(clock, 25.0))
    assert d.expired
    assert d.remaining() == 0.0
    assert d.wall_remaining() == 0.0
    assert d.elapsed() >= 25.0


@pytest.mark.parametrize("seconds", [0.0, -1.0])
def test_a_zero_or_negative_deadline_is_expired_at_once(seconds):
    d = Clock(1.0).deadline(seconds)
    assert d.expired
    assert d.remaining() == 0.0


def test_a_deadline_of_none_never_expires():
    clock = Clock(1.0)
    d = Deadline(clock, None, start_ns=ago(clock, 1e6))
    assert d.remaining() is None
    assert d.wall_remaining() is None
    assert not d.expired
    assert d.elapsed() >= 1e6


def test_a_deadline_expires_once_its_time_has_passed():
    clock = Clock(0.01)
    d = clock.deadline(3.0)  # 30 ms of wall time
    clock.sleep(3.0)
    assert d.expired
    assert d.elapsed() >= 3.0


# -- waiting -----------------------------------------------------------------------------------
def test_sleep_lasts_at_least_its_module_time_and_reports_completion():
    clock = Clock(0.01)
    t0 = stamp()
    assert clock.sleep(5.0) is True
    assert clock.since(t0) >= 5.0


def test_sleep_with_an_unset_cancel_event_runs_to_the_end():
    clock = Clock(0.01)
    t0 = stamp()
    assert clock.sleep(5.0, cancel=threading.Event()) is True
    assert clock.since(t0) >= 5.0


def test_sleep_with_a_set_cancel_event_returns_false_at_once():
    cancel = threading.Event()
    cancel.set()
    clock = Clock(1.0)
    t0 = stamp()
    assert clock.sleep(NEVER, cancel=cancel) is False
    assert clock.since(t0) < NEVER / 2


def test_sleep_is_cut_short_when_another_thread_cancels():
    clock = Clock(0.01)
    cancel = threading.Event()
    started = threading.Event()
    result = []

    def sleeper():
        started.set()
        result.append(clock.sleep(NEVER, cancel=cancel))  # 100 s of wall time if not cut

    thread = threading.Thread(target=sleeper, daemon=True)
    t0 = stamp()
    thread.start()
    assert started.wait(10.0)
    cancel.set()
    thread.join(timeout=30.0)
    assert not thread.is_alive(), "the cancel event did not end the sleep"
    assert result == [False]
    assert clock.since(t0) < NEVER


@pytest.mark.parametrize("seconds", [0.0, -3.0])
def test_sleeping_no_time_or_negative_time_returns_at_once(seconds):
    assert Clock(1.0).sleep(seconds) is True


def test_wait_returns_true_when_the_event_is_set_by_another_thread():
    clock = Clock(0.01)
    event = threading.Event()
    setter = threading.Thread(target=lambda: (clock.sleep(2.0), event.set()), daemon=True)
    setter.start()
    assert clock.wait(event, NEVER) is True  # 100 s of wall time if the event never came
    setter.join(timeout=30.0)


def test_wait_returns_false_after_its_module_time_when_nothing_happens():
    clock = Clock(0.01)
    t0 = stamp()
    assert clock.wait(threading.Event(), 5.0) is False
    assert clock.since(t0) >= 5.0


def test_wait_on_an_already_set_event_with_no_timeout_returns_true():
    event = threading.Event()
    event.set()
    assert Clock(1.0).wait(event, None) is True


# -- calendar time -----------------------------------------------------------------------------
def test_epoch_of_a_fresh_stamp_is_now():
    t = stamp()
    now = epoch()
    assert abs(epoch_of(t) - now) < 1.0


def test_epoch_of_keeps_the_distance_between_stamps_in_wall_seconds():
    t = stamp()
    assert epoch_of(t + 90 * NS) - epoch_of(t) == pytest.approx(90.0, abs=0.5)
    assert epoch_of(t - 3600 * NS) == pytest.approx(epoch() - 3600.0, abs=1.0)


def test_epoch_is_calendar_time_not_monotonic_time():
    assert epoch() > 1.6e9  # after 2020: seconds since 1970, not since boot
