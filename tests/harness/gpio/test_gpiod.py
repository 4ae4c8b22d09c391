"""The gpiod backend against fake libgpiod v2 bindings: exact calls, polarity, errors, pulses."""

from __future__ import annotations

import sys
import types

import pytest

from harness import limits
from harness.clock import Clock
from harness.gpio.base import GpioUnavailable
from harness.gpio.gpiod import GpiodBackend, chip_path
from harness.power import Power, PowerLines

SCALE = 0.1


def test_exact_call_sequence(fake_gpiod):
    chips = fake_gpiod
    Direction, Value, LineSettings = chips.Direction, chips.Value, chips.LineSettings
    backend = GpiodBackend("gpiochip4")
    pwrkey = backend.output("PWRKEY", 4, active_high=True)
    status = backend.input("STATUS", 27, active_high=True)
    pwrkey.set_active(True)
    pwrkey.set_active(False)
    chips.levels[27] = Value.ACTIVE
    assert status.is_active()
    backend.release()
    out = LineSettings(direction=Direction.OUTPUT, output_value=Value.INACTIVE)
    assert chips.calls.names() == [
        ("request_lines", "/dev/gpiochip4", "modemcert", 4, out),
        (
            "request_lines",
            "/dev/gpiochip4",
            "modemcert",
            27,
            LineSettings(direction=Direction.INPUT),
        ),
        ("set_value", 4, Value.ACTIVE),
        ("set_value", 4, Value.INACTIVE),
        ("get_value", 27),
        ("set_value", 4, Value.INACTIVE),  # release: inactive first...
        ("release", 4),  # ...then each request
        ("release", 27),
    ]


def test_active_low_is_done_by_the_backend_not_the_kernel(fake_gpiod):
    chips = fake_gpiod
    Value = chips.Value
    backend = GpiodBackend()
    emerg = backend.output("EMERG_OFF", 17, active_high=False)
    ((_, _, args),) = [c for c in chips.calls if c[1] == "request_lines"]
    assert "active_low" not in args[3].settings
    assert chips.levels[17] is Value.ACTIVE  # inactive = physically high
    emerg.set_active(True)
    assert chips.levels[17] is Value.INACTIVE
    backend.release()


def test_chip_names_become_paths():
    assert chip_path("gpiochip4") == "/dev/gpiochip4"
    assert chip_path("/dev/gpiochip0") == "/dev/gpiochip0"


def test_missing_bindings_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpiod", None)
    with pytest.raises(GpioUnavailable, match=r"pip install 'modemcert\[gpiod\]'"):
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
    with pytest.raises(GpioUnavailable, match=r"/dev/gpiochip9 does not exist.*gpio\.chip"):
        backend.output("PWRKEY", 4)
    assert backend.lines() == []


def test_permission_denied(fake_gpiod):
    fake_gpiod.denied.add("/dev/gpiochip0")
    with pytest.raises(GpioUnavailable, match="'gpio' group"):
        GpiodBackend().output("PWRKEY", 4)


def test_line_held_by_another_program(fake_gpiod):
    fake_gpiod.busy.add(4)
    backend = GpiodBackend()
    with pytest.raises(GpioUnavailable, match="line 4 on /dev/gpiochip0 is held by another"):
        backend.output("PWRKEY", 4)
    backend.output("PWRKEY", 5)  # the failed pin was not kept; others still work
    backend.release()


def test_pwrkey_pulse_widths_through_gpiod(fake_gpiod):
    chips = fake_gpiod
    Value = chips.Value
    backend = GpiodBackend()
    power = Power(backend, PowerLines(pwrkey=backend.output("PWRKEY", 4)), Clock(SCALE))
    power.power_on()
    power.power_off()
    writes = chips.calls.writes(4)
    assert [v for _, v in writes] == [Value.ACTIVE, Value.INACTIVE] * 2
    on = (writes[1][0] - writes[0][0]) / 1e9 / SCALE
    off = (writes[3][0] - writes[2][0]) / 1e9 / SCALE
    assert limits.PWRKEY_ON_MIN < on < limits.PWRKEY_ON.seconds
    low, high = limits.PWRKEY_OFF_WINDOW
    assert low < off < high
    backend.release()
