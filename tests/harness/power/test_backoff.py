"""PWR-BACKOFF: the schedule across runs in calendar time, the quiet period, the message, the
override, a corrupt history, and a reboot that respects and records it."""

from __future__ import annotations

import json

import pytest
from _line_fakes import SCALE, FakeModule, FastClock, claim

from harness import limits
from harness.clock import Clock
from harness.limits import Verdict
from harness.power import Power
from harness.power.backoff import BackOff, BackOffActive, BackOffError


def backoff(tmp_path, clock: FastClock, **kw) -> BackOff:
    """A fresh BackOff on the same state dir: what the next run would build."""
    return BackOff(tmp_path / "state", clock, now=clock.epoch, **kw)


@pytest.mark.parametrize("scale", [1.0, 0.02])
def test_backoff_schedule_across_runs(tmp_path, scale):
    clock = FastClock(scale)
    expected = [*limits.BACKOFF, limits.BACKOFF[-1]]  # the last delay repeats
    for run, delay in enumerate(expected):
        b = backoff(tmp_path, clock)
        d = b.decision()
        assert d.attempt == run and d.delay == delay
        if delay:
            assert not d.allowed and d.wait == pytest.approx(delay)
            with pytest.raises(BackOffActive):
                b.check()
            clock.advance(delay - 1)
            assert not backoff(tmp_path, clock).decision().allowed
            clock.advance(1)
        b = backoff(tmp_path, clock)
        assert b.check().allowed
        b.record(f"run {run}")
    history = json.loads((tmp_path / "state" / "backoff.json").read_text())
    assert history["format"] == "modemcert-backoff/1"
    assert [r["reason"] for r in history["reboots"]] == [f"run {i}" for i in range(5)]


def test_backoff_uses_calendar_time_with_the_clock_scale(tmp_path):
    clock = FastClock(0.02)
    backoff(tmp_path, clock).record()
    d = backoff(tmp_path, clock).decision()
    assert d.next_at - d.last_at == pytest.approx(limits.BACKOFF[1] * 0.02)  # 10 min → 12 s


def test_a_quiet_period_resets_the_streak(tmp_path):
    clock = FastClock(1.0)
    b = backoff(tmp_path, clock)
    b.record()
    clock.advance(limits.BACKOFF[1])
    b.record()
    clock.advance(b.quiet + 1)
    d = backoff(tmp_path, clock).decision()
    assert d.allowed and d.attempt == 0
    assert b.quiet == 2 * max(limits.BACKOFF)


def test_backoff_message_says_when_and_how_to_override(tmp_path):
    clock = FastClock(1.0)
    backoff(tmp_path, clock).record()
    clock.advance(limits.BACKOFF[1] - (9 * 60 + 12))
    with pytest.raises(BackOffActive) as info:
        backoff(tmp_path, clock).check()
    text = str(info.value)
    assert "next reboot allowed at" in text and "in 9 min 12 s" in text
    assert "--ignore-backoff" in text and "PWR-BACKOFF" in text


def test_backoff_can_be_ignored_and_says_so_in_the_history(tmp_path):
    clock = FastClock(1.0)
    backoff(tmp_path, clock).record()
    b = backoff(tmp_path, clock, ignore=True)
    assert not b.check().allowed  # no exception
    assert b.record("bench").ignored


def test_backoff_wait_reports_progress_until_allowed(tmp_path):
    clock = FastClock(1.0)
    backoff(tmp_path, clock).record()
    seen = []
    start = clock.t
    d = backoff(tmp_path, clock).wait(progress=seen.append, step=120.0)
    delay = limits.BACKOFF[1]
    assert d.allowed and clock.t - start == pytest.approx(delay)
    assert [round(s.wait) for s in seen] == list(range(round(delay), 0, -120))


def test_a_corrupt_history_is_one_clear_error(tmp_path):
    clock = FastClock(1.0)
    path = tmp_path / "state" / "backoff.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(BackOffError, match="delete it to forget"):
        backoff(tmp_path, clock).decision()


def test_reboot_respects_the_backoff(tmp_path, pins, backend):
    clock = FastClock(SCALE)
    FakeModule(pins, Clock(SCALE), logout=0.5)
    b = backoff(tmp_path, clock)
    power = Power(backend, claim(backend), Clock(SCALE), backoff=b)
    power.power_on()
    power.reboot("first")
    with pytest.raises(BackOffActive):
        power.reboot("second")
    assert [r.reason for r in b.history()] == ["first"]


def test_reboot_records_the_backoff_it_kept(tmp_path, pins, backend):
    clock = FastClock(SCALE)
    FakeModule(pins, Clock(SCALE), logout=0.5)
    timings = []
    power = Power(backend, claim(backend), Clock(SCALE), record=timings.append,
                  backoff=backoff(tmp_path, clock))  # fmt: skip
    power.power_on()
    power.reboot("trouble")
    [pace] = [t for t in timings if t.clause == "PWR-BACKOFF"]
    assert pace.verdict is Verdict.PASS and "trouble" in pace.note and "allowed" in pace.note


def test_backoff_errors_are_rig_faults():
    from harness.errors import RigFault, category_of

    assert (
        issubclass(BackOffError, RigFault) and category_of(BackOffError("x")).value == "rig fault"
    )
    assert issubclass(BackOffActive, RigFault)
