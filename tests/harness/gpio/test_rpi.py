"""The rpi backend against a fake RPi.GPIO: exact calls, polarity, errors, pulse widths."""

from __future__ import annotations

import sys

import pytest

from harness import limits
from harness.clock import Clock
from harness.gpio import rpi
from harness.gpio.base import GpioUnavailable
from harness.gpio.rpi import RpiBackend
from harness.power import Power, PowerLines

#: Wall = module × 0.1: the 0.6–1 s PWRKEY off window is 60–100 ms, far above thread noise.
SCALE = 0.1


def test_exact_call_sequence(fake_rpi):
    gpio, calls, levels = fake_rpi
    backend = RpiBackend()
    pwrkey = backend.output("PWRKEY", 4, active_high=True)
    status = backend.input("STATUS", 27, active_high=True)
    pwrkey.set_active(True)
    pwrkey.set_active(False)
    levels[27] = gpio.HIGH
    assert status.is_active()
    backend.release()
    assert calls.names() == [
        ("getmode",),
        ("setmode", gpio.BCM),
        ("setwarnings", False),
        ("setup", 4, "OUT", gpio.LOW),  # outputs start inactive
        ("setup", 27, "IN", gpio.PUD_OFF),
        ("output", 4, gpio.HIGH),
        ("output", 4, gpio.LOW),
        ("input", 27),
        ("output", 4, gpio.LOW),  # release: inactive first...
        ("cleanup", [4, 27]),  # ...then only our own pins
    ]


def test_active_low_lines_invert_levels(fake_rpi):
    gpio, _, levels = fake_rpi
    backend = RpiBackend()
    emerg = backend.output("EMERG_OFF", 17, active_high=False)
    status = backend.input("STATUS", 27, active_high=False)
    assert levels[17] == gpio.HIGH  # inactive = high on an active-low line
    emerg.set_active(True)
    assert levels[17] == gpio.LOW
    levels[27] = gpio.LOW
    assert status.is_active()
    backend.release()
    assert levels[17] == gpio.HIGH


def test_release_is_idempotent_and_never_cleans_other_pins(fake_rpi):
    _, calls, _ = fake_rpi
    backend = RpiBackend()
    backend.release()
    backend.release()
    assert [c for c in calls.names() if c[0] == "cleanup"] == []


def test_a_bcm_mode_set_by_someone_else_is_kept(fake_rpi):
    gpio, calls, _ = fake_rpi
    gpio.setmode(gpio.BCM)
    calls.clear()
    RpiBackend()
    assert ("setmode", gpio.BCM) not in calls.names()


def test_board_numbering_elsewhere_is_refused(fake_rpi):
    gpio, _, _ = fake_rpi
    gpio.setmode(gpio.BOARD)
    with pytest.raises(GpioUnavailable, match="BOARD numbering"):
        RpiBackend()


def test_missing_module_names_the_extra_and_the_pi5_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "RPi", None)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", None)
    with pytest.raises(GpioUnavailable) as info:
        RpiBackend()
    assert "pip install 'modemcert[pi]'" in str(info.value)
    assert "rpi-lgpio" in str(info.value) and "Pi 5" in str(info.value)


def test_not_a_pi(monkeypatch):
    def refuse(name):
        raise RuntimeError("This module can only be run on a Raspberry Pi!")

    monkeypatch.setattr(rpi.importlib, "import_module", refuse)
    with pytest.raises(GpioUnavailable, match="Not a Raspberry Pi: use gpio backend 'gpiod'"):
        RpiBackend()


def test_no_access_is_explained_and_the_pin_is_not_kept(fake_rpi):
    gpio, _, _ = fake_rpi

    def no_access(*a, **k):
        raise RuntimeError("No access to /dev/mem.  Try running as root!")

    backend = RpiBackend()
    gpio.setup = no_access
    with pytest.raises(GpioUnavailable, match="'gpio' group"):
        backend.output("PWRKEY", 4)
    assert backend.lines() == []


def _pulses(calls, pin, active_level):
    """Module-second widths of each active stretch on `pin`."""
    clock_scale, widths, since = SCALE, [], None
    for t, level in calls.writes(pin):
        if level == active_level and since is None:
            since = t
        elif level != active_level and since is not None:
            widths.append((t - since) / 1e9 / clock_scale)
            since = None
    return widths


def test_pwrkey_pulse_widths_through_rpi(fake_rpi):
    gpio, calls, _ = fake_rpi
    backend = RpiBackend()
    lines = PowerLines(pwrkey=backend.output("PWRKEY", 4, active_high=True))
    power = Power(backend, lines, Clock(SCALE))
    power.power_on()  # no STATUS, no channel: hold for the middle of 1–2 s
    power.power_off()  # the middle of the 0.6–1 s window
    on, off = _pulses(calls, 4, gpio.HIGH)
    assert limits.PWRKEY_ON_MIN < on < limits.PWRKEY_ON.seconds
    low, high = limits.PWRKEY_OFF_WINDOW
    assert low < off < high
    backend.release()
