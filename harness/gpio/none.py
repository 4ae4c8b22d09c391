"""No GPIO wired (a UART-only rig): claiming any line says so, clearly."""

from __future__ import annotations

from typing import NoReturn

from harness.gpio.base import GpioBackend, GpioUnavailable, LineId


class NoneBackend(GpioBackend):
    name = "none"

    def _refuse(self, pin: LineId) -> NoReturn:
        raise GpioUnavailable(
            f"this rig has no GPIO wired (backend 'none'), so pin {pin} cannot be used",
            pin=pin,
            hint="set [gpio] backend and the pins in the rig file to use power control",
        )

    def _setup_output(self, pin: LineId, level: bool, drive: str = "push-pull") -> None:
        self._refuse(pin)

    def _setup_input(self, pin: LineId) -> None:
        self._refuse(pin)

    def _write(self, pin: LineId, level: bool) -> None:
        self._refuse(pin)

    def _read(self, pin: LineId) -> bool:
        self._refuse(pin)

    def _free(self, pins: list[LineId]) -> None:
        pass
