"""Simulated GPIO: a plain in-memory set of pins, and a backend that drives them.

The simulated module watches `SimPins`; this file never imports the simulator, so the
power layer cannot tell a simulated line from a real one (DESIGN "two walls").
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from harness.clock import stamp
from harness.gpio.base import GpioBackend, GpioLineMissing, LineId

Watcher = Callable[[int, bool, int], None]  # (pin, level, stamp_ns)


class SimPins:
    """Pin levels by BCM number, with a change history; unset pins read `default`."""

    def __init__(self, default: bool = False) -> None:
        self._default = default
        self._levels: dict[int, bool] = {}
        self._history: dict[int, list[tuple[int, bool]]] = {}
        self._watchers: list[Watcher] = []
        self._claimed: set[int] = set()
        self._lock = threading.Lock()

    def drive(self, pin: int, level: bool) -> None:
        """Set a pin's level (the host for outputs, the module for STATUS); tells watchers."""
        t = stamp()
        with self._lock:
            self._levels[pin] = level
            self._history.setdefault(pin, []).append((t, level))
            watchers = list(self._watchers)
        for watch in watchers:
            watch(pin, level, t)

    def level(self, pin: int) -> bool:
        with self._lock:
            return self._levels.get(pin, self._default)

    def history(self, pin: int) -> list[tuple[int, bool]]:
        """Every (stamp_ns, level) the pin was driven to, oldest first."""
        with self._lock:
            return list(self._history.get(pin, ()))

    def watch(self, callback: Watcher) -> Callable[[], None]:
        """Call `callback(pin, level, stamp_ns)` on every change; returns the unsubscribe."""
        with self._lock:
            self._watchers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._watchers:
                    self._watchers.remove(callback)

        return unsubscribe

    def claimed(self) -> set[int]:
        """Pins a host backend currently holds (empty once released)."""
        with self._lock:
            return set(self._claimed)

    def _claim(self, pin: int, claim: bool) -> None:
        with self._lock:
            (self._claimed.add if claim else self._claimed.discard)(pin)


class SimBackend(GpioBackend):
    """The host's side of `SimPins`: outputs drive pins, inputs read them."""

    name = "sim"

    def __init__(self, pins: SimPins) -> None:
        super().__init__()
        self.pins = pins

    def _setup_output(self, pin: LineId, level: bool, drive: str = "push-pull") -> None:
        # Open-drain released reads high here: the simulated module's pull-up.
        bcm = bcm_pin(pin)
        self.pins._claim(bcm, True)
        self.pins.drive(bcm, level)

    def _setup_input(self, pin: LineId) -> None:
        self.pins._claim(bcm_pin(pin), True)

    def _write(self, pin: LineId, level: bool) -> None:
        self.pins.drive(bcm_pin(pin), level)

    def _read(self, pin: LineId) -> bool:
        return self.pins.level(bcm_pin(pin))

    def _free(self, pins: list[LineId]) -> None:
        for pin in pins:
            self.pins._claim(bcm_pin(pin), False)


def bcm_pin(pin: LineId) -> int:
    """The simulated HAT's pin for a line: pins are BCM numbers, so a line name (gpiod's "GPIO4")
    is none of them. The rig file already refuses names for the sim backend."""
    if isinstance(pin, str):
        raise GpioLineMissing(
            f"the simulated HAT has no line named {pin!r}",
            pin=pin,
            hint="give the sim backend BCM pin numbers (0..27)",
        )
    return pin
