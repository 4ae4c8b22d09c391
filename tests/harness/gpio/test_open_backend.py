"""open_backend(): the backend a rig names, with the simulator's pins where it has them."""

from __future__ import annotations

import pytest

from harness.errors import UsageFault
from harness.gpio import GpioConfigError, GpioUnavailable, open_backend
from harness.gpio.gpiod import GpiodBackend
from harness.gpio.none import NoneBackend
from harness.gpio.rpi import RpiBackend
from harness.gpio.sim import SimBackend, SimPins
from harness.rig import GpioConfig, load_rig


def test_sim_rig_drives_the_given_pins():
    pins = SimPins()
    backend = open_backend(load_rig("sim"), pins)
    assert isinstance(backend, SimBackend) and backend.pins is pins
    backend.output("PWRKEY", 4).set_active(True)
    assert pins.level(4) and pins.claimed() == {4}
    backend.release()
    assert pins.claimed() == set() and not pins.level(4)


def test_uart_only_rig_has_no_lines_to_give():
    backend = open_backend(load_rig("uart-only"))
    assert isinstance(backend, NoneBackend)
    with pytest.raises(GpioUnavailable, match="no GPIO wired"):
        backend.output("PWRKEY", 4)


def test_pi_rig_opens_rpi(fake_rpi):
    assert isinstance(open_backend(load_rig("pi-m95")), RpiBackend)


def test_gpiod_config_passes_the_chip(fake_gpiod):
    backend = open_backend(GpioConfig(backend="gpiod", chip="/dev/gpiochip4"))
    assert isinstance(backend, GpiodBackend) and backend.chip == "/dev/gpiochip4"


def test_unknown_backend():
    with pytest.raises(GpioConfigError, match="unknown GPIO backend 'wiringpi'") as info:
        open_backend(GpioConfig(backend="wiringpi"))
    assert isinstance(info.value, UsageFault)
