"""Linux GPIO character device through the libgpiod v2 Python bindings (`gpiod.request_lines`).

Works on any Linux board: the rig names the chip (/dev/gpiochip0; gpiochip4 for the header
on a Pi 5 with an older kernel) and line offsets. One request per line, released on release().
"""

from __future__ import annotations

import errno
import importlib
import os
from types import ModuleType
from typing import Any

from harness.gpio.base import GpioBackend, GpioUnavailable

INSTALL = "pip install 'modemcert[gpiod]' (the libgpiod v2 bindings, gpiod>=2.1)"
CONSUMER = "modemcert"


def _import() -> ModuleType:
    try:
        gpiod = importlib.import_module("gpiod")
    except ImportError as e:
        raise GpioUnavailable(
            f"the gpiod GPIO backend needs libgpiod's bindings ({e}): {INSTALL}"
        ) from None
    if not hasattr(gpiod, "request_lines"):
        version = getattr(gpiod, "__version__", "unknown")
        raise GpioUnavailable(
            f"the installed gpiod module (version {version}) is the libgpiod v1 API, which has "
            f"no request_lines(); modemcert needs v2: pip uninstall gpiod; {INSTALL}"
        )
    return gpiod


def chip_path(chip: str) -> str:
    """`gpiochip4` → `/dev/gpiochip4`; a path stays as it is."""
    return chip if chip.startswith("/") else f"/dev/{chip}"


class GpiodBackend(GpioBackend):
    """GPIO lines by offset on one gpiochip, each requested on its own."""

    name = "gpiod"

    def __init__(self, chip: str = "/dev/gpiochip0", consumer: str = CONSUMER) -> None:
        super().__init__()
        self._gpiod = _import()
        self._line = importlib.import_module("gpiod.line")
        self.chip = chip_path(chip)
        self.consumer = consumer
        self._requests: dict[int, Any] = {}

    def _request(self, pin: int, **settings: Any) -> None:
        gpiod = self._gpiod
        try:
            request = gpiod.request_lines(
                self.chip,
                consumer=self.consumer,
                config={pin: gpiod.LineSettings(**settings)},
            )
        except FileNotFoundError:
            chips = sorted(n for n in os.listdir("/dev") if n.startswith("gpiochip"))
            raise GpioUnavailable(
                f"{self.chip} does not exist; chips here: {', '.join(chips) or 'none'} "
                "(gpiodetect lists them); set gpio.chip in the rig file"
            ) from None
        except PermissionError:
            raise GpioUnavailable(
                f"no permission to open {self.chip}: add the user to the 'gpio' group "
                "(sudo adduser $USER gpio, then log in again) or add a udev rule"
            ) from None
        except OSError as e:
            if e.errno == errno.EBUSY:
                raise GpioUnavailable(
                    f"line {pin} on {self.chip} is held by another program "
                    "(gpioinfo shows its consumer); stop it or choose another pin"
                ) from None
            raise GpioUnavailable(f"cannot request line {pin} on {self.chip}: {e}") from None
        except ValueError as e:
            raise GpioUnavailable(f"line {pin} on {self.chip}: {e}") from None
        self._requests[pin] = request

    def _value(self, level: bool) -> Any:
        # No active_low in LineSettings: base.py maps active/inactive to levels itself, so
        # the bindings' ACTIVE/INACTIVE are plain high/low here.
        value = self._line.Value
        return value.ACTIVE if level else value.INACTIVE

    def _setup_output(self, pin: int, level: bool) -> None:
        self._request(pin, direction=self._line.Direction.OUTPUT, output_value=self._value(level))

    def _setup_input(self, pin: int) -> None:
        self._request(pin, direction=self._line.Direction.INPUT)

    def _write(self, pin: int, level: bool) -> None:
        self._requests[pin].set_value(pin, self._value(level))

    def _read(self, pin: int) -> bool:
        return self._requests[pin].get_value(pin) == self._line.Value.ACTIVE

    def _free(self, pins: list[int]) -> None:
        for pin in pins:
            request = self._requests.pop(pin, None)
            if request is not None:
                request.release()
