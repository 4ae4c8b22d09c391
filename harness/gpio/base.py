"""One small GPIO interface: output lines, input lines, release; polarity handled here.

A line is *active* when the module pin it drives is asserted (PWRKEY pressed, EMERG_OFF
pulled, STATUS high). Most HATs drive PWRKEY through a transistor, so a line's
`active_high` says which GPIO level means active; backends only see levels.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager


class GpioUnavailable(RuntimeError):
    """This backend cannot work on this machine; the message says what to install."""


class _Line:
    def __init__(self, backend: GpioBackend, name: str, pin: int, active_high: bool) -> None:
        self.backend = backend
        self.name = name
        self.pin = pin
        self.active_high = active_high

    def _level(self, active: bool) -> bool:
        return active if self.active_high else not active

    def __repr__(self) -> str:
        pol = "active-high" if self.active_high else "active-low"
        return f"<{type(self).__name__} {self.name} pin {self.pin} {pol}>"


class OutputLine(_Line):
    """A host-driven line (PWRKEY, EMERG_OFF, supply relay); starts inactive."""

    def __init__(self, backend, name, pin, active_high) -> None:
        super().__init__(backend, name, pin, active_high)
        self._active = False

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
        self._lines: dict[int, _Line] = {}
        self._lock = threading.Lock()
        self.released = False

    # -- what backends implement ---------------------------------------------------------
    @abstractmethod
    def _setup_output(self, pin: int, level: bool) -> None: ...

    @abstractmethod
    def _setup_input(self, pin: int) -> None: ...

    @abstractmethod
    def _write(self, pin: int, level: bool) -> None: ...

    @abstractmethod
    def _read(self, pin: int) -> bool: ...

    @abstractmethod
    def _free(self, pins: list[int]) -> None: ...

    # -- the interface -------------------------------------------------------------------
    def output(self, name: str, pin: int, *, active_high: bool = True) -> OutputLine:
        line = OutputLine(self, name, pin, active_high)
        with self._claiming(line):
            self._setup_output(pin, line._level(False))
        return line

    def input(self, name: str, pin: int, *, active_high: bool = True) -> InputLine:
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
                raise RuntimeError(f"GPIO backend {self.name} was already released")
            other = self._lines.get(line.pin)
            if other is not None:
                raise ValueError(f"GPIO pin {line.pin} is already used by {other.name}")
            self._lines[line.pin] = line
        try:
            yield
        except BaseException:
            with self._lock:
                self._lines.pop(line.pin, None)
            raise
