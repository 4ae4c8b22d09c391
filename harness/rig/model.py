"""What a rig is: the frozen `Rig` and its sections, the words a rig file may use, and `Secret`
(a password or token read only when used, never shown). harness/rig/loader.py builds them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness import limits
from harness.redact import secret
from harness.rig.errors import RigError, did_you_mean

KINDS = ("sim", "hardware", "labgrid")
ON_EXIT = ("off", "on")
POLARITIES = {"active-high": True, "active-low": False}
#: The module's lines, in the order they are claimed; "active" = the module pin asserted.
LINE_NAMES = ("pwrkey", "emerg_off", "status", "supply")
#: Rates the M95 family accepts with AT+IPR (0 = autobaud is a module mode, not a host rate).
RATES = (1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115200)
#: Tried in this order when the module is silent at the rig's rate (INIT-SYNC search).
COMMON_RATES = (115200, 57600, 38400, 19200, 9600)
SERIAL_SCHEMES = ("rfc2217", "socket", "loop", "spy", "alt", "hwgrep")
CONTROL_SCHEMES = ("http", "https", "tcp")
RPI_MAX_BCM = 27  # the 40-pin header carries BCM 0..27
DEFAULT_WRONG_APN = "modemcert-wrong-apn.invalid"
#: A gpiod line name as the kernel shows it (gpioinfo): "GPIO4", "PWRKEY", "PIN_7".
LINE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
#: [labgrid] timeout: wall seconds to reach the coordinator and acquire the place.
LABGRID_TIMEOUT = 30.0
LABGRID_TIMEOUT_MAX = 600.0
#: A labgrid place name (labgrid-client -p NAME).
LABGRID_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
#: [serial] reconnect: seconds to wait for a lost port (unplugged adapter) to come back.
RECONNECT_DEFAULT = 60.0
RECONNECT_MAX = 3600.0
#: A rig name becomes a directory name (reports/<time>-<name>): a safe alphabet, bounded.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

#: docs/architecture.md "Rig": what a test may ask a rig for.
CAPABILITIES = (
    "power",
    "emerg_off",
    "status",
    "supply",
    "peer.refuse",
    "peer.hold",
    "peer.close",
    "peer.push",
    "peer.silent",
    "rig.wrong_apn",
    "rig.wrong_baud",
    "sim.faults",
    "sim.mutations",
)
#: A capability that needs a wired line.
CAPABILITY_LINE = {
    "power": "pwrkey",
    "emerg_off": "emerg_off",
    "status": "status",
    "supply": "supply",
}


@dataclass(frozen=True)
class Secret:
    """A password or token, read from the file, an environment variable or a file when used.

    `str()`/`repr()` never show the value; `reveal()` does (and says clearly when it is missing).
    """

    source: str  # "inline", "env:NAME" or "file:/path"
    key: str
    rig_file: str
    _inline: str | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Secret({self.source}, ***)"

    __str__ = __repr__

    def reveal(self) -> str:
        """The value, registered with harness.redact so that no writer ever shows it."""
        return secret(self._read())

    def _read(self) -> str:
        kind, _, ref = self.source.partition(":")
        if kind == "inline":
            return self._inline or ""
        if kind == "env":
            value = os.environ.get(ref)
            if value is None:
                raise RigError(
                    self.rig_file,
                    self.key,
                    f"environment variable {ref} is not set: export it before the run "
                    "(it is never written to the rig file or the report)",
                )
            return value
        try:
            return Path(ref).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise RigError(
                self.rig_file, self.key, f"cannot read {ref}: {e.strerror or e}"
            ) from None


@dataclass(frozen=True)
class LineConfig:
    """One wired line: BCM pin (or gpiod offset) and which level asserts the module pin."""

    name: str
    pin: int | str  # a gpiod line may also be named ("GPIO4")
    active_high: bool
    drive: str = "push-pull"  # "open-drain": wired straight to the module pin (docs/rigs.md)

    @property
    def polarity(self) -> str:
        return "active-high" if self.active_high else "active-low"


@dataclass(frozen=True)
class GpioConfig:
    backend: str = "none"
    chip: str | None = None  # gpiod only: /dev/gpiochipN
    pwrkey: LineConfig | None = None
    emerg_off: LineConfig | None = None
    status: LineConfig | None = None
    supply: LineConfig | None = None

    def lines(self) -> dict[str, LineConfig]:
        """The wired lines by name, in claiming order."""
        return {n: c for n in LINE_NAMES if (c := getattr(self, n)) is not None}


@dataclass(frozen=True)
class SerialConfig:
    port: str | None  # None on the sim rig: the simulator's PTY
    baud: int = limits.IPR_DEFAULT_RATE
    autobaud: bool = False  # module left at AT+IPR=0: no RDY until synchronised (§2)
    search_rates: tuple[int, ...] = COMMON_RATES
    rtscts: bool = False  # RTS/CTS hardware flow control; the module gets AT+IFC=2,2
    reconnect: float = RECONNECT_DEFAULT  # seconds to wait for a lost port to come back
    low_latency: bool = True  # set a USB adapter's latency timer to 1 ms where permitted


@dataclass(frozen=True)
class NetworkConfig:
    apn: str = limits.DEFAULT_APN
    user: str = ""
    password: Secret | None = None
    wrong_apn: str = DEFAULT_WRONG_APN

    def credentials(self, apn: str | None = None) -> tuple[str, str, str]:
        """(APN, user, password) for AT+QICSGP (another APN if given, e.g. the wrong one)."""
        password = self.password.reveal() if self.password is not None else ""
        return (self.apn if apn is None else apn), secret(self.user), password


@dataclass(frozen=True)
class PeerConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: automatic (sim rig: the local peer picks a free port)
    udp_port: int | None = None
    control_url: str | None = None  # None on the sim rig: the local peer's
    token: Secret | None = None


@dataclass(frozen=True)
class SimConfig:
    profile: str = "m95"
    seed: int = 0
    overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def build(self) -> Any:
        """The simulator's `Profile`: the preset with the overrides applied (ValueError if bad)."""
        from harness.sim.profile import Profile, with_setting

        profile = Profile.named(self.profile)
        for key, value in self.overrides.items():
            text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
            profile = with_setting(profile, key, text)
        return profile


