"""Faithful fakes of the three GPIO libraries the rpi and gpiod backends drive.

Each fake enforces the rules of the real library as documented and as its source reads
(RPi.GPIO 0.7.1, rpi-lgpio 0.6 over lgpio 0.2, libgpiod 2.x Python bindings): numbering mode
before anything, setup before output/input, busy lines held by another program, what cleanup
and release do, and the exception each failure really raises (RuntimeError, `lgpio.error`,
OSError with its errno). A `Header` stands for the hardware and the other programs on it: it
keeps each pin's function and level and a stamped history, so tests can check the exact
sequence of library calls of every power operation and measure pulse widths.
"""

from __future__ import annotations

import errno
import sys
import types
import warnings
from dataclasses import dataclass, field
from enum import Enum

import pytest

from harness.clock import stamp

# -- the hardware ---------------------------------------------------------------------------------


class Calls(list):
    """[(t_ns, name, args)] of every library call, in order."""

    def names(self) -> list[tuple]:
        return [(name, *args) for _, name, args in self]

    def of(self, *names: str) -> list[tuple]:
        return [(name, *args) for _, name, args in self if name in names]


@dataclass
class Header:
    """The 40-pin header and the rest of the system: functions, levels, other programs."""

    functions: dict[int, str] = field(default_factory=dict)  # "IN", "OUT" or an alt name
    latch: dict[int, int] = field(default_factory=dict)  # output latch per pin
    external: dict[int, int] = field(default_factory=dict)  # what drives an input (STATUS)
    pulled_up: set[int] = field(default_factory=set)  # module pull-ups (open-drain wiring)
    history: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    held: dict[int, str] = field(default_factory=dict)  # lines another program holds: consumer
    no_access: bool = False  # /dev/mem or /dev/gpiochip* not accessible
    soc_unknown: bool = False  # classic RPi.GPIO on a Pi 5

    def function(self, pin: int) -> str:
        return self.functions.get(pin, "IN")

    def level(self, pin: int) -> int:
        """The level on the wire: the latch of an output, else what drives it, else its pull."""
        if self.function(pin) == "OUT":
            return self.latch.get(pin, 0)
        return self.external.get(pin, 1 if pin in self.pulled_up else 0)

    def note(self, pin: int) -> None:
        level = self.level(pin)
        hist = self.history.setdefault(pin, [])
        if not hist or hist[-1][1] != level:
            hist.append((stamp(), level))

    def pulses(self, pin: int, level: int, scale: float) -> list[float]:
        """Module-second widths of each stretch at `level` on the wire."""
        out, since = [], None
        for t, lv in self.history.get(pin, []):
            if lv == level and since is None:
                since = t
            elif lv != level and since is not None:
                out.append((t - since) / 1e9 / scale)
                since = None
        return out


# -- RPi.GPIO 0.7.1 (the C extension; Pi 1-4) --------------------------------------------------
IN_USE = (
    "This channel is already in use, continuing anyway.  Use GPIO.setwarnings(False) to "
    "disable warnings."
)
NOTHING_TO_CLEAN = (
    "No channels have been set up yet - nothing to clean up!  Try cleaning up at the end of your "
    "program instead!"
)
ALT = {"SERIAL": 40, "SPI": 41, "I2C": 42, "HARD_PWM": 43}


