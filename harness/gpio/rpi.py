"""Raspberry Pi GPIO through the `RPi.GPIO` API (BCM numbers): classic RPi.GPIO on a Pi 1–4,
rpi-lgpio (the same import, on the kernel's gpiochip through lgpio) on a Pi 5.

Sets up, drives and cleans up only its own pins. Every failure of either library (RuntimeError,
`lgpio.error`) becomes a `GpioUnavailable` naming the pin and what to do; a pin another program
or a killed run left as an output is reported (`conflicts`), never silenced.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.gpio.base import (
    GpioBackend,
    GpioBusy,
    GpioConfigError,
    GpioLineMissing,
    GpioNoAccess,
    GpioUnavailable,
    LineId,
)

log = logging.getLogger("modemcert.gpio")

#: The exact install commands (docs/rigs.md "GPIO libraries" explains them).
INSTALL_PI = (
    "pip install -e '.[pi]' (RPi.GPIO, Pi 1-4; 64-bit Pi OS: apt install python3-dev gcc first)"
)
INSTALL_PI5 = (
    "pip uninstall -y RPi.GPIO; pip install -e '.[pi5]' (rpi-lgpio, which brings lgpio; "
    "it provides the same `import RPi.GPIO`)"
)
INSTALL = f"on a Pi 1-4: {INSTALL_PI}; on a Pi 5: {INSTALL_PI5}"
GROUP_HINT = "add the user to the 'gpio' group (sudo adduser $USER gpio, then log in again)"
MODEL_FILE = Path("/proc/device-tree/model")
#: What `RPi.GPIO.gpio_function()` calls the pin functions that are not plain GPIO.
ALT_FUNCTIONS = {40: "SERIAL", 41: "SPI", 42: "I2C", 43: "HARD_PWM", -1: "an alternate function"}


def board_model() -> str:
    """The board's model string ("Raspberry Pi 5 Model B Rev 1.0"), "" where unknown."""
    try:
        return MODEL_FILE.read_bytes().rstrip(b"\0").decode("ascii", "replace").strip()
    except OSError:
        return ""


def is_pi5(model: str | None = None) -> bool:
    return "Raspberry Pi 5" in (board_model() if model is None else model)


def _import() -> ModuleType:
    try:
        return importlib.import_module("RPi.GPIO")
    except ImportError as e:
        raise GpioUnavailable(
            f"the rpi GPIO backend needs RPi.GPIO or rpi-lgpio ({e})", hint=INSTALL
        ) from None
    except RuntimeError as e:  # "This module can only be run on a Raspberry Pi!"
        raise GpioUnavailable(
            f"RPi.GPIO cannot work on this machine ({e})",
            hint="not a Raspberry Pi: use gpio backend 'gpiod' (any Linux board) or the sim rig",
        ) from None
    except OSError as e:  # lgpio opens a notification pipe (.lgd-nfy*) in the working directory
        raise GpioUnavailable(
            f"lgpio (under rpi-lgpio) could not start ({e})",
            hint="run from a writable working directory, or set LG_WD to one "
            "(the nightly unit sets LG_WD=/var/lib/modemcert)",
        ) from None


