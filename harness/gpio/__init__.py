"""GPIO backends behind one small interface: `rpi`, `gpiod`, `sim`, `none` (see base.py)."""

from harness.gpio.base import GpioBackend, GpioUnavailable, InputLine, OutputLine

BACKENDS = ("rpi", "gpiod", "sim", "none")

__all__ = ["BACKENDS", "GpioBackend", "GpioUnavailable", "InputLine", "OutputLine"]
