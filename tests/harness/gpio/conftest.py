"""Fake `RPi.GPIO` and `gpiod` modules injected into sys.modules, recording every call.

Each call is kept as `(stamp_ns, name, args)`, so tests can check the exact sequence and
measure pulse widths between two writes.
"""

from __future__ import annotations

import errno
import sys
import types
from enum import Enum

import pytest

from harness.clock import stamp


class Calls(list):
    """[(t_ns, name, args)] with helpers for the tests."""

    def names(self) -> list[tuple]:
        return [(name, *args) for _, name, args in self]

    def writes(self, pin: int) -> list[tuple[int, object]]:
        """(t_ns, level) of every write to `pin`, however the backend spells it."""
        out = []
        for t, name, args in self:
            if name in ("output", "set_value") and args[0] == pin:
                out.append((t, args[1]))
        return out


def make_rpi(calls: Calls, levels: dict[int, int], mode: object = None) -> types.ModuleType:
    gpio = types.ModuleType("RPi.GPIO")
    gpio.BCM, gpio.BOARD = 11, 10
    gpio.OUT, gpio.IN = 0, 1
    gpio.HIGH, gpio.LOW = 1, 0
    gpio.PUD_OFF, gpio.PUD_UP, gpio.PUD_DOWN = 20, 22, 21
    state = {"mode": mode}

    def rec(name, *args):
        calls.append((stamp(), name, args))

    def getmode():
        rec("getmode")
        return state["mode"]

    def setmode(m):
        rec("setmode", m)
        state["mode"] = m

    def setup(pin, direction, initial=None, pull_up_down=None):
        if direction == gpio.OUT:
            rec("setup", pin, "OUT", initial)
            levels[pin] = initial
        else:
            rec("setup", pin, "IN", pull_up_down)

    def output(pin, level):
        rec("output", pin, level)
        levels[pin] = level

    def input_(pin):
        rec("input", pin)
        return levels.get(pin, 0)

    gpio.getmode, gpio.setmode, gpio.setup, gpio.output, gpio.input = (
        getmode,
        setmode,
        setup,
        output,
        input_,
    )
    gpio.setwarnings = lambda flag: rec("setwarnings", flag)
    gpio.cleanup = lambda pins=None: rec("cleanup", pins)
    return gpio


@pytest.fixture
def fake_rpi(monkeypatch):
    """Install a fake RPi.GPIO; yields (module, calls, levels)."""
    calls, levels = Calls(), {}
    gpio = make_rpi(calls, levels)
    package = types.ModuleType("RPi")
    package.GPIO = gpio
    monkeypatch.setitem(sys.modules, "RPi", package)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", gpio)
    return gpio, calls, levels


class Direction(Enum):
    AS_IS = 1
    INPUT = 2
    OUTPUT = 3


class Value(Enum):
    INACTIVE = 0
    ACTIVE = 1


class LineSettings:
    def __init__(self, **settings):
        self.settings = settings

    def __eq__(self, other):
        return isinstance(other, LineSettings) and other.settings == self.settings

    def __repr__(self):
        return f"LineSettings({self.settings})"


class FakeChips:
    """The chips that exist, the lines other programs hold, and what was asked of them."""

    Direction, Value, LineSettings = Direction, Value, LineSettings

    def __init__(self, calls: Calls) -> None:
        self.calls = calls
        self.paths = {"/dev/gpiochip0", "/dev/gpiochip4"}
        self.busy: set[int] = set()
        self.denied: set[str] = set()
        self.levels: dict[int, Value] = {}

    def request_lines(self, path, consumer=None, config=None, **_):
        ((pin, settings),) = config.items()
        self.calls.append((stamp(), "request_lines", (path, consumer, pin, settings)))
        if path in self.denied:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        if path not in self.paths:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        if pin in self.busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        if "output_value" in settings.settings:
            self.levels[pin] = settings.settings["output_value"]
        return FakeRequest(self, pin)


class FakeRequest:
    def __init__(self, chips: FakeChips, pin: int) -> None:
        self.chips, self.pin = chips, pin

    def set_value(self, pin, value):
        assert pin == self.pin, "a request only drives its own line"
        self.chips.calls.append((stamp(), "set_value", (pin, value)))
        self.chips.levels[pin] = value

    def get_value(self, pin):
        assert pin == self.pin
        self.chips.calls.append((stamp(), "get_value", (pin,)))
        return self.chips.levels.get(pin, Value.INACTIVE)

    def release(self):
        self.chips.calls.append((stamp(), "release", (self.pin,)))


@pytest.fixture
def fake_gpiod(monkeypatch):
    """Install fake libgpiod v2 bindings (`gpiod`, `gpiod.line`); yields the FakeChips."""
    chips = FakeChips(Calls())
    gpiod = types.ModuleType("gpiod")
    line = types.ModuleType("gpiod.line")
    line.Direction, line.Value = Direction, Value
    gpiod.line = line
    gpiod.LineSettings = LineSettings
    gpiod.request_lines = chips.request_lines
    gpiod.__version__ = "2.2.0"
    monkeypatch.setitem(sys.modules, "gpiod", gpiod)
    monkeypatch.setitem(sys.modules, "gpiod.line", line)
    return chips