class RpiBackend(GpioBackend):
    """GPIO by BCM number through RPi.GPIO (or rpi-lgpio's drop-in on a Pi 5)."""

    name = "rpi"

    def __init__(self, module: ModuleType | None = None, model: str | None = None) -> None:
        super().__init__()
        gpio = self._gpio = module if module is not None else _import()
        lgpio = getattr(gpio, "lgpio", None)  # rpi-lgpio imports lgpio; classic RPi.GPIO not
        self.library = "rpi-lgpio" if lgpio is not None else "RPi.GPIO"
        self._errors: tuple[type[BaseException], ...] = (RuntimeError,)
        if lgpio is not None and isinstance(getattr(lgpio, "error", None), type):
            self._errors = (RuntimeError, lgpio.error)
        self.model = board_model() if model is None else model
        if self.library == "RPi.GPIO" and is_pi5(self.model):
            raise GpioUnavailable(
                f"{self.model}: the classic RPi.GPIO cannot reach a Pi 5's GPIO (the header is "
                "on the RP1 chip)",
                hint=INSTALL_PI5,
            )
        self._open_drain: set[int] = set()
        mode = self._call("read the numbering mode of", None, gpio.getmode)
        if mode is None:
            self._call("open the GPIO chip for", None, gpio.setmode, gpio.BCM)
        elif mode != gpio.BCM:
            raise GpioConfigError(
                "RPi.GPIO is already set to BOARD numbering in this process; modemcert's rig "
                "files use BCM numbers, so nothing else here may call GPIO.setmode(GPIO.BOARD)"
            )

    def describe(self) -> str:
        chip = ""
        if self.library == "rpi-lgpio":
            chip = f", chip {os.environ.get('RPI_LGPIO_CHIP', 'found by rpi-lgpio')}"
        board = f" on {self.model}" if self.model else ""
        return f"rpi ({self.library}{chip}){board}"

    # -- every library call goes through here ---------------------------------------------------
    def _call(self, what: str, pin: LineId | None, fn: Callable[..., Any], *args, **kwargs) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._errors as e:
            raise self._error(what, pin, e) from None
        except ValueError as e:  # "The channel sent is invalid on a Raspberry Pi"
            raise GpioConfigError(f"{self.library} could not {what} BCM {pin}: {e}") from None

    def _error(self, what: str, pin: LineId | None, e: BaseException) -> GpioUnavailable:
        text = str(getattr(e, "value", None) or e).strip("'\"")
        where = f" BCM {pin}" if pin is not None else ""
        message = f"{self.library} could not {what}{where}: {text}"
        low = text.lower()
        if "busy" in low or "not allocated" in low or "in use" in low:
            return GpioBusy(
                message,
                pin=pin if pin is not None else -1,
                hint="another program holds the line (gpioinfo shows its consumer); stop it, "
                "or choose another pin in the rig file",
            )
        if "/dev/mem" in low or "permission" in low or "not permitted" in low:
            return GpioNoAccess(message, pin=pin, hint=GROUP_HINT)
        if "gpiochip" in low:
            return _chip_error(message, pin)
        if "soc peripheral base" in low or "not running on a rpi" in low:
            return GpioUnavailable(
                message, pin=pin, hint=f"on a Raspberry Pi 5 use rpi-lgpio: {INSTALL_PI5}"
            )
        return GpioUnavailable(message, pin=pin, hint=f"{GROUP_HINT}; {INSTALL}")

    def _bcm(self, pin: LineId) -> int:
        if isinstance(pin, str):
            raise GpioConfigError(
                f"the rpi backend takes BCM numbers, not line names ({pin!r}); use a number, "
                "or backend 'gpiod' which also takes names"
            )
        return pin

    def _claimable(self, pin: int) -> None:
        """Refuse a pin set to another function; report one left as an output by others."""
        g = self._gpio
        function = getattr(g, "gpio_function", None)
        if function is None:
            return
        now = self._call("read the function of", pin, function, pin)
        if now in (g.IN, g.OUT):
            if now == g.OUT:
                self._conflict(
                    f"BCM {pin} was already an output before modemcert claimed it: another "
                    "program drives it, or a run was killed (check with: pinctrl get "
                    f"{pin} / gpioinfo)"
                )
            return
        raise GpioBusy(
            f"BCM {pin} is set to {ALT_FUNCTIONS.get(now, f'function {now}')}, not GPIO",
            pin=pin,
            hint="a device-tree overlay or another driver uses it (raspi-config, "
            "/boot/firmware/config.txt); choose another pin in the rig file",
        )

    def _conflict(self, text: str) -> None:
        if text not in self.conflicts:
            self.conflicts.append(text)
            log.warning("GPIO: %s", text)

    def _setup(self, pin: int, *args: Any, **kwargs: Any) -> None:
        """setup() with RPi.GPIO's "already in use" warning turned into a reported conflict."""
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            self._call("set up", pin, self._gpio.setup, pin, *args, **kwargs)
        for w in seen:
            self._conflict(f"BCM {pin}: {self.library} warned: {w.message}")

    # -- the backend operations -----------------------------------------------------------------
    def _setup_output(self, pin: LineId, level: bool, drive: str = "push-pull") -> None:
        pin = self._bcm(pin)
        self._claimable(pin)
        if drive == "open-drain":
            self._open_drain.add(pin)
            self._drive_open_drain(pin, level)
            return
        g = self._gpio
        # RPi.GPIO writes the level before switching the pin to output: no glitch.
        self._setup(pin, g.OUT, initial=g.HIGH if level else g.LOW)

    def _drive_open_drain(self, pin: int, level: bool) -> None:
        """Emulated open drain: low = an output at LOW; high = an input (the pin floats and
        the module's pull-up sets the level)."""
        g = self._gpio
        if level:
            self._setup(pin, g.IN, pull_up_down=g.PUD_OFF)
        else:
            self._setup(pin, g.OUT, initial=g.LOW)

    def _setup_input(self, pin: LineId) -> None:
        pin = self._bcm(pin)
        self._claimable(pin)
        g = self._gpio
        # STATUS is driven by the module (through the HAT's buffer): no pull resistor.
        self._setup(pin, g.IN, pull_up_down=g.PUD_OFF)

    def _write(self, pin: LineId, level: bool) -> None:
        pin = self._bcm(pin)
        if pin in self._open_drain:
            self._drive_open_drain(pin, level)
            return
        g = self._gpio
        self._call("drive", pin, g.output, pin, g.HIGH if level else g.LOW)

    def _read(self, pin: LineId) -> bool:
        pin = self._bcm(pin)
        return bool(self._call("read", pin, self._gpio.input, pin))

    def _free(self, pins: list[LineId]) -> None:
        if pins:  # cleanup() with no argument would reset every pin of the process
            with contextlib.suppress(*self._errors):
                self._gpio.cleanup(sorted(self._bcm(p) for p in pins))
        self._open_drain.clear()


def _chip_error(message: str, pin: LineId | None) -> GpioUnavailable:
    """rpi-lgpio's "can not open gpiochip": no chip, or no permission to it."""
    chips = sorted(str(p) for p in Path("/dev").glob("gpiochip*"))
    if chips and not any(os.access(c, os.R_OK | os.W_OK) for c in chips):
        return GpioNoAccess(message, pin=pin, hint=f"{GROUP_HINT} ({', '.join(chips)})")
    return GpioLineMissing(
        message,
        pin=pin,
        hint=f"chips here: {', '.join(chips) or 'none'}; set RPI_LGPIO_CHIP=<n> if rpi-lgpio "
        "picks the wrong one, or use backend 'gpiod' with gpio.chip",
    )
