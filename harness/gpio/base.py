"""One small GPIO interface: output lines, input lines, release; polarity and drive handled here.

A line is *active* when the module pin it drives is asserted (PWRKEY pressed, EMERG_OFF
pulled, STATUS high). Most HATs drive PWRKEY through a transistor, so a line's
`active_high` says which GPIO level means active; backends only see levels. A line wired
straight to a module pin must be `open-drain`: asserted = pulled low, released = left to the
module's own pull-up (never 3.3 V pushed into a pin the module pulls up to VBAT).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

from harness.errors import HarnessBug, RigFault, UsageFault

#: How an output drives its pin: both levels, or only low (high = released, high impedance).
DRIVES = ("push-pull", "open-drain")
#: A line is a BCM number / chip offset, or (gpiod) the line's name on its chip ("GPIO4").
LineId = int | str


# -- errors: every backend's failures become one of these --------------------------------------
class GpioUnavailable(RigFault, RuntimeError):
    """GPIO cannot be used here (library, chip, permission, a line in use): the rig cannot
    certify. The message names the backend, the pin (where there is one) and what to do."""

    def __init__(self, message: str, *, pin: LineId | None = None, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.pin = pin
        self.hint = hint


class GpioBusy(GpioUnavailable):
    """The line is held by another program (or set to another function); `holder` names it."""

    def __init__(self, message: str, *, pin: LineId, holder: str | None = None, hint: str = ""):
        super().__init__(message, pin=pin, hint=hint)
        self.holder = holder


class GpioNoAccess(GpioUnavailable):
    """No permission to the GPIO device (the user is not in the `gpio` group)."""


class GpioLineMissing(GpioUnavailable):
    """No such chip, or no such line on it (a wrong `gpio.chip` or line name)."""


class GpioConfigError(UsageFault, ValueError):
    """A line asked for in a way that cannot work (same pin twice, open-drain active-high)."""


class GpioReleased(HarnessBug, RuntimeError):
    """A line was used after the backend released every line: our bug, never the rig's."""


# -- lines ------------------------------------------------------------------------------------
class _Line:
    def __init__(
        self,
        backend: GpioBackend,
        name: str,
        pin: LineId,
        active_high: bool,
        drive: str = "push-pull",
    ) -> None:
        self.backend = backend
        self.name = name
        self.pin = pin
        self.active_high = active_high
        self.drive = drive

    def _level(self, active: bool) -> bool:
        return active if self.active_high else not active

    def __repr__(self) -> str:
        pol = "active-high" if self.active_high else "active-low"
        extra = "" if self.drive == "push-pull" else f" {self.drive}"
        return f"<{type(self).__name__} {self.name} pin {self.pin} {pol}{extra}>"


class OutputLine(_Line):
    """A host-driven line (PWRKEY, EMERG_OFF, supply relay); starts inactive."""

    _active = False  # until the first set_active()

    def set_active(self, active: bool) -> None:
        self.backend._write(self.pin, self._level(active))
        self._active = active

    def is_active(self) -> bool:
        """What this line was last driven to."""
        return self._active


class InputLine(_Line):
    """A line the module drives (STATUS)."""

    def is_active(self) -> bool:
        return self.backend._read(self.pin) == self.active_high


class GpioBackend(ABC):
    """Claims pins as lines; `release()` drives outputs inactive and frees every pin."""

    name = "abstract"

    def __init__(self) -> None:
        self._lines: dict[LineId, _Line] = {}
        self._lock = threading.Lock()
        self.released = False
        #: Conflicts a backend noticed but could go on with (a pin left as an output by
        #: another program or a killed run): shown by `modemcert doctor`, logged by the run.
        self.conflicts: list[str] = []

    # -- what backends implement ---------------------------------------------------------
    @abstractmethod
    def _setup_output(self, pin: LineId, level: bool, drive: str) -> None: ...

    @abstractmethod
    def _setup_input(self, pin: LineId) -> None: ...

    @abstractmethod
    def _write(self, pin: LineId, level: bool) -> None: ...

    @abstractmethod
    def _read(self, pin: LineId) -> bool: ...

    @abstractmethod
    def _free(self, pins: list[LineId]) -> None: ...

    def describe(self) -> str:
        """Which library and chip this backend drives (for doctor and the run's environment)."""
        return self.name

    # -- the interface -------------------------------------------------------------------
    def output(
        self, name: str, pin: LineId, *, active_high: bool = True, drive: str = "push-pull"
    ) -> OutputLine:
        if drive not in DRIVES:
            raise GpioConfigError(f"{name}: drive {drive!r} is not one of {', '.join(DRIVES)}")
        if drive == "open-drain" and active_high:
            raise GpioConfigError(
                f"{name} (pin {pin}): an open-drain line can only pull its pin low, so it must "
                'be "active-low" (asserted = pulled low, released = the module\'s pull-up)'
            )
        line = OutputLine(self, name, pin, active_high, drive)
        with self._claiming(line):
            self._setup_output(pin, line._level(False), drive)
        return line

    def input(self, name: str, pin: LineId, *, active_high: bool = True) -> InputLine:
        line = InputLine(self, name, pin, active_high)
        with self._claiming(line):
            self._setup_input(pin)
        return line

    def lines(self) -> list[_Line]:
        return list(self._lines.values())

    def release(self) -> None:
        """Safe state: every output inactive, then every pin freed. Idempotent."""
        with self._lock:
            if self.released:
                return
            self.released = True
            lines = list(self._lines.values())
        for line in lines:
            if isinstance(line, OutputLine):
                try:
                    line.set_active(False)
                except Exception:  # releasing must go on for the other lines
                    pass
        self._free([line.pin for line in lines])

    @contextmanager
    def _claiming(self, line: _Line) -> Iterator[None]:
        """Reserve the pin, set it up, and keep it only if the set-up worked."""
        with self._lock:
            if self.released:
                raise GpioReleased(f"GPIO backend {self.name} was already released")
            other = self._lines.get(line.pin)
            if other is not None:
                raise GpioConfigError(f"GPIO pin {line.pin} is already used by {other.name}")
            self._lines[line.pin] = line
        try:
            yield
        except BaseException:
            with self._lock:
                self._lines.pop(line.pin, None)
            raise
