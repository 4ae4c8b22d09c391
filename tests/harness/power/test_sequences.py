"""PWR-ON, PWR-OFF, PWR-EMERG, reboot and the safe state against a module faked on SimPins
(tests/harness/_line_fakes.py); per-model limits; power errors are rig faults."""

from __future__ import annotations

import pytest
from _line_fakes import (
    EMERG_OFF,
    PWRKEY,
    STATUS,
    SUPPLY,
    FakeChannel,
    FakeModule,
    claim,
    pulses,
)

from harness import limits
from harness.limits import Verdict
from harness.power import (
    POWER_DOWN_GRACE,
    Power,
    PowerError,
    PowerLines,
    PulseMissed,
    StillOn,
)


# -- PWR-ON ---------------------------------------------------------------------------------
def test_power_on_releases_pwrkey_when_status_rises(pins, backend, clock):
    module = FakeModule(pins, clock, boot=0.6)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    result = power.power_on()
    assert module.on and module.boots == 1
    assert result.evidence == "STATUS"
    (press,) = pulses(pins, PWRKEY, clock)
    assert 0.6 <= press < limits.PWRKEY_ON.seconds  # released once STATUS went high
    assert [t.clause for t in timings] == ["PWR-ON"]
    assert timings[0].verdict is Verdict.PASS and result.timings == tuple(timings)
    # the supply was switched on before PWRKEY (VBAT first)
    assert pins.history(SUPPLY)[-1][0] < pins.history(PWRKEY)[-1][0]


def test_power_on_does_not_press_a_running_module(pins, backend, clock):
    FakeModule(pins, clock)
    power = Power(backend, claim(backend), clock)
    power.power_on()
    again = power.power_on()
    assert again.evidence == "already on"
    assert len(pulses(pins, PWRKEY, clock)) == 1


def test_power_on_fails_clearly_when_status_never_rises(pins, backend, clock):
    FakeModule(pins, clock, boot=5.0)  # longer than PWR-ON allows
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    with pytest.raises(PowerError, match=r"STATUS stayed low.*polarity"):
        power.power_on()
    (press,) = pulses(pins, PWRKEY, clock)
    assert press < limits.PWRKEY_ON.seconds + 0.5  # never held much past the limit
    assert not pins.level(PWRKEY)


def test_power_on_without_status_holds_the_middle_and_waits_for_rdy(pins, backend, clock):
    channel = FakeChannel(clock)
    module = FakeModule(pins, clock, channel, boot=0.6, status=False)
    timings = []
    power = Power(backend, claim(backend, status=False), clock, channel, timings.append)
    result = power.power_on()
    assert module.on and result.evidence == "RDY"
    (press,) = pulses(pins, PWRKEY, clock)
    assert limits.PWRKEY_ON_MIN < press < limits.PWRKEY_ON.seconds
    assert [t.command for t in timings] == ["PWRKEY on", "RDY after PWRKEY"]
    assert channel.resets >= 1


def test_power_on_without_status_or_rdy_is_an_error(pins, backend, clock):
    channel = FakeChannel(clock)
    FakeModule(pins, clock, channel, status=False, rdy=False)
    channel.answer = lambda cmd: (None, [])  # silent even when on: autobaud
    power = Power(backend, claim(backend, status=False), clock, channel)
    with pytest.raises(PowerError, match=r"no RDY.*autobaud"):
        power.power_on()


def test_power_on_with_status_but_no_rdy_notes_it(pins, backend, clock):
    channel = FakeChannel(clock)
    FakeModule(pins, clock, channel, rdy=False)
    result = Power(backend, claim(backend), clock, channel).power_on()
    assert result.evidence == "STATUS" and "no RDY" in result.note


def test_power_needs_a_pwrkey_line(backend, clock):
    power = Power(backend, PowerLines(), clock)
    with pytest.raises(PowerError, match=r"no PWRKEY line wired; add \[gpio\.pwrkey\]"):
        power.power_on()


# -- PWR-OFF --------------------------------------------------------------------------------
def test_power_off_pulses_mid_window_waits_and_cuts_supply_after_12s(pins, backend, clock):
    module = FakeModule(pins, clock, logout=3.0)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    power.power_on()
    timings.clear()
    result = power.power_off()
    assert not module.on and result.evidence == "STATUS low"
    low, high = limits.PWRKEY_OFF_WINDOW
    off = pulses(pins, PWRKEY, clock)[-1]
    assert low < off < high
    assert [(t.clause, t.command) for t in timings] == [
        ("PWR-OFF", "PWRKEY off pulse"),
        ("PWR-OFF", "power down after PWRKEY"),
        ("PWR-OFF", "supply cut after PWRKEY"),
    ]
    assert all(t.verdict is Verdict.PASS for t in timings)
    # the relay opened POWER_CUT_AFTER after the pulse, not when STATUS fell
    pulse_end = pins.history(PWRKEY)[-1][0]
    cut = pins.history(SUPPLY)[-1]
    assert cut[1] is False
    assert clock.module_between(pulse_end, cut[0]) >= limits.POWER_CUT_AFTER.seconds


def test_power_off_uses_normal_power_down_without_status(pins, backend, clock):
    channel = FakeChannel(clock)
    module = FakeModule(pins, clock, channel, status=False, logout=2.0, relay=False)
    power = Power(backend, claim(backend, status=False, supply=False), clock, channel)
    power.power_on()
    result = power.power_off()
    assert not module.on and result.evidence == "NORMAL POWER DOWN"
    down = next(t for t in result.timings if t.command == "power down after PWRKEY")
    # the fake starts its 2 s when the pin changes, a thread switch before Power's stamp
    assert 2.0 - 0.5 <= down.measured < limits.POWER_CUT_AFTER.seconds