def make_rpi_gpio(header: Header, calls: Calls) -> types.ModuleType:
    """RPi.GPIO as its C source behaves: mmap access checked on use, the in-use warning,
    output() only on a channel set up as an output, cleanup() only of set-up channels."""
    g = types.ModuleType("RPi.GPIO")
    g.BCM, g.BOARD, g.UNKNOWN = 11, 10, -1
    g.OUT, g.IN, g.HIGH, g.LOW = 0, 1, 1, 0
    g.PUD_OFF, g.PUD_DOWN, g.PUD_UP = 20, 21, 22
    g.SERIAL, g.SPI, g.I2C, g.HARD_PWM = 40, 41, 42, 43
    g.VERSION = "0.7.1"
    state = {"mode": None, "warnings": True, "direction": {}}

    def rec(name, *args):
        calls.append((stamp(), name, args))

    def hardware():
        if header.soc_unknown:
            raise RuntimeError("Cannot determine SOC peripheral base address")
        if header.no_access:
            raise RuntimeError("No access to /dev/mem.  Try running as root!")

    def channel(ch):
        if state["mode"] is None:
            raise RuntimeError(
                "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
                "GPIO.setmode(GPIO.BCM)"
            )
        if not isinstance(ch, int) or not 0 <= ch <= 27:
            raise ValueError("The channel sent is invalid on a Raspberry Pi")
        return ch

    def getmode():
        rec("getmode")
        return state["mode"]

    def setmode(mode):
        rec("setmode", mode)
        if state["mode"] is not None and mode != state["mode"]:
            raise ValueError("A different mode has already been set!")
        if mode not in (g.BCM, g.BOARD):
            raise ValueError("An invalid mode was passed to setmode()")
        state["mode"] = mode

    def setwarnings(flag):
        rec("setwarnings", flag)
        state["warnings"] = bool(flag)

    def gpio_function(ch):
        rec("gpio_function", ch)
        pin = channel(ch)
        hardware()
        f = header.function(pin)
        return {"IN": g.IN, "OUT": g.OUT}.get(f, ALT.get(f, g.UNKNOWN))

    def setup(ch, direction, pull_up_down=g.PUD_OFF, initial=-1):
        rec("setup", ch, "OUT" if direction == g.OUT else "IN", initial, pull_up_down)
        pin = channel(ch)
        if direction not in (g.IN, g.OUT):
            raise ValueError("An invalid direction was passed to setup()")
        if direction == g.OUT and pull_up_down != g.PUD_OFF:
            raise ValueError("pull_up_down parameter is not valid for outputs")
        if direction == g.IN and initial != -1:
            raise ValueError("initial parameter is not valid for inputs")
        hardware()
        f = header.function(pin)
        mine = state["direction"].get(pin, -1)
        if state["warnings"] and (f not in ("IN", "OUT") or (mine == -1 and f == "OUT")):
            warnings.warn(IN_USE, RuntimeWarning, stacklevel=2)
        if direction == g.OUT and initial in (g.LOW, g.HIGH):
            header.latch[pin] = initial  # the level is written before the function changes
        header.functions[pin] = "OUT" if direction == g.OUT else "IN"
        state["direction"][pin] = direction
        header.note(pin)

    def output(ch, value):
        rec("output", ch, value)
        pin = channel(ch)
        if state["direction"].get(pin, -1) != g.OUT:
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
        hardware()
        header.latch[pin] = 1 if value else 0
        header.note(pin)

    def input_(ch):
        rec("input", ch)
        pin = channel(ch)
        if state["direction"].get(pin, -1) not in (g.IN, g.OUT):
            raise RuntimeError("You must setup() the GPIO channel first")
        hardware()
        return header.level(pin)

    def cleanup(chans=None):
        rec("cleanup", chans)
        pins = list(state["direction"]) if chans is None else list(chans)
        found = False
        for pin in pins:
            if state["direction"].get(pin, -1) != -1:
                header.functions[pin] = "IN"
                del state["direction"][pin]
                header.note(pin)
                found = True
        if not found and state["warnings"]:
            warnings.warn(NOTHING_TO_CLEAN, RuntimeWarning, stacklevel=2)
        if chans is None:
            state["mode"] = None

    g.getmode, g.setmode, g.setwarnings, g.gpio_function = (
        getmode,
        setmode,
        setwarnings,
        gpio_function,
    )
    g.setup, g.output, g.input, g.cleanup = setup, output, input_, cleanup
    g._state = state
    return g


# -- lgpio 0.2 (Python module) and rpi-lgpio 0.6 (RPi.GPIO on top of it; Pi 5) --------------------
LG_INPUT, LG_OUTPUT, LG_ALERT, LG_GROUP = 0x100, 0x200, 0x400, 0x800
ERRORS = {
    -78: "can not open gpiochip",
    -79: "GPIO busy",
    -80: "GPIO not allocated",
    -104: "GPIO not an output",
}


