"""The module's lines as a labgrid place's digital outputs (HttpDigitalOutput, NetworkSysfsGPIO,
ModbusTCPCoil …), switched through the place modemcert acquired (harness/labgrid.py).

A line's "pin" is the resource's name in the place ("pwrkey"). labgrid's `set(True)` asserts the
resource's output, so polarity works as on a Pi: "active-high" means asserting the output asserts
the module pin. STATUS is read with the resource's `get()` and never set. The lines are freed by
releasing the place, not here.
"""

from __future__ import annotations

from typing import Protocol

from harness.gpio.base import GpioBackend, GpioConfigError, GpioLineMissing, GpioUnavailable


class PlaceLines(Protocol):
    """What this backend needs from an acquired place (harness.labgrid.Place)."""

    name: str
    #: Line name → the labgrid resource class behind it ("HttpDigitalOutput").
    lines: dict[str, str]

    def set_line(self, line: str, level: bool) -> None: ...

    def get_line(self, line: str) -> bool: ...


class LabgridLineError(GpioUnavailable):
    """labgrid could not switch or read a line (its driver failed, the exporter went away)."""


class LabgridBackend(GpioBackend):
    """Lines by resource name on one acquired labgrid place."""

    name = "labgrid"

    def __init__(self, place: PlaceLines) -> None:
        super().__init__()
        self.place = place

    def describe(self) -> str:
        lines = ", ".join(f"{n} {c}" for n, c in self.place.lines.items()) or "no lines"
        return f"labgrid (place {self.place.name}: {lines})"

    def _need(self, pin: object) -> str:
        if not isinstance(pin, str) or pin not in self.place.lines:
            offered = ", ".join(self.place.lines) or "none"
            raise GpioLineMissing(
                f"labgrid place {self.place.name} offers no line {pin!r} (it offers: {offered})",
                pin=str(pin),
                hint="name the resource as the place matches it, in the rig file's [gpio]",
            )
        return pin

    def _setup_output(self, pin, level: bool, drive: str = "push-pull") -> None:
        name = self._need(pin)
        if drive != "push-pull":
            raise GpioConfigError(
                f"line {name}: a labgrid output drives as its exporter's resource does, not {drive}"
            )
        self.place.set_line(name, level)

    def _setup_input(self, pin) -> None:
        self._need(pin)

    def _write(self, pin, level: bool) -> None:
        self.place.set_line(self._need(pin), level)

    def _read(self, pin) -> bool:
        return self.place.get_line(self._need(pin))

    def _free(self, pins: list) -> None:
        pass  # the station releases the place after the serial channel is closed
