"""Raspberry Pi GPIO through `RPi.GPIO` (BCM numbers); on a Pi 5 rpi-lgpio provides the import.

Sets up, drives and cleans up only its own pins, so other programs' pins are left alone.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from harness.gpio.base import GpioBackend, GpioUnavailable

INSTALL = (
    "install it with pip install 'modemcert[pi]'; on a Raspberry Pi 5 the classic RPi.GPIO "
    "cannot reach the GPIO, so install rpi-lgpio instead (pip uninstall RPi.GPIO; "
    "pip install rpi-lgpio), which provides the same import"
)


def _import() -> ModuleType:
    try:
        return importlib.import_module("RPi.GPIO")
    except ImportError as e:
        raise GpioUnavailable(f"the rpi GPIO backend needs RPi.GPIO ({e}): {INSTALL}") from None
    except RuntimeError as e:  # "This module can only be run on a Raspberry Pi!" and the like
        raise GpioUnavailable(
            f"RPi.GPIO cannot work on this machine ({e}). Not a Raspberry Pi: use gpio backend "
            f"'gpiod' (any Linux board) or the sim rig; {INSTALL}"
        ) from None


class RpiBackend(GpioBackend):
    """GPIO by BCM number through RPi.GPIO (or rpi-lgpio's drop-in on a Pi 5)."""

    name = "rpi"

    def __init__(self) -> None:
        super().__init__()
        gpio = self._gpio = _import()
        mode = gpio.getmode()
        if mode is None:
            gpio.setmode(gpio.BCM)
        elif mode != gpio.BCM:
            raise GpioUnavailable(
                "RPi.GPIO is already set to BOARD numbering in this process; modemcert's rig "
                "files use BCM numbers, so nothing else here may call GPIO.setmode(GPIO.BOARD)"
            )
        # A pin left as an output by a killed run would warn on every set-up; the rig owns it.
        gpio.setwarnings(False)

    def _call(self, what: str, pin: int, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuntimeError as e:  # e.g. "No access to /dev/mem", "Not running on a RPi!"
            raise GpioUnavailable(
                f"RPi.GPIO could not {what} BCM {pin}: {e}; run as a user in the 'gpio' group "
                f"(sudo adduser $USER gpio, then log in again); {INSTALL}"
            ) from None

    def _setup_output(self, pin: int, level: bool) -> None:
        g = self._gpio
        initial = g.HIGH if level else g.LOW
        self._call("set up", pin, g.setup, pin, g.OUT, initial=initial)

    def _setup_input(self, pin: int) -> None:
        g = self._gpio
        # STATUS is driven by the module (through the HAT's buffer): no pull resistor.
        self._call("set up", pin, g.setup, pin, g.IN, pull_up_down=g.PUD_OFF)

    def _write(self, pin: int, level: bool) -> None:
        g = self._gpio
        self._call("drive", pin, g.output, pin, g.HIGH if level else g.LOW)

    def _read(self, pin: int) -> bool:
        return bool(self._call("read", pin, self._gpio.input, pin))

    def _free(self, pins: list[int]) -> None:
        if pins:  # cleanup() with no argument would reset every pin of the process
            self._gpio.cleanup(sorted(pins))