def make_lgpio(header: Header, calls: Calls, chips: dict[int, str]) -> types.ModuleType:
    """lgpio: every failure raises `lgpio.error(error_text(code))` (exceptions on by default);
    a line claimed by another program is "GPIO busy"; one handle may re-claim its own line."""
    lg = types.ModuleType("lgpio")
    lg.exceptions = True
    lg.SET_ACTIVE_LOW, lg.SET_OPEN_DRAIN, lg.SET_OPEN_SOURCE = 4, 8, 16
    lg.SET_PULL_UP, lg.SET_PULL_DOWN, lg.SET_PULL_NONE = 32, 64, 128
    lg.GPIO_BUSY, lg.GPIO_NOT_ALLOCATED, lg.CANNOT_OPEN_CHIP = -79, -80, -78

    class error(Exception):
        def __init__(self, value):
            self.value = value

        def __str__(self):
            return repr(self.value)

    lg.error = error
    lg.error_text = lambda code: ERRORS.get(code, f"unknown error {code}")
    claims: dict[int, dict[int, tuple[str, int]]] = {}  # handle -> {gpio: (IN|OUT, flags)}

    def fail(code):
        raise error(lg.error_text(code))

    def rec(name, *args):
        calls.append((stamp(), name, args))

    def gpiochip_open(n):
        rec("gpiochip_open", n)
        if n not in chips or header.no_access:
            fail(-78)
        handle = len(claims) | (n << 16)
        claims[handle & 0xFFFF] = {}
        return handle

    def mine(h):
        return claims[h & 0xFFFF]

    def claim(h, gpio, kind, flags, level=None):
        own = mine(h)
        if gpio in header.held:
            fail(-79)
        if gpio in own and own[gpio][0] == "IN" and kind == "IN" and own[gpio][1] != flags:
            fail(-79)  # rpi-lgpio frees first for exactly this reason
        own[gpio] = (kind, flags)
        if kind == "OUT":
            header.latch[gpio] = 1 if level else 0
        header.functions[gpio] = kind
        header.note(gpio)
        return 0

    def gpio_claim_input(h, gpio, lFlags=0):
        rec("gpio_claim_input", gpio, lFlags)
        return claim(h, gpio, "IN", lFlags)

    def gpio_claim_output(h, gpio, level=0, lFlags=0):
        rec("gpio_claim_output", gpio, level, lFlags)
        return claim(h, gpio, "OUT", lFlags, level)

    def gpio_free(h, gpio):
        rec("gpio_free", gpio)
        if mine(h).pop(gpio, None) is None:
            fail(-80)
        header.functions[gpio] = "IN"
        header.note(gpio)
        return 0

    def gpio_write(h, gpio, level):
        rec("gpio_write", gpio, level)
        kind = mine(h).get(gpio)
        if kind is None:
            fail(-80)
        if kind[0] != "OUT":
            fail(-104)
        header.latch[gpio] = 1 if level else 0
        header.note(gpio)
        return 0

    def gpio_read(h, gpio):
        rec("gpio_read", gpio)
        if gpio not in mine(h):
            fail(-80)
        return header.level(gpio)

    def gpio_get_mode(h, gpio):
        rec("gpio_get_mode", gpio)
        kernel = 0
        if gpio in header.held:
            kernel |= 1 | (2 if header.function(gpio) == "OUT" else 0)
        own = mine(h).get(gpio)
        if own is not None:
            kernel |= 1 | (2 if own[0] == "OUT" else 0)
            kernel |= LG_OUTPUT if own[0] == "OUT" else LG_INPUT
        return kernel

    def gpiochip_close(h):
        rec("gpiochip_close", h)
        claims.pop(h & 0xFFFF, None)
        return 0

    for fn in (
        gpiochip_open,
        gpio_claim_input,
        gpio_claim_output,
        gpio_free,
        gpio_write,
        gpio_read,
        gpio_get_mode,
        gpiochip_close,
    ):
        setattr(lg, fn.__name__, fn)
    lg._claims = claims
    return lg


