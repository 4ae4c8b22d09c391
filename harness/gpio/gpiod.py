"""Linux GPIO character device through the libgpiod v2 Python bindings (`gpiod.Chip`).

Works on any Linux board: the rig names the chip (/dev/gpiochip0; gpiochip4 for the header on
a Pi 5 with an older kernel) and each line by offset or by name ("GPIO4"). One request per
line, released on release(); open-drain lines use the kernel's own open-drain drive. A line
held by another program is reported with that program's consumer name.
"""

from __future__ import annotations

import errno
import importlib
import os
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

INSTALL = "pip install -e '.[gpiod]' (the libgpiod v2 bindings, gpiod>=2.1)"
CONSUMER = "modemcert"
GROUP_HINT = "add the user to the 'gpio' group (sudo adduser $USER gpio, then log in again)"


def _import() -> ModuleType:
    try:
        gpiod = importlib.import_module("gpiod")
    except ImportError as e:
        raise GpioUnavailable(
            f"the gpiod GPIO backend needs libgpiod's bindings ({e})", hint=INSTALL
        ) from None
    if not hasattr(gpiod, "request_lines") or not hasattr(gpiod, "Chip"):
        version = getattr(gpiod, "__version__", "unknown")
        raise GpioUnavailable(
            f"the installed gpiod module (version {version}) is the libgpiod v1 API, which has "
            "no request_lines(); modemcert needs v2",
            hint=f"pip uninstall gpiod; {INSTALL}",
        )
    return gpiod


def chip_path(chip: str) -> str:
    """`gpiochip4` → `/dev/gpiochip4`; a path stays as it is."""
    return chip if chip.startswith("/") else f"/dev/{chip}"


def chips_here() -> str:
    return ", ".join(sorted(n for n in os.listdir("/dev") if n.startswith("gpiochip"))) or "none"


class GpiodBackend(GpioBackend):
    """GPIO lines by offset or name on one gpiochip, each requested on its own."""

    name = "gpiod"

    def __init__(self, chip: str = "/dev/gpiochip0", consumer: str = CONSUMER) -> None:
        super().__init__()
        self._gpiod = _import()
        self._line = importlib.import_module("gpiod.line")
        self.chip = chip_path(chip)
        self.consumer = consumer
        self._requests: dict[LineId, Any] = {}
        self.offsets: dict[LineId, int] = {}  # each line's offset, also for named lines

    def describe(self) -> str:
        return f"gpiod (libgpiod {getattr(self._gpiod, '__version__', '?')}, {self.chip})"

    # -- requesting -----------------------------------------------------------------------------
    def _open_chip(self, pin: LineId) -> Any:
        try:
            return self._gpiod.Chip(self.chip)
        except PermissionError:
            raise GpioNoAccess(
                f"no permission to open {self.chip} (for line {pin})", pin=pin, hint=GROUP_HINT
            ) from None
        except FileNotFoundError:
            raise GpioLineMissing(
                f"{self.chip} does not exist (for line {pin})",
                pin=pin,
                hint=f"chips here: {chips_here()} (gpiodetect lists them); set gpio.chip in "
                "the rig file",
            ) from None
        except OSError as e:
            raise GpioLineMissing(
                f"cannot open {self.chip} as a GPIO chip: {e.strerror or e}",
                pin=pin,
                hint=f"chips here: {chips_here()}; set gpio.chip in the rig file",
            ) from None

    def _offset(self, chip: Any, pin: LineId) -> int:
        try:
            return int(chip.line_offset_from_id(pin))
        except (OSError, ValueError) as e:
            what = f"no line named {pin!r}" if isinstance(pin, str) else f"no line {pin}"
            raise GpioLineMissing(
                f"{self.chip} has {what} ({e})",
                pin=pin,
                hint="gpioinfo lists the chip's lines by offset and name; fix the rig's pin",
            ) from None

    def _request(self, pin: LineId, **settings: Any) -> None:
        with self._open_chip(pin) as chip:
            offset = self._offset(chip, pin)
            try:
                request = chip.request_lines(
                    config={offset: self._gpiod.LineSettings(**settings)},
                    consumer=self.consumer,
                )
            except OSError as e:
                if e.errno == errno.EBUSY:
                    holder = self._holder(chip, offset)
                    raise GpioBusy(
                        f"line {pin} (offset {offset}) on {self.chip} is held by "
                        f"{holder or 'another program'}",
                        pin=pin,
                        holder=holder,
                        hint="stop that program, or choose another pin in the rig file",
                    ) from None
                if e.errno in (errno.EPERM, errno.EACCES):
                    raise GpioNoAccess(
                        f"no permission to request line {pin} on {self.chip}",
                        pin=pin,
                        hint=GROUP_HINT,
                    ) from None
                raise GpioUnavailable(
                    f"cannot request line {pin} on {self.chip}: {e.strerror or e}", pin=pin
                ) from None
            except ValueError as e:
                raise GpioConfigError(f"line {pin} on {self.chip}: {e}") from None
        self._requests[pin] = request
        self.offsets[pin] = offset

    @staticmethod
    def _holder(chip: Any, offset: int) -> str | None:
        try:
            info = chip.get_line_info(offset)
        except (OSError, ValueError):
            return None
        consumer = getattr(info, "consumer", None)
        return f"consumer {consumer!r}" if consumer else None

    def _value(self, level: bool) -> Any:
        # No active_low in LineSettings: base.py maps active/inactive to levels itself, so
        # the bindings' ACTIVE/INACTIVE are plain high/low here.
        value = self._line.Value
        return value.ACTIVE if level else value.INACTIVE

    def _setup_output(self, pin: LineId, level: bool, drive: str = "push-pull") -> None:
        line = self._line
        self._request(
            pin,
            direction=line.Direction.OUTPUT,
            drive=line.Drive.OPEN_DRAIN if drive == "open-drain" else line.Drive.PUSH_PULL,
            output_value=self._value(level),
        )

    def _setup_input(self, pin: LineId) -> None:
        self._request(pin, direction=self._line.Direction.INPUT)

    def _io(self, what: str, pin: LineId, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except OSError as e:
            raise GpioUnavailable(
                f"could not {what} line {pin} on {self.chip}: {e.strerror or e}", pin=pin
            ) from None

    def _write(self, pin: LineId, level: bool) -> None:
        request = self._requests[pin]
        self._io("drive", pin, request.set_value, self.offsets[pin], self._value(level))

    def _read(self, pin: LineId) -> bool:
        request = self._requests[pin]
        value = self._io("read", pin, request.get_value, self.offsets[pin])
        return value == self._line.Value.ACTIVE

    def _free(self, pins: list[LineId]) -> None:
        for pin in pins:
            request = self._requests.pop(pin, None)
            if request is not None:
                try:
                    request.release()
                except Exception:  # freeing goes on for the other lines
                    pass
