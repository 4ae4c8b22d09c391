"""The rpi backend on a Pi 5: rpi-lgpio over lgpio. lgpio's own `lgpio.error` ("GPIO busy",
"can not open gpiochip") never escapes raw; the exact lgpio calls of every power operation."""

from __future__ import annotations

import pytest

from harness import limits
from harness.clock import Clock
from harness.errors import RigFault
from harness.gpio.base import GpioBusy, GpioUnavailable
from harness.gpio.rpi import RpiBackend
from harness.power import Power, PowerLines

SCALE = 0.1
PWRKEY, EMERG_OFF = 4, 17
NONE = 128  # lgpio.SET_PULL_NONE


#: What the RPi.GPIO shim itself records; everything else is a call into lgpio.
SHIM = {"getmode", "setmode", "setwarnings", "gpio_function", "setup", "output", "input", "cleanup"}


def lgpio_calls(fake) -> list[tuple]:
    return [c for c in fake.calls.names() if c[0] not in SHIM]


def test_backend_knows_it_is_rpi_lgpio(fake_rpi_lgpio):
    backend = RpiBackend()
    assert backend.library == "rpi-lgpio"
    assert "rpi-lgpio" in backend.describe() and "Raspberry Pi 5" in backend.describe()


def test_every_power_operation_calls_lgpio_exactly(fake_rpi_lgpio):
    fake = fake_rpi_lgpio
    backend = RpiBackend()
    lines = PowerLines(
        pwrkey=backend.output("PWRKEY", PWRKEY), emerg_off=backend.output("EMERG_OFF", EMERG_OFF)
    )
    assert lgpio_calls(fake) == [
        ("gpiochip_open", 0),
        ("gpio_get_mode", PWRKEY),  # gpio_function: nobody else's output
        ("gpio_claim_output", PWRKEY, 0, NONE),  # claimed at its inactive level at once
        ("gpio_get_mode", EMERG_OFF),
        ("gpio_claim_output", EMERG_OFF, 0, NONE),
    ]
    power = Power(backend, lines, Clock(SCALE))
    steps = {}
    for name, op in (("off", power.power_off), ("emergency", power.emergency_off)):
        fake.calls.clear()
        op()
        steps[name] = lgpio_calls(fake)
    fake.calls.clear()
    backend.release()
    steps["release"] = lgpio_calls(fake)
    pulse = [
        ("gpio_get_mode", PWRKEY),
        ("gpio_write", PWRKEY, 1),
        ("gpio_get_mode", PWRKEY),
        ("gpio_write", PWRKEY, 0),
    ]
    assert steps == {
        "off": pulse,
        "emergency": [(n, EMERG_OFF, *a[1:]) for n, *a in pulse],
        "release": [
            ("gpio_get_mode", PWRKEY),
            ("gpio_write", PWRKEY, 0),
            ("gpio_get_mode", EMERG_OFF),
            ("gpio_write", EMERG_OFF, 0),
            ("gpio_claim_input", PWRKEY, NONE),  # rpi-lgpio's cleanup: input, then free
            ("gpio_free", PWRKEY),
            ("gpio_claim_input", EMERG_OFF, NONE),
            ("gpio_free", EMERG_OFF),
        ],
    }
    (off,) = fake.header.pulses(PWRKEY, 1, SCALE)
    low, high = limits.PWRKEY_OFF_WINDOW
    assert low < off < high
    assert fake.lgpio._claims and not any(fake.lgpio._claims.values())  # all freed


def test_gpio_busy_becomes_a_rig_fault_naming_the_pin(fake_rpi_lgpio):
    fake = fake_rpi_lgpio
    fake.header.held[PWRKEY] = "gpio-shutdown"
    backend = RpiBackend()
    with pytest.raises(GpioBusy) as info:
        backend.output("PWRKEY", PWRKEY)
    error = info.value
    assert not isinstance(error, fake.lgpio.error)
    assert isinstance(error, RigFault) and error.pin == PWRKEY
    assert "BCM 4: GPIO busy" in str(error) and "gpioinfo" in str(error)
    assert backend.lines() == []
    backend.output("EMERG_OFF", EMERG_OFF)  # the other pins still work
    backend.release()


def test_cannot_open_the_chip_is_a_rig_fault(fake_rpi_lgpio):
    fake_rpi_lgpio.header.no_access = True
    with pytest.raises(GpioUnavailable, match="can not open gpiochip") as info:
        RpiBackend()
    assert not isinstance(info.value, fake_rpi_lgpio.lgpio.error)
    assert "RPI_LGPIO_CHIP" in str(info.value) or "'gpio' group" in str(info.value)


def test_open_drain_on_lgpio_claims_input_or_output_low(fake_rpi_lgpio):
    fake = fake_rpi_lgpio
    fake.header.pulled_up.add(PWRKEY)
    backend = RpiBackend()
    fake.calls.clear()
    line = backend.output("PWRKEY", PWRKEY, active_high=False, drive="open-drain")
    line.set_active(True)
    assert fake.header.level(PWRKEY) == 0
    line.set_active(False)
    assert fake.header.level(PWRKEY) == 1
    assert lgpio_calls(fake) == [
        ("gpio_get_mode", PWRKEY),
        ("gpio_free", PWRKEY),  # rpi-lgpio frees before claiming an input (not ours yet)
        ("gpio_claim_input", PWRKEY, NONE),
        ("gpio_claim_output", PWRKEY, 0, NONE),  # asserted: driven low
        ("gpio_free", PWRKEY),
        ("gpio_claim_input", PWRKEY, NONE),  # released: the module's pull-up
    ]
    assert all(args[1] == 0 for name, *args in lgpio_calls(fake) if name == "gpio_claim_output")
    backend.release()