def make_rpi_lgpio(lg: types.ModuleType, calls: Calls, chip: int = 0) -> types.ModuleType:
    """rpi-lgpio: the RPi.GPIO API over lgpio. setmode() opens the chip; lgpio's own errors
    (`lgpio.error`) escape from setmode/setup/output; gpio_function knows only IN and OUT."""
    g = types.ModuleType("RPi.GPIO")
    g.lgpio = lg
    g.BCM, g.BOARD, g.UNKNOWN = 11, 10, -1
    g.OUT, g.IN, g.HIGH, g.LOW = 0, 1, 1, 0
    g.PUD_OFF, g.PUD_DOWN, g.PUD_UP = 20, 21, 22
    g.SERIAL, g.SPI, g.I2C, g.HARD_PWM = 40, 41, 42, 43
    g.VERSION = "0.7.2"
    state = {"mode": None, "chip": None, "warnings": True}
    pulls = {g.PUD_OFF: lg.SET_PULL_NONE, g.PUD_DOWN: lg.SET_PULL_DOWN, g.PUD_UP: lg.SET_PULL_UP}

    def rec(name, *args):
        calls.append((stamp(), name, args))

    def gpio(ch):
        if state["mode"] is None:
            raise RuntimeError(
                "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
                "GPIO.setmode(GPIO.BCM)"
            )
        if not 0 <= ch < 54:
            raise ValueError("The channel sent is invalid on a Raspberry Pi")
        return ch

    def getmode():
        rec("getmode")
        return state["mode"]

    def setmode(mode):
        rec("setmode", mode)
        if state["mode"] is not None and mode != state["mode"]:
            raise ValueError("A different mode has already been set!")
        if mode not in (g.BCM, g.BOARD):
            raise ValueError("An invalid mode was passed to setmode()")
        if state["chip"] is None:
            state["chip"] = lg.gpiochip_open(chip)
        state["mode"] = mode

    def setwarnings(flag):
        rec("setwarnings", flag)
        state["warnings"] = bool(flag)

    def gpio_function(ch):
        rec("gpio_function", ch)
        return g.OUT if lg.gpio_get_mode(state["chip"], gpio(ch)) & 0x2 else g.IN

    def setup(ch, direction, pull_up_down=None, initial=None):
        rec("setup", ch, "OUT" if direction == g.OUT else "IN", initial, pull_up_down)
        pin = gpio(ch)
        if direction == g.OUT:
            if pull_up_down is not None:
                raise ValueError("pull_up_down parameter is not valid for outputs")
            if initial is None:
                initial = lg.gpio_read(state["chip"], pin)
            lg.gpio_claim_output(state["chip"], pin, int(bool(initial)), lg.SET_PULL_NONE)
        elif direction == g.IN:
            if initial is not None:
                raise ValueError("initial parameter is not valid for inputs")
            try:
                lg.gpio_free(state["chip"], pin)
            except lg.error:
                pass
            lg.gpio_claim_input(state["chip"], pin, pulls[pull_up_down or g.PUD_OFF])
        else:
            raise ValueError("An invalid direction was passed to setup()")

    def output(ch, value):
        rec("output", ch, value)
        pin = gpio(ch)
        if not lg.gpio_get_mode(state["chip"], pin) & LG_OUTPUT:
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
        lg.gpio_write(state["chip"], pin, int(bool(value)))

    def input_(ch):
        rec("input", ch)
        pin = gpio(ch)
        if not lg.gpio_get_mode(state["chip"], pin) & (LG_INPUT | LG_OUTPUT | LG_ALERT | LG_GROUP):
            raise RuntimeError("You must setup() the GPIO channel first")
        return lg.gpio_read(state["chip"], pin)

    def cleanup(chans=None):
        rec("cleanup", chans)
        if state["chip"] is None:
            return
        for pin in chans if chans is not None else []:
            try:  # as rpi-lgpio: errors ignored during cleanup
                lg.gpio_claim_input(state["chip"], pin, lg.SET_PULL_NONE)
                lg.gpio_free(state["chip"], pin)
            except lg.error:
                pass

    g.getmode, g.setmode, g.setwarnings, g.gpio_function = (
        getmode,
        setmode,
        setwarnings,
        gpio_function,
    )
    g.setup, g.output, g.input, g.cleanup = setup, output, input_, cleanup
    return g


def _install_rpi(monkeypatch, module: types.ModuleType) -> None:
    package = types.ModuleType("RPi")
    package.GPIO = module
    monkeypatch.setitem(sys.modules, "RPi", package)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", module)


@dataclass
class FakeLib:
    module: types.ModuleType  # what `import RPi.GPIO` (or `import gpiod`) gives
    header: Header
    calls: Calls
    lgpio: types.ModuleType | None = None