@dataclass(frozen=True)
class LabgridConfig:
    """A labgrid place that holds the module: its serial port and lines come from the place's
    resources when the run acquires it (harness/labgrid.py, docs/labgrid.md)."""

    coordinator: str  # HOST[:PORT] of labgrid-coordinator (port 20408 if omitted)
    place: str
    env: Path | None = None  # a labgrid environment file with a RemotePlace for the place
    python: Path | None = None  # the interpreter with labgrid installed (default: found)
    serial: str | None = None  # the NetworkSerialPort's name, when the place has several
    timeout: float = LABGRID_TIMEOUT  # wall seconds to reach the coordinator and acquire


@dataclass(frozen=True)
class Rig:
    """Everything one run needs from its bench (docs/architecture.md "Rig")."""

    name: str
    file: Path
    kind: str
    description: str
    serial: SerialConfig
    gpio: GpioConfig
    network: NetworkConfig
    peer: PeerConfig
    capabilities: frozenset[str]
    time_scale: float
    state_dir: Path
    on_exit: str
    sim: SimConfig | None = None
    model: str | None = None  # selects the power-limit profile (limits.profile_for)
    labgrid: LabgridConfig | None = None  # kind "labgrid": the place that holds the module

    @property
    def is_sim(self) -> bool:
        return self.kind == "sim"

    def has(self, capability: str) -> bool:
        """True if the rig can do `capability` (an unknown name is a programming error)."""
        if capability not in CAPABILITIES:
            raise ValueError(
                f"unknown capability {capability!r}{did_you_mean(capability, CAPABILITIES)}"
            )
        return capability in self.capabilities

    def lacks(self, capability: str) -> str | None:
        """None if the rig has `capability`, else the skip reason for a test that needs it."""
        if self.has(capability):
            return None
        return f"rig {self.name!r} ({self.file}) lacks capability {capability!r}"
