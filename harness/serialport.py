"""The rig's serial port as hardware: which adapter, its latency timer, flow control, a stable name.

A USB serial adapter holds received bytes for up to its *latency timer* before sending them
to the host (FTDI default 16 ms), so every measured step can be late by that much: the run
reads it, sets it to 1 ms where permitted, and records it as the timing resolution.
`RigTransport` is the `Transport` a hardware rig opens: RTS/CTS and the latency timer are
applied on every open, also after an unplugged adapter comes back.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.transport import Transcript, Transport

log = logging.getLogger("modemcert.serial")

SYS_TTY = Path("/sys/class/tty")
BY_ID = Path("/dev/serial/by-id")
#: What the latency timer is set to where permitted (ms; the FTDI minimum is 1).
LOW_LATENCY_MS = 1
#: A udev rule that lets the nightly user set it (deploy/udev/99-modemcert.rules carries it).
UDEV_HINT = (
    'a udev rule ACTION=="add", SUBSYSTEM=="usb-serial", DRIVER=="ftdi_sio", '
    'ATTR{latency_timer}="1" sets it at plug-in (deploy/udev/99-modemcert.rules)'
)


@dataclass(frozen=True)
class SerialInfo:
    """What is known of the port: its device, driver and the timing resolution it allows."""

    port: str
    device: str | None = None  # /dev/ttyUSB0 behind a /dev/serial/by-id/… link
    driver: str | None = None  # ftdi_sio, cp210x, ch341, pl2303, cdc_acm, uart-pl011, …
    latency_timer_ms: int | None = None  # FTDI only
    timing_resolution_ms: float | None = None  # None: unknown
    stable_path: str | None = None  # a /dev/serial/by-id/… name for the same device
    note: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def _sysfs_device(device: str) -> Path | None:
    node = SYS_TTY / os.path.basename(device) / "device"
    return node if node.exists() else None


def _driver(node: Path | None) -> str | None:
    if node is None:
        return None
    try:
        return os.path.basename(os.readlink(node / "driver"))
    except OSError:
        return None


def latency_file(device: str) -> Path | None:
    """`/sys/class/tty/ttyUSB0/device/latency_timer` where the driver has one (ftdi_sio)."""
    node = _sysfs_device(device)
    if node is None:
        return None
    path = node / "latency_timer"
    return path if path.exists() else None


def read_latency(device: str) -> int | None:
    path = latency_file(device)
    if path is None:
        return None
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def stable_name(device: str) -> str | None:
    """A /dev/serial/by-id/… link to `device`, which survives replugging and reboots."""
    try:
        links = sorted(BY_ID.iterdir())
    except OSError:
        return None
    real = os.path.realpath(device)
    return next((str(p) for p in links if os.path.realpath(p) == real), None)


def describe(port: str, *, set_low_latency: bool = False) -> SerialInfo:
    """The adapter behind `port` and its timing resolution; with `set_low_latency`, first
    try to set an FTDI latency timer to 1 ms (a note says when that is not permitted)."""
    if "://" in port:
        return SerialInfo(port, note="a network serial port: its latency is the network's")
    device = os.path.realpath(port)
    node = _sysfs_device(device)
    driver = _driver(node)
    stable = port if port.startswith(str(BY_ID)) else stable_name(device)
    if node is None:
        return SerialInfo(
            port, device, None, None, 0.0, stable, note="no adapter (pseudo-terminal or virtual)"
        )
    note = ""
    latency = read_latency(device)
    path = latency_file(device)
    if path is not None and latency is not None and set_low_latency and latency > LOW_LATENCY_MS:
        try:
            path.write_text(str(LOW_LATENCY_MS))
            note = f"latency timer set from {latency} ms to {LOW_LATENCY_MS} ms"
            latency = read_latency(device)
        except OSError as e:
            note = (
                f"latency timer left at {latency} ms: cannot write {path} ({e.strerror or e}); "
                f"{UDEV_HINT}"
            )
    if latency is not None:
        resolution: float | None = float(latency)
    elif driver and driver.startswith(("uart", "serial8250", "ttyS", "amba")):
        resolution, note = 0.0, note or "the SoC's own UART: no adapter latency"
    else:
        resolution = None
        note = note or f"driver {driver or 'unknown'} exposes no latency timer: resolution unknown"
    return SerialInfo(port, device, driver, latency, resolution, stable, note)


class RigTransport(Transport):
    """A `Transport` that applies the rig's RTS/CTS and low-latency settings on every open."""

    def __init__(
        self,
        url: str,
        baudrate: int = 115200,
        *,
        transcript: Transcript | None = None,
        rtscts: bool = False,
        low_latency: bool = True,
    ) -> None:
        super().__init__(url, baudrate, transcript=transcript)
        self.rtscts = rtscts
        self.low_latency = low_latency
        self.info: SerialInfo | None = None

    def open(self) -> None:
        was_open = self.is_open
        super().open()
        if was_open:
            return
        if self.rtscts:
            port = self._port  # pyserial reconfigures an open port when rtscts changes
            if port is not None:
                port.rtscts = True
            self._note("RTS/CTS hardware flow control on")
        self.info = describe(self.url, set_low_latency=self.low_latency)
        if self.info.note:
            self._note(f"serial: {self.info.note}")
