"""The gpiod backend against faithful libgpiod v2 bindings: exact calls of every power
operation, lines by name, the kernel's open-drain drive, busy lines named by their consumer."""

from __future__ import annotations

import sys
import types

import pytest

from harness import limits
from harness.clock import Clock
from harness.errors import RigFault
from harness.gpio.base import GpioBusy, GpioLineMissing, GpioNoAccess, GpioUnavailable
from harness.gpio.gpiod import GpiodBackend, chip_path
from harness.power import Power, PowerLines

SCALE = 0.1
PWRKEY, EMERG_OFF, STATUS = 4, 17, 27


def test_every_power_operation_calls_exactly(fake_gpiod):
    world = fake_gpiod
    from gpiod import LineSettings  # the fake, installed by the fixture
    from gpiod.line import Direction, Drive, Value

    backend = GpiodBackend("gpiochip0")
    lines = PowerLines(
        pwrkey=backend.output("PWRKEY", PWRKEY), emerg_off=backend.output("EMERG_OFF", "GPIO17")
    )
    out = LineSettings(
        direction=Direction.OUTPUT, drive=Drive.PUSH_PULL, output_value=Value.INACTIVE
    )
    assert world.calls.names() == [
        ("Chip", "/dev/gpiochip0"),
        ("request_lines", "/dev/gpiochip0", "modemcert", {PWRKEY: out}),
        ("Chip", "/dev/gpiochip0"),
        ("request_lines", "/dev/gpiochip0", "modemcert", {EMERG_OFF: out}),  # name → offset
    ]
    power = Power(backend, lines, Clock(SCALE))
    steps = {}
    for name, op in (
        ("on", power.power_on),
        ("off", power.power_off),
        ("emergency", power.emergency_off),
    ):
        world.calls.clear()
        op()
        steps[name] = world.calls.names()
    world.calls.clear()
    backend.release()
    steps["release"] = world.calls.names()
    assert steps == {
        "on": [("set_value", PWRKEY, Value.ACTIVE), ("set_value", PWRKEY, Value.INACTIVE)],
        "off": [("set_value", PWRKEY, Value.ACTIVE), ("set_value", PWRKEY, Value.INACTIVE)],
        "emergency": [
            ("set_value", EMERG_OFF, Value.ACTIVE),
            ("set_value", EMERG_OFF, Value.INACTIVE),
        ],
        "release": [
            ("set_value", PWRKEY, Value.INACTIVE),
            ("set_value", EMERG_OFF, Value.INACTIVE),
            ("release", PWRKEY),
            ("release", EMERG_OFF),
        ],
    }
    on, off = world.header.pulses(PWRKEY, 1, SCALE)
    assert limits.PWRKEY_ON_MIN < on < limits.PWRKEY_ON.seconds
    low, high = limits.PWRKEY_OFF_WINDOW
    assert low < off < high
    assert world.mine == {}


def test_open_drain_uses_the_kernel_drive_and_never_drives_high(fake_gpiod):
    world = fake_gpiod
    from gpiod.line import Direction, Drive

    world.header.pulled_up.add(PWRKEY)
    backend = GpiodBackend()
    line = backend.output("PWRKEY", "GPIO4", active_high=False, drive="open-drain")
    ((_, _, (_, _, config)),) = [c for c in world.calls if c[1] == "request_lines"]
    assert config[PWRKEY].drive is Drive.OPEN_DRAIN and config[PWRKEY].direction is Direction.OUTPUT
    assert world.header.level(PWRKEY) == 1  # released: the module's pull-up
    line.set_active(True)
    assert world.header.level(PWRKEY) == 0 and world.header.function(PWRKEY) == "OUT"
    line.set_active(False)
    assert world.header.level(PWRKEY) == 1 and world.header.function(PWRKEY) == "IN"
    assert all(level == 0 for level in world.header.latch.values())
    backend.release()


def test_active_low_is_done_by_the_backend_not_the_kernel(fake_gpiod):
    world = fake_gpiod
    backend = GpiodBackend()
    emerg = backend.output("EMERG_OFF", EMERG_OFF, active_high=False)
    ((_, _, (_, _, config)),) = [c for c in world.calls if c[1] == "request_lines"]
    assert config[EMERG_OFF].active_low is False
    assert world.header.level(EMERG_OFF) == 1  # inactive = physically high
    emerg.set_active(True)
    assert world.header.level(EMERG_OFF) == 0
    backend.release()


def test_status_is_read_by_offset_even_when_named(fake_gpiod):
    world = fake_gpiod
    backend = GpiodBackend()
    status = backend.input("STATUS", "GPIO27")
    assert backend.offsets["GPIO27"] == STATUS
    world.header.external[STATUS] = 1
    assert status.is_active()
    world.header.external[STATUS] = 0
    assert not status.is_active()
    backend.release()


def test_a_busy_line_names_its_consumer(fake_gpiod):
    fake_gpiod.header.held[PWRKEY] = "gpio-shutdown"
    backend = GpiodBackend()
    with pytest.raises(GpioBusy, match=r"line 4 \(offset 4\).*consumer 'gpio-shutdown'") as info:
        backend.output("PWRKEY", PWRKEY)
    assert info.value.holder == "consumer 'gpio-shutdown'" and info.value.pin == PWRKEY
    assert isinstance(info.value, RigFault)
    backend.output("PWRKEY", 5)  # the failed pin was not kept; others still work
    backend.release()


def test_two_backends_on_one_line_conflict_like_two_programs(fake_gpiod):
    first = GpiodBackend()
    first.output("PWRKEY", PWRKEY)
    with pytest.raises(GpioBusy, match="consumer 'modemcert'"):
        GpiodBackend().output("PWRKEY", PWRKEY)
    first.release()
    GpiodBackend().output("PWRKEY", PWRKEY)  # free again once released


def test_unknown_line_name_or_offset(fake_gpiod):
    backend = GpiodBackend()
    with pytest.raises(GpioLineMissing, match=r"no line named 'PWRKEY'.*gpioinfo"):
        backend.output("PWRKEY", "PWRKEY")
    with pytest.raises(GpioLineMissing, match="no line 99"):
        backend.output("PWRKEY", 99)


def test_chip_names_become_paths():
    assert chip_path("gpiochip4") == "/dev/gpiochip4"
    assert chip_path("/dev/gpiochip0") == "/dev/gpiochip0"


def test_missing_bindings_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpiod", None)
    with pytest.raises(GpioUnavailable, match=r"pip install -e '\.\[gpiod\]'"):
        GpiodBackend()


def test_v1_bindings_are_refused_clearly(monkeypatch):
    old = types.ModuleType("gpiod")
    old.__version__ = "1.5.4"
    old.Chip = object
    monkeypatch.setitem(sys.modules, "gpiod", old)
    with pytest.raises(GpioUnavailable, match=r"1\.5\.4.*libgpiod v1 API.*needs v2"):
        GpiodBackend()


def test_missing_chip(fake_gpiod):
    backend = GpiodBackend("gpiochip9")
    with pytest.raises(GpioLineMissing, match=r"/dev/gpiochip9 does not exist.*gpio\.chip"):
        backend.output("PWRKEY", PWRKEY)
    assert backend.lines() == []


def test_permission_denied(fake_gpiod):
    fake_gpiod.denied.add("/dev/gpiochip0")
    with pytest.raises(GpioNoAccess, match="'gpio' group") as info:
        GpiodBackend().output("PWRKEY", PWRKEY)
    assert info.value.pin == PWRKEY
