"""The serial port as hardware: an FTDI adapter's latency timer read, set to 1 ms where the
file is writable (a note where not), and reported as the timing resolution; a PTY has none."""

from __future__ import annotations

import os

import pytest

from harness import serialport
from harness.rigenv import properties


@pytest.fixture
def sysfs(tmp_path, monkeypatch):
    """A /sys/class/tty and /dev/serial/by-id with one FTDI adapter, ttyUSB0."""
    tty = tmp_path / "sys" / "class" / "tty"
    device = tty / "ttyUSB0" / "device"
    device.mkdir(parents=True)
    drivers = tmp_path / "sys" / "bus" / "usb-serial" / "drivers" / "ftdi_sio"
    drivers.mkdir(parents=True)
    (device / "driver").symlink_to(drivers)
    (device / "latency_timer").write_text("16\n")
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "ttyUSB0").write_text("")
    by_id = dev / "serial" / "by-id"
    by_id.mkdir(parents=True)
    (by_id / "usb-FTDI_FT232R_A50285BI-if00-port0").symlink_to(dev / "ttyUSB0")
    monkeypatch.setattr(serialport, "SYS_TTY", tty)
    monkeypatch.setattr(serialport, "BY_ID", by_id)
    return dev / "ttyUSB0", device / "latency_timer"


def test_the_latency_timer_is_read_and_reported(sysfs):
    port, _ = sysfs
    info = serialport.describe(str(port))
    assert info.driver == "ftdi_sio" and info.latency_timer_ms == 16
    assert info.timing_resolution_ms == 16.0
    assert info.stable_path.endswith("usb-FTDI_FT232R_A50285BI-if00-port0")


def test_it_is_set_to_1_ms_where_permitted(sysfs):
    port, timer = sysfs
    info = serialport.describe(str(port), set_low_latency=True)
    assert timer.read_text().strip() == "1" and info.latency_timer_ms == 1
    assert "set from 16 ms to 1 ms" in info.note


def test_where_not_permitted_a_note_says_how(sysfs, monkeypatch):
    port, timer = sysfs
    real = type(timer).write_text

    def refuse(self, *args, **kw):  # sysfs as a normal user: EACCES
        if self.name == "latency_timer":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kw)

    monkeypatch.setattr(type(timer), "write_text", refuse)
    info = serialport.describe(str(port), set_low_latency=True)
    assert info.latency_timer_ms == 16 and "udev rule" in info.note


def test_a_pty_has_no_adapter_latency():
    master, slave = os.openpty()
    try:
        info = serialport.describe(os.ttyname(slave))
    finally:
        os.close(slave)
        os.close(master)
    assert info.timing_resolution_ms == 0.0 and "no adapter" in info.note


def test_the_run_environment_shows_the_resolution():
    env = {
        "limits_profile": "M95",
        "limits_sources": {},
        "timing_resolution_ms": 16.0,
        "serial_outages": [{}],
        "gpio_backend": "rpi",
        "serial_flow_control": "none",
    }
    props = properties(env)
    assert props["timing.resolution"] == "16 ms" and props["serial.outages"] == "1"
    assert properties({**env, "timing_resolution_ms": None})["timing.resolution"] == "unknown"
