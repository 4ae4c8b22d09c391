"""Power on the simulated HAT: PWRKEY pulses, EMERG_OFF, the supply relay, AT+QPOWD, STATUS,
and what a power-off forgets."""

from __future__ import annotations

import pytest

from harness.gpio.sim import SimBackend, SimPins
from harness.sim import Profile, Wiring

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}
W = Wiring()


def press(rig, pin: int, seconds: float) -> int:
    """Hold `pin` active for `seconds` (module time); the stamp of the press."""
    rig.pins.drive(pin, True)
    start = rig.pins.history(pin)[-1][0]
    rig.clock.sleep(seconds)
    rig.pins.drive(pin, False)
    rig.sim.settle()
    return start


def status_rises(rig) -> list[int]:
    return [t for t, level in rig.pins.history(W.status) if level]


def test_a_module_without_power_answers_nothing(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.host.write("AT\r")
    assert rig.host.collect(1.0) == b""
    assert not rig.pins.level(W.status)


def test_too_short_a_press_does_nothing(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.05)
    press(rig, W.pwrkey, 0.5)
    rig.clock.sleep(2.0)
    assert status_rises(rig) == []
    assert not rig.sim.status().powered


def test_a_long_enough_press_boots_and_status_rises_at_one_second(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    start = press(rig, W.pwrkey, 1.3)
    (rise,) = status_rises(rig)
    assert rig.clock.module_between(start, rise) >= 1.0 - 0.01  # not before the 1 s is reached
    assert rig.host.sync() > 0


def test_holding_until_status_rises_boots(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.pins.drive(W.pwrkey, True)
    deadline = rig.clock.deadline(3.0)
    while not rig.pins.level(W.status) and not deadline.expired:
        rig.clock.sleep(0.05)
    rig.pins.drive(W.pwrkey, False)
    assert rig.sim.status().powered


def test_pwrkey_off_pulse_gives_normal_power_down(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.boot()
    press(rig, W.pwrkey, 0.8)
    assert rig.host.expect(b"\r\nNORMAL POWER DOWN\r\n", 15)
    rig.clock.sleep(0.5)
    assert not rig.pins.level(W.status)
    rig.host.write("AT\r")
    assert rig.host.collect(1.0) == b""


def test_a_short_tap_while_on_does_nothing(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.05)
    rig.boot()
    press(rig, W.pwrkey, 0.1)
    assert b"NORMAL POWER DOWN" not in rig.host.collect(13.0)
    assert rig.pins.level(W.status)


def test_claiming_the_lines_inactive_is_not_a_pulse(make_rig):
    """A host claiming PWRKEY and EMERG_OFF drives them low first: that edge is no press."""
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.pins.drive(W.pwrkey, False)
    rig.pins.drive(W.emerg_off, False)
    rig.clock.sleep(2.0)
    rig.sim.settle()
    assert not rig.sim.status().powered
    rig.boot()
    rig.pins.drive(W.emerg_off, False)
    rig.pins.drive(W.pwrkey, False)
    rig.sim.settle()
    assert rig.sim.status().powered


def test_emerg_off_switches_off_at_once_without_a_urc(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.boot()
    press(rig, W.emerg_off, 0.1)
    assert not rig.pins.level(W.status)
    assert rig.host.collect(0.5) == b""
    rig.host.write("AT\r")
    assert rig.host.collect(1.0) == b""


def test_emerg_off_held_keeps_pwrkey_from_booting(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.pins.drive(W.emerg_off, True)
    press(rig, W.pwrkey, 1.3)
    rig.pins.drive(W.emerg_off, False)
    assert status_rises(rig) == []


def test_qpowd_prints_normal_power_down_then_accepts_nothing(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.boot()
    rig.host.write("AT+QPOWD=1\r")
    assert rig.host.expect(b"NORMAL POWER DOWN\r\n") == b"AT+QPOWD=1\r\r\nNORMAL POWER DOWN\r\n"
    rig.host.write("AT\r")
    assert rig.host.collect(3.0) == b""
    assert not rig.pins.level(W.status)


def test_supply_relay(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.pins.drive(W.supply, False)  # relay open: no VBAT
    press(rig, W.pwrkey, 1.3)
    assert status_rises(rig) == []
    rig.pins.drive(W.supply, True)
    rig.sim.settle()
    assert status_rises(rig) == []  # VBAT alone does not boot
    press(rig, W.pwrkey, 1.3)
    assert rig.pins.level(W.status)
    rig.pins.drive(W.supply, False)
    rig.sim.settle()
    assert not rig.pins.level(W.status)


def test_no_supply_pin_means_vbat_always_present(make_rig):
    pins = SimPins()
    rig = make_rig(Profile(**QUICK), scale=0.02, pins=pins, wiring=Wiring(supply=None))
    pins.drive(22, False)  # nothing is wired there
    press(rig, W.pwrkey, 1.3)
    assert rig.pins.level(W.status)


def test_wrong_polarity_on_the_host_fails_to_boot(make_rig):
    """A rig file with PWRKEY active-low presses when it means to release: STATUS does not rise
    while the host holds its "press", so the power layer sees a failed boot."""
    rig = make_rig(Profile(**QUICK), scale=0.02)
    backend = SimBackend(rig.pins)
    key = backend.output("pwrkey", W.pwrkey, active_high=False)  # wrong: the HAT is active-high
    key.set_active(True)
    rig.clock.sleep(1.3)
    rig.sim.settle()
    assert not rig.pins.level(W.status)
    key.set_active(False)
    rig.sim.settle()
    assert not rig.pins.level(W.status)
    backend.release()


def test_power_off_forgets_volatile_state_but_not_stored_settings(make_rig, make_peer):
    peer = make_peer("echo")
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.boot()
    rig.host.at("AT+IPR=115200&W")
    rig.host.at("ATE0")
    rig.host.echo = False
    rig.host.at("AT+QIHEAD=1")
    rig.activate()
    rig.open("TCP", "127.0.0.1", peer.port)
    rig.sim.power_off_now()
    rig.host.echo = True  # back on after the reboot: ATE0 was not stored
    rig.boot()
    assert rig.host.at("AT+QIHEAD?") == b"AT+QIHEAD?\r\r\n+QIHEAD: 0\r\n\r\nOK\r\n"
    assert rig.qistat() == "IP INITIAL"
    assert rig.host.at("AT+IPR?").endswith(b"+IPR: 115200\r\n\r\nOK\r\n")
    assert not peer.ended.is_set()  # power lost: the peer saw nothing (no FIN)
    assert rig.sim.status().boot_count == 2


@pytest.mark.parametrize("persist", [False, True])
def test_silent_module_needs_emerg_off(make_rig, persist):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.boot()
    rig.sim.inject("silent", persistent=persist)
    rig.host.write("AT\r")
    assert rig.host.collect(1.0) == b""
    assert rig.pins.level(W.status)  # on, but answers nothing
    press(rig, W.emerg_off, 0.1)
    press(rig, W.pwrkey, 1.3)
    rig.clock.sleep(0.5)
    answered = rig.host.sync() > 0
    assert answered is not persist
