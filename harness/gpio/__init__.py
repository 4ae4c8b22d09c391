"""GPIO backends behind one small interface: `rpi`, `gpiod`, `sim`, `none` (see base.py)."""

from __future__ import annotations

from typing import Any

from harness.gpio.base import GpioBackend, GpioUnavailable, InputLine, OutputLine

BACKENDS = ("rpi", "gpiod", "sim", "none")


def open_backend(rig: Any, pins: Any = None) -> GpioBackend:
    """The backend a rig's `[gpio]` names (a `Rig` or its `GpioConfig`), claiming no lines.

    `pins` is the `SimPins` the simulator watches (sim backend; a fresh set if None).
    Raises `GpioUnavailable` naming what to install when the backend cannot work here.
    """
    gpio = getattr(rig, "gpio", rig)
    name = gpio.backend
    if name == "sim":
        from harness.gpio.sim import SimBackend, SimPins

        return SimBackend(pins if pins is not None else SimPins())
    if name == "none":
        from harness.gpio.none import NoneBackend

        return NoneBackend()
    if name == "rpi":
        from harness.gpio.rpi import RpiBackend

        return RpiBackend()
    if name == "gpiod":
        from harness.gpio.gpiod import GpiodBackend

        return GpiodBackend(gpio.chip or "/dev/gpiochip0")
    raise GpioUnavailable(f"unknown GPIO backend {name!r}; use one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "GpioBackend", "GpioUnavailable", "InputLine", "OutputLine", "open_backend"]
