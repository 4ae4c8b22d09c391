"""Simulated GPIO: a plain in-memory set of pins, and a backend that drives them.

The simulated module watches `SimPins`; this file never imports the simulator, so the
power layer cannot tell a simulated line from a real one (DESIGN "two walls").
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from harness.clock import stamp
from harness.gpio.base import GpioBackend

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

    def _setup_output(self, pin: int, level: bool, drive: str = "push-pull") -> None:
        # Open-drain released reads high here: the simulated module's pull-up.
        self.pins._claim(pin, True)
        self.pins.drive(pin, level)

    def _setup_input(self, pin: int) -> None:
        self.pins._claim(pin, True)

    def _write(self, pin: int, level: bool) -> None:
        self.pins.drive(pin, level)

    def _read(self, pin: int) -> bool:
        return self.pins.level(pin)

    def _free(self, pins: list[int]) -> None:
        for pin in pins:
            self.pins._claim(pin, False)