@pytest.fixture
def header() -> Header:
    return Header(functions={14: "SERIAL", 15: "SERIAL"})


@pytest.fixture
def fake_rpi(monkeypatch, header) -> FakeLib:
    """Classic RPi.GPIO 0.7.1 on a Pi 4 (BCM 14/15 set to the UART)."""
    calls = Calls()
    module = make_rpi_gpio(header, calls)
    _install_rpi(monkeypatch, module)
    monkeypatch.setattr("harness.gpio.rpi.board_model", lambda: "Raspberry Pi 4 Model B Rev 1.5")
    return FakeLib(module, header, calls)


@pytest.fixture
def fake_rpi_lgpio(monkeypatch, header) -> FakeLib:
    """rpi-lgpio 0.6 over lgpio on a Pi 5 (/dev/gpiochip0 carries the header)."""
    calls = Calls()
    lg = make_lgpio(header, calls, {0: "pinctrl-rp1"})
    module = make_rpi_lgpio(lg, calls)
    _install_rpi(monkeypatch, module)
    monkeypatch.setitem(sys.modules, "lgpio", lg)
    monkeypatch.setattr("harness.gpio.rpi.board_model", lambda: "Raspberry Pi 5 Model B Rev 1.0")
    return FakeLib(module, header, calls, lg)


# -- libgpiod 2.x Python bindings ---------------------------------------------------------------
class Value(Enum):
    INACTIVE = 0
    ACTIVE = 1

    def __bool__(self) -> bool:
        return self is Value.ACTIVE


class Direction(Enum):
    AS_IS = 1
    INPUT = 2
    OUTPUT = 3


class Drive(Enum):
    PUSH_PULL = 1
    OPEN_DRAIN = 2
    OPEN_SOURCE = 3


class Bias(Enum):
    AS_IS = 1
    UNKNOWN = 2
    DISABLED = 3
    PULL_UP = 4
    PULL_DOWN = 5


@dataclass(repr=False)
class LineSettings:
    """gpiod.LineSettings: a dataclass with the real defaults (fields we use)."""

    direction: Direction = Direction.AS_IS
    bias: Bias = Bias.AS_IS
    drive: Drive = Drive.PUSH_PULL
    active_low: bool = False
    output_value: Value = Value.INACTIVE

    def __repr__(self) -> str:
        return (
            f"LineSettings({self.direction.name}, {self.drive.name}, "
            f"active_low={self.active_low}, {self.output_value.name})"
        )


class ChipClosedError(Exception):
    def __init__(self) -> None:
        super().__init__("I/O operation on closed chip")


class RequestReleasedError(Exception):
    def __init__(self) -> None:
        super().__init__("GPIO lines have been released")


@dataclass
class LineInfo:
    offset: int
    name: str | None
    used: bool
    consumer: str | None


@dataclass
class GpiodWorld:
    """The chips the kernel has and the lines other programs hold."""

    header: Header
    calls: Calls
    chips: dict[str, int] = field(default_factory=lambda: {"/dev/gpiochip0": 54})
    denied: set[str] = field(default_factory=set)
    mine: dict[tuple[str, int], str] = field(default_factory=dict)  # our requests: consumer

    def name_of(self, offset: int) -> str:
        return f"GPIO{offset}"


