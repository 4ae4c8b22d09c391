"""The rpi backend against a faithful classic RPi.GPIO 0.7.1: exact calls of every power
operation, open-drain emulation, conflicts reported, every failure a rig fault with its pin."""

from __future__ import annotations

import sys
import warnings

import pytest

from harness import limits
from harness.clock import Clock
from harness.errors import RigFault, UsageFault
from harness.gpio import rpi
from harness.gpio.base import GpioBusy, GpioConfigError, GpioNoAccess, GpioUnavailable
from harness.gpio.rpi import RpiBackend
from harness.power import Power, PowerLines

#: Wall = module × 0.1: the 0.6–1 s PWRKEY off window is 60–100 ms, far above thread noise.
SCALE = 0.1
PWRKEY, EMERG_OFF, STATUS = 4, 17, 27


def power_on_lines(backend, **kw) -> Power:
    lines = PowerLines(
        pwrkey=backend.output("PWRKEY", PWRKEY, **kw),
        emerg_off=backend.output("EMERG_OFF", EMERG_OFF, **kw),
    )
    return Power(backend, lines, Clock(SCALE))


def test_every_power_operation_calls_exactly(fake_rpi):
    g, calls, header = fake_rpi.module, fake_rpi.calls, fake_rpi.header
    backend = RpiBackend()
    power = power_on_lines(backend)
    assert calls.names() == [
        ("getmode",),
        ("setmode", g.BCM),
        ("gpio_function", PWRKEY),  # nobody else's output, not an alternate function
        ("setup", PWRKEY, "OUT", g.LOW, g.PUD_OFF),  # starts inactive, level before direction
        ("gpio_function", EMERG_OFF),
        ("setup", EMERG_OFF, "OUT", g.LOW, g.PUD_OFF),
    ]
    steps = {}
    for name, op in (
        ("on", power.power_on),
        ("off", power.power_off),
        ("emergency", power.emergency_off),
    ):
        calls.clear()
        op()
        steps[name] = calls.names()
    calls.clear()
    backend.release()
    steps["release"] = calls.names()
    assert steps == {
        "on": [("output", PWRKEY, g.HIGH), ("output", PWRKEY, g.LOW)],
        "off": [("output", PWRKEY, g.HIGH), ("output", PWRKEY, g.LOW)],
        "emergency": [("output", EMERG_OFF, g.HIGH), ("output", EMERG_OFF, g.LOW)],
        "release": [
            ("output", PWRKEY, g.LOW),  # outputs inactive first...
            ("output", EMERG_OFF, g.LOW),
            ("cleanup", [PWRKEY, EMERG_OFF]),  # ...then only our own pins
        ],
    }
    on, off = header.pulses(PWRKEY, 1, SCALE)
    assert limits.PWRKEY_ON_MIN < on < limits.PWRKEY_ON.seconds
    low, high = limits.PWRKEY_OFF_WINDOW
    assert low < off < high
    (emerg,) = header.pulses(EMERG_OFF, 1, SCALE)
    assert emerg >= limits.EMERG_OFF_PULSE
    assert header.function(PWRKEY) == "IN" and header.function(EMERG_OFF) == "IN"


def test_open_drain_never_drives_the_pin_high(fake_rpi):
    """Wired straight to PWRKEY (pulled up to VBAT inside the module): low or let go, never
    3.3 V pushed into it. Emulated by switching between an output at LOW and an input."""
    g, calls, header = fake_rpi.module, fake_rpi.calls, fake_rpi.header
    header.pulled_up.add(PWRKEY)
    backend = RpiBackend()
    calls.clear()
    line = backend.output("PWRKEY", PWRKEY, active_high=False, drive="open-drain")
    assert header.level(PWRKEY) == 1 and header.function(PWRKEY) == "IN"  # released
    power = Power(backend, PowerLines(pwrkey=line), Clock(SCALE))
    power.power_on()
    power.power_off()
    backend.release()
    assert calls.names() == [
        ("gpio_function", PWRKEY),
        ("setup", PWRKEY, "IN", -1, g.PUD_OFF),  # claimed released
        ("setup", PWRKEY, "OUT", g.LOW, g.PUD_OFF),  # pressed: pulled low
        ("setup", PWRKEY, "IN", -1, g.PUD_OFF),  # released
        ("setup", PWRKEY, "OUT", g.LOW, g.PUD_OFF),
        ("setup", PWRKEY, "IN", -1, g.PUD_OFF),
        ("setup", PWRKEY, "IN", -1, g.PUD_OFF),  # release: inactive, then freed
        ("cleanup", [PWRKEY]),
    ]
    assert not [c for c in calls.names() if c[0] == "output"]
    assert all(level == 0 for _, level in [(0, header.latch.get(PWRKEY, 0))])
    on, off = header.pulses(PWRKEY, 0, SCALE)
    assert limits.PWRKEY_ON_MIN < on < limits.PWRKEY_ON.seconds
    low, high = limits.PWRKEY_OFF_WINDOW
    assert low < off < high


def test_open_drain_must_be_active_low(fake_rpi):
    backend = RpiBackend()
    with pytest.raises(GpioConfigError, match='must be "active-low"'):
        backend.output("PWRKEY", PWRKEY, active_high=True, drive="open-drain")
    assert backend.lines() == []