def test_power_off_that_does_nothing_is_an_error(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)  # never within 12 s
    power = Power(backend, claim(backend, supply=False), clock)
    power.power_on()
    late = limits.POWER_CUT_AFTER.seconds * POWER_DOWN_GRACE
    with pytest.raises(PowerError, match=f"did not power down within {late:g} s"):
        power.power_off()
    assert module.on


def test_a_late_logout_is_ended_by_the_relay(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0)
    power = Power(backend, claim(backend), clock)
    power.power_on()
    result = power.power_off()
    assert not module.on and result.evidence == "supply cut"
    assert [t.command for t in result.timings] == ["PWRKEY off pulse", "supply cut after PWRKEY"]


def test_power_off_of_an_off_module_does_not_press(pins, backend, clock):
    FakeModule(pins, clock)
    power = Power(backend, claim(backend), clock)
    assert power.power_off().evidence == "already off"
    assert pulses(pins, PWRKEY, clock) == []


# -- PWR-EMERG and reboot -------------------------------------------------------------------
def test_emergency_off(pins, backend, clock):
    module = FakeModule(pins, clock)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    power.power_on()
    result = power.emergency_off()
    assert not module.on and result.evidence == "STATUS low"
    assert timings[-1].clause == "PWR-EMERG" and timings[-1].verdict is Verdict.PASS
    assert not pins.level(EMERG_OFF)


def test_emergency_off_that_does_nothing_is_an_error(pins, backend, clock):
    module = FakeModule(pins, clock, emerg=False)  # EMERG_OFF not connected
    power = Power(backend, claim(backend), clock)
    power.power_on()
    with pytest.raises(StillOn, match=r"STATUS stayed high.*gpio\.emerg_off") as e:
        power.emergency_off()
    assert isinstance(e.value, PowerError)  # a rig fault unless a test proved the line
    assert module.on and not pins.level(EMERG_OFF)


def test_reboot_is_off_then_on(pins, backend, clock):
    module = FakeModule(pins, clock, logout=1.0)
    power = Power(backend, claim(backend), clock)
    power.power_on()
    result = power.reboot("test")
    assert module.on and module.boots == 2
    clauses = [t.clause for t in result.timings]
    assert clauses[0] == "PWR-OFF" and clauses[-1] == "PWR-ON"


def test_reboot_falls_back_to_emergency_off(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)
    power = Power(backend, claim(backend, supply=False), clock)
    power.power_on()
    result = power.reboot()
    assert module.boots == 2 and "used EMERG_OFF" in result.note
    assert "PWR-EMERG" in [t.clause for t in result.timings]


# -- the safe state -------------------------------------------------------------------------
def test_safe_state_powers_off_and_releases_on_an_exception(pins, backend, clock):
    module = FakeModule(pins, clock, logout=0.5)
    power = Power(backend, claim(backend), clock, on_exit="off")
    with pytest.raises(RuntimeError, match="boom"), power.safe_state():
        power.power_on()
        assert pins.claimed() == {PWRKEY, EMERG_OFF, STATUS, SUPPLY}
        raise RuntimeError("boom")
    assert not module.on
    assert pins.claimed() == set()
    assert not any(pins.level(p) for p in (PWRKEY, EMERG_OFF, SUPPLY))


def test_safe_state_can_leave_the_module_on(pins, backend, clock):
    module = FakeModule(pins, clock, relay=False)
    power = Power(backend, claim(backend, supply=False), clock, on_exit="on")
    with power.safe_state():
        pass  # never switched on here: leaving "on" switches it on
    assert module.on and pins.claimed() == set()


def test_safe_state_falls_back_to_emergency_off(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)
    power = Power(backend, claim(backend, supply=False), clock)
    with power.safe_state():
        power.power_on()
    assert not module.on and pins.claimed() == set()


# -- per-model limits and the error taxonomy ------------------------------------------------------
def test_an_m66_gets_its_own_off_pulse_window(pins, backend, clock):
    from harness.limits import profile_for

    FakeModule(pins, clock, logout=0.5)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append, profile=profile_for("M66"))
    power.power_on()
    power.power_off()
    off = pulses(pins, PWRKEY, clock)[-1]
    assert 0.7 < off < 1.0  # the middle of the M66's 0.7–1 s, not the M95's 0.6–1 s
    pulse = next(t for t in timings if t.command == "PWRKEY off pulse")
    assert pulse.verdict is Verdict.PASS and "M66 Hardware Design" in pulse.note


def test_emerg_off_is_judged_against_the_documented_minimum(pins, backend, clock):
    from harness.limits import profile_for

    FakeModule(pins, clock)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append, profile=profile_for("M85"))
    power.power_on()
    power.emergency_off()
    emerg = timings[-1]
    assert emerg.verdict is Verdict.PASS and "over the 0.04 s M85 asks" in emerg.note


def test_power_errors_are_rig_faults():
    from harness.errors import RigFault, category_of

    for cls in (PowerError, PulseMissed):
        assert issubclass(cls, RigFault) and category_of(cls("x")).value == "rig fault"
    assert PowerError.stops_run and not PulseMissed.stops_run  # the next pulse may land


def test_force_off_says_what_it_did(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)
    power = Power(backend, claim(backend, supply=False), clock)
    power.power_on()
    done = power.force_off()
    assert not module.on
    assert done[0].startswith("PWRKEY off failed") and done[1] == "EMERG_OFF: STATUS low"