class FakeChip:
    """gpiod.Chip: open on construction (ENOENT / EACCES as OSError), names → offsets."""

    def __init__(self, world: GpiodWorld, path: str) -> None:
        world.calls.append((stamp(), "Chip", (path,)))
        if path in world.denied:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        if path not in world.chips:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.world, self.path, self._open = world, path, True

    def __enter__(self):
        self._check()
        return self

    def __exit__(self, *exc):
        self.close()

    def _check(self):
        if not self._open:
            raise ChipClosedError()

    def close(self) -> None:
        self._open = False

    def line_offset_from_id(self, id):
        self._check()
        n = self.world.chips[self.path]
        if isinstance(id, str):
            for offset in range(n):
                if self.world.name_of(offset) == id:
                    return offset
            try:
                offset = int(id)
            except ValueError:
                raise OSError(errno.ENOENT, "No such file or directory") from None
        else:
            offset = id
        if offset >= n:
            raise ValueError("line offset of out range")
        return offset

    def get_line_info(self, line) -> LineInfo:
        offset = self.line_offset_from_id(line)
        held = self.world.header.held.get(offset) or self.world.mine.get((self.path, offset))
        return LineInfo(offset, self.world.name_of(offset), held is not None, held)

    def request_lines(self, config, consumer=None, event_buffer_size=None, output_values=None):
        self._check()
        world = self.world
        world.calls.append((stamp(), "request_lines", (self.path, consumer, dict(config))))
        offsets: dict[int, LineSettings] = {}
        for key, settings in config.items():
            for line in key if isinstance(key, tuple) else (key,):
                offset = self.line_offset_from_id(line)
                if offset in offsets:
                    raise ValueError(
                        f"line must be configured exactly once - offset {offset} repeats"
                    )
                offsets[offset] = settings or LineSettings()
        for offset in offsets:
            if offset in world.header.held or (self.path, offset) in world.mine:
                raise OSError(errno.EBUSY, "Device or resource busy")
        for offset, settings in offsets.items():
            world.mine[(self.path, offset)] = consumer or "?"
            _apply(world.header, offset, settings)
        return FakeRequest(world, self.path, offsets)


def _apply(header: Header, offset: int, settings: LineSettings) -> None:
    if settings.direction is Direction.OUTPUT:
        high = settings.output_value is Value.ACTIVE
        if settings.drive is Drive.OPEN_DRAIN and high:
            header.functions[offset] = "IN"  # high = not driven: the pull-up sets the level
        else:
            header.functions[offset] = "OUT"
            header.latch[offset] = 1 if high else 0
    else:
        header.functions[offset] = "IN"
    header.note(offset)


class FakeRequest:
    """gpiod.LineRequest: values by offset; an input cannot be set (EPERM); released is final."""

    def __init__(self, world: GpiodWorld, path: str, offsets: dict[int, LineSettings]) -> None:
        self.world, self.path, self.settings, self._released = world, path, offsets, False

    def _check(self, line) -> int:
        if self._released:
            raise RequestReleasedError()
        if line not in self.settings:
            raise ValueError(f"unknown line: {line}")
        return line

    def set_value(self, line, value) -> None:
        self.world.calls.append((stamp(), "set_value", (line, value)))
        offset = self._check(line)
        settings = self.settings[offset]
        if settings.direction is not Direction.OUTPUT:
            raise OSError(errno.EPERM, "Operation not permitted")
        settings.output_value = value
        _apply(self.world.header, offset, settings)

    def get_value(self, line) -> Value:
        self.world.calls.append((stamp(), "get_value", (line,)))
        offset = self._check(line)
        return Value.ACTIVE if self.world.header.level(offset) else Value.INACTIVE

    def release(self) -> None:
        self.world.calls.append((stamp(), "release", tuple(self.settings)))
        if self._released:
            return
        self._released = True
        for offset in self.settings:
            self.world.mine.pop((self.path, offset), None)
            self.world.header.functions[offset] = "IN"  # the kernel leaves a freed line as input
            self.world.header.note(offset)


@pytest.fixture
def fake_gpiod(monkeypatch, header) -> GpiodWorld:
    """Fake libgpiod v2 bindings (`gpiod`, `gpiod.line`); yields the world they act on."""
    world = GpiodWorld(header, Calls())
    gpiod = types.ModuleType("gpiod")
    line = types.ModuleType("gpiod.line")
    line.Value, line.Direction, line.Drive, line.Bias = Value, Direction, Drive, Bias
    gpiod.line = line
    gpiod.LineSettings = LineSettings
    gpiod.Chip = lambda path: FakeChip(world, path)
    gpiod.ChipClosedError, gpiod.RequestReleasedError = ChipClosedError, RequestReleasedError

    def request_lines(path, config, consumer=None, event_buffer_size=None, output_values=None):
        with FakeChip(world, path) as chip:
            return chip.request_lines(config, consumer, event_buffer_size, output_values)

    gpiod.request_lines = request_lines
    gpiod.__version__ = "2.5.0"
    monkeypatch.setitem(sys.modules, "gpiod", gpiod)
    monkeypatch.setitem(sys.modules, "gpiod.line", line)
    return world