def test_active_low_push_pull_inverts_levels(fake_rpi):
    g, header = fake_rpi.module, fake_rpi.header
    backend = RpiBackend()
    emerg = backend.output("EMERG_OFF", EMERG_OFF, active_high=False)
    status = backend.input("STATUS", STATUS, active_high=False)
    assert header.latch[EMERG_OFF] == g.HIGH  # inactive = high on an active-low line
    emerg.set_active(True)
    assert header.latch[EMERG_OFF] == g.LOW
    header.external[STATUS] = 0
    assert status.is_active()
    backend.release()
    assert header.latch[EMERG_OFF] == g.HIGH


def test_a_pin_another_program_drives_is_reported_not_hidden(fake_rpi):
    """RPi.GPIO's only sign of a pin in use is a warning; the backend keeps warnings on and
    reports the conflict (doctor shows it), without letting the raw warning through."""
    fake_rpi.header.functions[PWRKEY] = "OUT"  # a killed run, or another program
    backend = RpiBackend()
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        backend.output("PWRKEY", PWRKEY)
    assert leaked == []
    assert len(backend.conflicts) >= 1
    assert any(f"BCM {PWRKEY} was already an output" in c for c in backend.conflicts)
    assert any("already in use" in c for c in backend.conflicts)  # RPi.GPIO's own words
    assert ("setwarnings", False) not in fake_rpi.calls.names()
    backend.release()


def test_a_pin_in_an_alternate_function_is_refused(fake_rpi):
    backend = RpiBackend()
    with pytest.raises(GpioBusy) as info:
        backend.output("PWRKEY", 14)  # the UART's TXD
    assert info.value.pin == 14 and "SERIAL" in str(info.value)
    assert isinstance(info.value, RigFault)
    assert ("setup", 14, "OUT", 0, 20) not in fake_rpi.calls.names()
    assert backend.lines() == []


def test_no_access_names_the_pin_and_the_group(fake_rpi):
    backend = RpiBackend()
    fake_rpi.header.no_access = True
    with pytest.raises(GpioNoAccess, match=r"BCM 4: No access to /dev/mem.*'gpio' group") as info:
        backend.output("PWRKEY", PWRKEY)
    assert info.value.pin == PWRKEY and isinstance(info.value, RigFault)
    assert backend.lines() == []


def test_classic_rpi_gpio_on_a_pi5_says_which_extra(fake_rpi):
    with pytest.raises(GpioUnavailable, match=r"Pi 5.*\.\[pi5\]"):
        RpiBackend(model="Raspberry Pi 5 Model B Rev 1.0")


def test_soc_base_error_points_to_rpi_lgpio(fake_rpi):
    backend = RpiBackend()
    fake_rpi.header.soc_unknown = True
    with pytest.raises(GpioUnavailable, match=r"SOC peripheral base.*rpi-lgpio"):
        backend.output("PWRKEY", PWRKEY)


def test_release_is_idempotent_and_never_cleans_other_pins(fake_rpi):
    backend = RpiBackend()
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        backend.release()
        backend.release()
    assert [c for c in fake_rpi.calls.names() if c[0] == "cleanup"] == []
    assert leaked == []


def test_a_bcm_mode_set_by_someone_else_is_kept(fake_rpi):
    g, calls = fake_rpi.module, fake_rpi.calls
    g.setmode(g.BCM)
    calls.clear()
    RpiBackend()
    assert ("setmode", g.BCM) not in calls.names()


def test_board_numbering_elsewhere_is_a_usage_fault(fake_rpi):
    g = fake_rpi.module
    g.setmode(g.BOARD)
    with pytest.raises(GpioConfigError, match="BOARD numbering") as info:
        RpiBackend()
    assert isinstance(info.value, UsageFault)


def test_line_names_are_for_gpiod(fake_rpi):
    with pytest.raises(GpioConfigError, match="BCM numbers, not line names"):
        RpiBackend().output("PWRKEY", "GPIO4")


def test_missing_module_gives_both_install_commands(monkeypatch):
    monkeypatch.setitem(sys.modules, "RPi", None)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", None)
    with pytest.raises(GpioUnavailable) as info:
        RpiBackend()
    text = str(info.value)
    assert "pip install -e '.[pi]'" in text and "pip install -e '.[pi5]'" in text
    assert "rpi-lgpio" in text and "Pi 5" in text


def test_not_a_pi(monkeypatch):
    def refuse(name):
        raise RuntimeError("This module can only be run on a Raspberry Pi!")

    monkeypatch.setattr(rpi.importlib, "import_module", refuse)
    with pytest.raises(GpioUnavailable, match="not a Raspberry Pi: use gpio backend 'gpiod'"):
        RpiBackend()


def test_lgpio_without_a_writable_directory(monkeypatch):
    def no_pipe(name):
        raise FileNotFoundError(2, "No such file or directory", ".lgd-nfy-3")

    monkeypatch.setattr(rpi.importlib, "import_module", no_pipe)
    with pytest.raises(GpioUnavailable, match="LG_WD"):
        RpiBackend()
