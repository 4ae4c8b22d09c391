"""GPIO backends behind one small interface: `rpi`, `gpiod`, `sim`, `none` (see base.py)."""

from __future__ import annotations

from typing import Any

from harness.gpio.base import (
    GpioBackend,
    GpioBusy,
    GpioConfigError,
    GpioUnavailable,
    InputLine,
    OutputLine,
)

BACKENDS = ("rpi", "gpiod", "sim", "none", "labgrid")


def open_backend(rig: Any, pins: Any = None) -> GpioBackend:
    """The backend a rig's `[gpio]` names (a `Rig` or its `GpioConfig`), claiming no lines.

    `pins` is the `SimPins` the simulator watches (sim backend; a fresh set if None), or the
    acquired place whose digital outputs are the lines (labgrid backend: harness.labgrid.Place).
    Raises `GpioUnavailable` (a rig fault) naming what to install when the backend cannot work
    here, `GpioConfigError` (a usage fault) for an unknown backend.
    """
    gpio = getattr(rig, "gpio", rig)
    name = gpio.backend
    if name == "sim":
        from harness.gpio.sim import SimBackend, SimPins

        return SimBackend(pins if pins is not None else SimPins())
    if name == "none":
        from harness.gpio.none import NoneBackend

        return NoneBackend()
    if name == "labgrid":
        from harness.gpio.labgrid import LabgridBackend

        if pins is None:
            raise GpioConfigError(
                "the labgrid backend's lines are a place's: acquire it first "
                "(harness.labgrid.acquire_place, as the station does)"
            )
        return LabgridBackend(pins)
    if name == "rpi":
        from harness.gpio.rpi import RpiBackend

        return RpiBackend()
    if name == "gpiod":
        from harness.gpio.gpiod import GpiodBackend

        return GpiodBackend(gpio.chip or "/dev/gpiochip0")
    raise GpioConfigError(f"unknown GPIO backend {name!r}; use one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "GpioBackend",
    "GpioBusy",
    "GpioConfigError",
    "GpioUnavailable",
    "InputLine",
    "OutputLine",
    "open_backend",
]
