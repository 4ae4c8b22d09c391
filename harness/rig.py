"""Rig files: `rigs/<name>.toml` → a validated, frozen `Rig` (what one run has to work with).

A rig says where the module's UART is, which GPIO lines are wired and with what polarity,
where the peer server is, which faults it can cause, its time scale and where its state lives.
Every mistake in a rig file is one `RigError` naming the file, the key and what to do.
See docs/rigs.md for the reference.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn
from urllib.parse import urlsplit

from harness import limits
from harness.clock import MAX_SCALE, MIN_SCALE
from harness.errors import UsageFault
from harness.redact import secret

REPO_ROOT = Path(__file__).resolve().parent.parent

KINDS = ("sim", "hardware", "labgrid")
BACKENDS = ("sim", "rpi", "gpiod", "none", "labgrid")
ON_EXIT = ("off", "on")
POLARITIES = {"active-high": True, "active-low": False}
#: The module's lines, in the order they are claimed; "active" = the module pin asserted.
LINE_NAMES = ("pwrkey", "emerg_off", "status", "supply")
OUTPUT_LINES = ("pwrkey", "emerg_off", "supply")
#: Rates the M95 family accepts with AT+IPR (0 = autobaud is a module mode, not a host rate).
RATES = (1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115200)
#: Tried in this order when the module is silent at the rig's rate (INIT-SYNC search).
COMMON_RATES = (115200, 57600, 38400, 19200, 9600)
SERIAL_SCHEMES = ("rfc2217", "socket", "loop", "spy", "alt", "hwgrep")
CONTROL_SCHEMES = ("http", "https", "tcp")
RPI_MAX_BCM = 27  # the 40-pin header carries BCM 0..27
DEFAULT_WRONG_APN = "modemcert-wrong-apn.invalid"
#: How a GPIO output drives its pin (harness/gpio/base.py DRIVES).
DRIVES = ("push-pull", "open-drain")
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
#: Longest text a rig key may hold (an APN is at most 100 characters, 3GPP TS 23.003 §9.1).
MAX_TEXT = {"apn": 100, "user": 64, "password": 64, "description": 500}
MAX_TEXT_DEFAULT = 1024
#: Longest path or URL a rig key may hold.
MAX_PATH = 4096
#: Longest message and key a RigError carries (one readable line).
MAX_MESSAGE = 400
MAX_KEY = 80

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


class RigError(UsageFault, ValueError):
    """A rig file problem: which file, which key, what is wrong and what to do."""

    def __init__(self, file: str | os.PathLike | None, key: str | None, message: str) -> None:
        self.file = str(file) if file is not None else None
        if key is not None and not key.isprintable():  # an unknown key may be anything
            key = key.encode("unicode_escape").decode("ascii")
        if key is not None and len(key) > MAX_KEY:
            key = key[: MAX_KEY - 1] + "…"
        self.key = key
        if not message.isprintable():
            message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        if len(message) > MAX_MESSAGE:  # a value quoted in full would drown the line
            message = message[: MAX_MESSAGE - 1] + "…"
        self.message = message
        where = ": ".join(p for p in (self.file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


def state_dir_problem(path: Path) -> str | None:
    """Why `path` cannot hold the module's stored settings and reboot history, or None.

    Checked without creating anything: the path (or its nearest existing parent) must be a
    writable directory.
    """
    probe = path
    try:
        while not probe.exists():
            if probe.parent == probe:
                return "no part of this path exists"
            probe = probe.parent
    except OSError as e:  # a component too long, a loop of links
        return f"not a usable path ({e.strerror or e})"
    if not probe.is_dir():
        where = "it" if probe == path else str(probe)
        return f"{where} is not a directory: name a directory (it is created if missing)"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable by this user: fix its permissions or choose another"
    return None


def rig_error_exit(err: RigError, prog: str = "modemcert") -> NoReturn:
    """Print the rig error on one line and exit 2 (for the CLI; no traceback)."""
    print(f"{prog}: rig error: {err}", file=sys.stderr)
    raise SystemExit(2)


# -- the rig --------------------------------------------------------------------------------
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
                f"unknown capability {capability!r}{_did_you_mean(capability, CAPABILITIES)}"
            )
        return capability in self.capabilities

    def lacks(self, capability: str) -> str | None:
        """None if the rig has `capability`, else the skip reason for a test that needs it."""
        if self.has(capability):
            return None
        return f"rig {self.name!r} ({self.file}) lacks capability {capability!r}"


# -- loading --------------------------------------------------------------------------------
def find_rig(name_or_path: str | os.PathLike) -> Path:
    """`sim` → rigs/sim.toml in the current directory, else in the repository; a path as is."""
    text = os.fspath(name_or_path)
    if not text:
        raise RigError(None, None, "no rig given: pass a rig name such as 'sim' or a .toml path")
    if os.sep in text or "/" in text or text.endswith(".toml"):
        path = Path(text)
        if not path.is_file():
            raise RigError(text, None, "no such rig file: check the path")
        return path
    bases = [Path.cwd(), REPO_ROOT]
    for base in bases:
        candidate = base / "rigs" / f"{text}.toml"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for b in bases for p in (b / "rigs").glob("*.toml")})
    raise RigError(
        None,
        None,
        f"no rig named {text!r} in ./rigs or {REPO_ROOT / 'rigs'}"
        f"{_did_you_mean(text, known)}; known rigs: {', '.join(known) or 'none'}",
    )


def load_rig(name_or_path: str | os.PathLike) -> Rig:
    """Read and validate a rig file; every problem is one `RigError` (file, key, what to do)."""
    path = find_rig(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise RigError(path, None, f"cannot read the rig file: {e.strerror or e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise RigError(path, None, f"not UTF-8 text (byte {e.start}): save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise RigError(path, None, f"TOML syntax error: {e}") from None
    return _Parser(path).rig(data)


def _did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_TYPE_WORDS = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


class _Parser:
    """Walks the TOML tables, checking keys, types and values, and builds the Rig."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str | None, message: str) -> RigError:
        return RigError(self.path, key, message)

    # -- generic checks ----------------------------------------------------------------------
    def keys(self, table: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                full = f"{where}.{key}" if where else key
                raise self.error(
                    full,
                    f"unknown key{_did_you_mean(key, allowed)}; allowed here: {', '.join(allowed)}",
                )

    def get(
        self,
        table: Mapping[str, Any],
        where: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
    ) -> Any:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if default is ...:
                raise self.error(full, "missing: this key is required")
            return default
        value = table[key]
        wanted = kind if isinstance(kind, tuple) else (kind,)
        kinds = (*wanted, int) if float in wanted else wanted  # an integer is a number too
        # bool is an int in Python but not in TOML.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            want = " or ".join(_TYPE_WORDS.get(k, k.__name__) for k in wanted)
            raise self.error(full, f"must be {want}, not {_toml_type(value)} {_short(value)}")
        if isinstance(value, str):
            longest = MAX_TEXT.get(key.removesuffix("_env").removesuffix("_file"), MAX_TEXT_DEFAULT)
            longest = MAX_PATH if key in ("port", "state_dir", "control_url") else longest
            if len(value) > longest:
                raise self.error(full, f"{len(value)} characters: at most {longest} are allowed")
            if "\x00" in value:
                raise self.error(full, "contains a NUL character: remove it")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63 - 1:
            raise self.error(full, f"{_short(value)} is out of range (a 64-bit integer at most)")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(full, f"{_short(value)} is not a finite number")
        return value

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}]), not {_toml_type(value)}")
        return value

    # -- sections ----------------------------------------------------------------------------
    def rig(self, data: Mapping[str, Any]) -> Rig:
        top = (
            "name",
            "description",
            "kind",
            "time_scale",
            "state_dir",
            "on_exit",
            "capabilities",
            "serial",
            "gpio",
            "network",
            "peer",
            "sim",
            "model",
            "labgrid",
        )
        self.keys(data, "", top)
        kind = self.choice(data, "", "kind", KINDS)
        is_sim = kind == "sim"
        name = self.get(data, "", "name", str, self.path.stem) or self.path.stem
        if not NAME_PATTERN.fullmatch(name):
            raise self.error(
                "name",
                f"{_short(name)} cannot name a run directory: use 1–64 letters, digits, '.', "
                "'_' or '-', starting with a letter or digit",
            )
        scale = float(self.get(data, "", "time_scale", float, 1.0))
        if not (MIN_SCALE <= scale <= MAX_SCALE):
            raise self.error(
                "time_scale",
                f"{scale:g} is outside {MIN_SCALE}..{MAX_SCALE} "
                "(module seconds × scale = wall seconds; e.g. 0.02 on the sim rig)",
            )
        if kind == "hardware" and scale != 1.0:
            raise self.error(
                "time_scale",
                f"{scale:g} on a hardware rig: a real module runs in real time, so it must be 1.0",
            )
        gpio_table, serial_table = self.table(data, "gpio"), self.table(data, "serial")
        if kind == "labgrid":
            self.labgrid_kind(data, gpio_table, serial_table)
        elif "labgrid" in data:
            raise self.error("labgrid", 'only a rig with kind = "labgrid" has a [labgrid] table')
        elif gpio_table.get("backend") == "labgrid":
            raise self.error("gpio.backend", 'use it with kind = "labgrid" and a [labgrid] place')
        gpio = self.gpio(gpio_table, is_sim)
        # The sim rig's port is the simulator's PTY, a labgrid rig's is its place's: no key.
        serial = self.serial(serial_table, is_sim or kind == "labgrid")
        on_exit = self.choice(data, "", "on_exit", ON_EXIT, "off")
        if on_exit == "on" and gpio.supply is not None:
            raise self.error(
                "on_exit",
                '"on" cannot hold with a supply relay on GPIO: the relay opens when the '
                'harness releases its pins at exit; use "off", or drop [gpio.supply] if the '
                "module is powered permanently",
            )
        rig = Rig(
            name=name,
            file=self.path,
            kind=kind,
            description=self.get(data, "", "description", str, ""),
            serial=serial,
            gpio=gpio,
            network=self.network(self.table(data, "network")),
            peer=self.peer(self.table(data, "peer"), is_sim),
            capabilities=frozenset(),
            time_scale=scale,
            state_dir=self.state_dir(data),
            on_exit=on_exit,
            sim=self.sim(self.table(data, "sim")) if is_sim else None,
            model=self.model(data),
            labgrid=self.labgrid(self.table(data, "labgrid")) if kind == "labgrid" else None,
        )
        if not is_sim and "sim" in data:
            raise self.error("sim", 'only a rig with kind = "sim" has a [sim] table')
        return replace(rig, capabilities=self.capabilities(data, rig))

    def choice(
        self,
        table: Mapping[str, Any],
        where: str,
        key: str,
        choices: tuple[str, ...],
        default: Any = ...,
    ) -> str:
        value = self.get(table, where, key, str, default)
        if value not in choices:
            full = f"{where}.{key}" if where else key
            raise self.error(
                full,
                f"{_short(value)} is not one of {', '.join(choices)}"
                f"{_did_you_mean(value, choices)}",
            )
        return value

    def state_dir(self, data: Mapping[str, Any]) -> Path:
        raw = self.get(data, "", "state_dir", str, "")
        if not raw:
            raise self.error(
                "state_dir",
                "missing: name a directory for the reboot back-off history "
                '(e.g. ".modemcert/state/sim" or "/var/lib/modemcert/pi-m95")',
            )
        path = Path(os.path.expanduser(raw))
        if not path.is_absolute():
            # Relative to the project holding rigs/ (the repo root or cwd), else to the file.
            folder = self.path.resolve().parent
            base = folder.parent if folder.name == "rigs" else folder
            path = base / path
        problem = state_dir_problem(path)
        if problem:
            raise self.error("state_dir", f"{path}: {problem}")
        return path

    def serial(self, table: Mapping[str, Any], is_sim: bool) -> SerialConfig:
        self.keys(
            table,
            "serial",
            ("port", "baud", "autobaud", "search_rates", "rtscts", "reconnect", "low_latency"),
        )
        port = self.get(table, "serial", "port", str, None)
        if is_sim and port is not None:
            raise self.error(
                "serial.port",
                "the sim rig's port is the simulator's pseudo-terminal, chosen at start; "
                "remove the key",
            )
        if not is_sim:
            if port is None:
                raise self.error(
                    "serial.port",
                    'missing: e.g. "/dev/serial0", "/dev/serial/by-id/usb-…" '
                    'or "rfc2217://host:port"',
                )
            self.check_port(port)
        baud = self.rate(table, "serial.baud", self.get(table, "serial", "baud", int, 115200))
        raw_rates = self.get(table, "serial", "search_rates", list, list(COMMON_RATES))
        rates = tuple(self.rate(table, "serial.search_rates", r) for r in raw_rates)
        return SerialConfig(
            port=port,
            baud=baud,
            autobaud=self.get(table, "serial", "autobaud", bool, False),
            search_rates=rates,
            rtscts=self.get(table, "serial", "rtscts", bool, False),
            reconnect=self.reconnect(table),
            low_latency=self.get(table, "serial", "low_latency", bool, True),
        )

    def reconnect(self, table: Mapping[str, Any]) -> float:
        seconds = float(self.get(table, "serial", "reconnect", float, RECONNECT_DEFAULT))
        if not (0 <= seconds <= RECONNECT_MAX):
            raise self.error(
                "serial.reconnect",
                f"{seconds:g} s: wait 0 (never) to {RECONNECT_MAX:g} s for a lost port to return",
            )
        return seconds

    def model(self, data: Mapping[str, Any]) -> str | None:
        model = self.get(data, "", "model", str, None)
        if model is not None and limits.model_key(model) is None:
            raise self.error(
                "model",
                f"{_short(model)} has no documented power-limit profile"
                f"{_did_you_mean(model.upper(), limits.MODELS)}; use one of "
                f"{', '.join(limits.MODELS)} (docs/rigs.md: model)",
            )
        return model

    def rate(self, table: Mapping[str, Any], key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value not in RATES:
            raise self.error(
                key,
                f"{_short(value)} is not a rate the module accepts; use one of "
                f"{', '.join(map(str, RATES))}",
            )
        return value

    def check_port(self, port: str) -> None:
        if "://" in port:
            parts = urlsplit(port)
            if parts.scheme not in SERIAL_SCHEMES:
                raise self.error(
                    "serial.port",
                    f"unknown pyserial URL scheme {parts.scheme!r}"
                    f"{_did_you_mean(parts.scheme, SERIAL_SCHEMES)}; use a device path or "
                    f"one of {', '.join(s + '://' for s in SERIAL_SCHEMES)}",
                )
            if parts.scheme in ("rfc2217", "socket"):
                self.host_port(port, "serial.port")
        elif not port.startswith("/") and not port.upper().startswith("COM"):
            raise self.error(
                "serial.port",
                f"{_short(port)} is neither an absolute device path nor a pyserial URL; "
                'e.g. "/dev/serial0" or "rfc2217://192.0.2.20:4000"',
            )

    def host_port(self, url: str, key: str) -> tuple[str, int]:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if not parts.hostname or port is None or not (1 <= port <= 65535):
            raise self.error(
                key,
                f"{_short(url)} needs a host and a port 1..65535, like scheme://203.0.113.10:7008",
            )
        return parts.hostname, port

    def gpio(self, table: Mapping[str, Any], is_sim: bool) -> GpioConfig:
        self.keys(table, "gpio", ("backend", "chip", *LINE_NAMES))
        backend = self.choice(table, "gpio", "backend", BACKENDS, "sim" if is_sim else "none")
        if is_sim != (backend == "sim"):
            raise self.error(
                "gpio.backend",
                'the sim rig uses backend "sim", and only it does'
                if is_sim
                else '"sim" needs kind = "sim"; on hardware use "rpi", "gpiod" or "none"',
            )
        chip = self.get(table, "gpio", "chip", str, None)
        if chip is not None and backend != "gpiod":
            raise self.error("gpio.chip", 'only the "gpiod" backend takes a chip; remove it')
        if backend == "gpiod" and chip is None:
            chip = "/dev/gpiochip0"
        lines: dict[str, LineConfig] = {}
        used: dict[int | str, str] = {}
        for name in LINE_NAMES:
            if name not in table:
                continue
            if backend == "none":
                raise self.error(
                    f"gpio.{name}",
                    'backend "none" drives no lines: set gpio.backend to "rpi" or "gpiod", '
                    "or remove the line",
                )
            line = self.line(table[name], name, backend)
            if line.pin in used:
                raise self.error(
                    f"gpio.{name}.pin",
                    f"pin {line.pin} is already used by gpio.{used[line.pin]}: "
                    "each line needs its own pin",
                )
            used[line.pin] = name
            lines[name] = line
        return GpioConfig(backend=backend, chip=chip, **lines)

    def line(self, value: Any, name: str, backend: str) -> LineConfig:
        where = f"gpio.{name}"
        if not isinstance(value, dict):
            raise self.error(
                where,
                'must be a table like { pin = 4, polarity = "active-high" }, '
                f"not {_short(value)}",
            )
        self.keys(value, where, ("pin", "polarity", "drive"))
        if "pin" not in value:
            raise self.error(f"{where}.pin", f"missing: the {name} line is declared but has no pin")
        kinds = str if backend == "labgrid" else (int, str) if backend == "gpiod" else int
        pin = self.get(value, where, "pin", kinds)
        top = RPI_MAX_BCM if backend in ("rpi", "sim") else 1023
        if isinstance(pin, str):
            if not LINE_NAME.fullmatch(pin):
                what = "labgrid resource" if backend == "labgrid" else "gpiod line"
                raise self.error(f"{where}.pin", f"{_short(pin)} is not a {what} name")
        elif not (0 <= pin <= top):
            what = "a BCM number 0..27" if top == RPI_MAX_BCM else "a line offset 0..1023"
            raise self.error(f"{where}.pin", f"{pin} is not {what}")
        if "polarity" not in value:
            raise self.error(
                f"{where}.polarity",
                'missing: say which GPIO level asserts the module pin, "active-high" '
                '(through an NPN transistor, as on most HATs) or "active-low"',
            )
        word = self.get(value, where, "polarity", str)
        if word not in POLARITIES:
            raise self.error(
                f"{where}.polarity",
                f"{_short(word)} is not a polarity{_did_you_mean(word, tuple(POLARITIES))}; "
                'use "active-high" or "active-low"',
            )
        drive = self.choice(value, where, "drive", DRIVES, "push-pull")
        if drive == "open-drain" and (name == "status" or POLARITIES[word]):
            raise self.error(
                f"{where}.drive",
                "open-drain is for an output wired straight to the module pin, and such a "
                'line is "active-low" (asserted = pulled low)'
                if name != "status"
                else "STATUS is an input: it has no drive",
            )
        if backend == "labgrid" and "drive" in value:
            raise self.error(
                f"{where}.drive",
                "a labgrid line drives as its exporter's resource does: remove the key",
            )
        return LineConfig(name=name, pin=pin, active_high=POLARITIES[word], drive=drive)

    def secret(self, table: Mapping[str, Any], where: str, key: str) -> Secret | None:
        forms = [k for k in (key, f"{key}_env", f"{key}_file") if k in table]
        if len(forms) > 1:
            raise self.error(f"{where}.{forms[1]}", f"give only one of {', '.join(forms)}")
        if not forms:
            return None
        form = forms[0]
        value = self.get(table, where, form, str)
        full = f"{where}.{form}"
        if form.endswith("_env"):
            if not value or not value.replace("_", "").isalnum():
                raise self.error(full, f"{_short(value)} is not an environment variable name")
            return Secret(f"env:{value}", full, str(self.path))
        if form.endswith("_file"):
            return Secret(f"file:{os.path.expanduser(value)}", full, str(self.path))
        return Secret("inline", full, str(self.path), value)

    def network(self, table: Mapping[str, Any]) -> NetworkConfig:
        self.keys(
            table,
            "network",
            ("apn", "user", "password", "password_env", "password_file", "wrong_apn"),
        )
        values = {}
        for key, default in (
            ("apn", limits.DEFAULT_APN),
            ("user", ""),
            ("wrong_apn", DEFAULT_WRONG_APN),
        ):
            values[key] = self.command_text(table, key, default)
        password = self.secret(table, "network", "password")
        if password is not None and password.source == "inline":
            self.command_text(table, "password", "")
        return NetworkConfig(password=password, **values)

    def command_text(self, table: Mapping[str, Any], key: str, default: str) -> str:
        """A string that goes into `AT+QICSGP=1,"…"`: ASCII, no quote, no control character."""
        value = self.get(table, "network", key, str, default)
        if not value.isascii() or '"' in value or any(ord(c) < 0x20 for c in value):
            shown = "the value" if key == "password" else _short(value)
            raise self.error(
                f"network.{key}",
                f"{shown} cannot be sent in AT+QICSGP: use printable ASCII without a quote",
            )
        return value

    def peer(self, table: Mapping[str, Any], is_sim: bool) -> PeerConfig:
        self.keys(
            table,
            "peer",
            ("host", "port", "udp_port", "control_url", "token", "token_env", "token_file"),
        )
        host = self.get(table, "peer", "host", str, "127.0.0.1")
        try:
            dotted = ipaddress.IPv4Address(host)
        except ValueError:
            example = "127.0.0.1" if is_sim else "203.0.113.10"
            raise self.error(
                "peer.host",
                f"{_short(host)} is not a dotted IPv4 address: AT+QIOPEN dials an address "
                f'(AT+QIDNSIP=0, the default); e.g. "{example}"',
            ) from None
        ports = {}
        for key in ("port", "udp_port"):
            p = self.get(table, "peer", key, int, 0 if key == "port" else None)
            lowest = 0 if is_sim else 1
            if p is not None and not (lowest <= p <= 65535):
                raise self.error(
                    f"peer.{key}",
                    f"{p} is not a port; use 1..65535"
                    + ("" if not is_sim else " (or 0 for an automatic one)"),
                )
            ports[key] = p
        control = self.get(table, "peer", "control_url", str, None)
        if is_sim:
            if not dotted.is_loopback:
                raise self.error(
                    "peer.host",
                    f"{_short(host)} is not a loopback address: the sim rig only ever talks to "
                    "127.0.0.0/8 (the simulator maps foreign addresses itself)",
                )
            if control is not None:
                raise self.error(
                    "peer.control_url",
                    "the sim rig starts its own peer; its control URL is chosen at start",
                )
        else:
            if control is None:
                raise self.error(
                    "peer.control_url",
                    "missing: the URL of `modemcert peer` on the far host, e.g. "
                    '"http://203.0.113.10:7008"',
                )
            scheme = urlsplit(control).scheme
            if scheme not in CONTROL_SCHEMES:
                raise self.error(
                    "peer.control_url",
                    f"{_short(control)}: use one of "
                    f"{', '.join(s + '://' for s in CONTROL_SCHEMES)}",
                )
            self.host_port(control, "peer.control_url")
        return PeerConfig(
            host=host,
            port=ports["port"],
            udp_port=ports["udp_port"],
            control_url=control,
            token=self.secret(table, "peer", "token"),
        )

    def labgrid_kind(
        self, data: Mapping[str, Any], gpio: Mapping[str, Any], serial: Mapping[str, Any]
    ) -> None:
        """What a labgrid rig may not say: its port and lines come from the place."""
        if "labgrid" not in data:
            raise self.error(
                "labgrid",
                'missing: a kind = "labgrid" rig names its place, e.g. [labgrid] '
                'coordinator = "192.0.2.5:20408", place = "m95-bench-1"',
            )
        backend = gpio.get("backend", "none")
        if backend not in ("labgrid", "none"):
            raise self.error(
                "gpio.backend",
                f"{_short(backend)}: a labgrid rig's lines are its place's digital outputs; "
                'use "labgrid" (or "none" for a place without lines)',
            )
        if "port" in serial:
            raise self.error(
                "serial.port",
                "a labgrid rig's port is its place's NetworkSerialPort: remove the key "
                "([labgrid] serial names it when the place has several)",
            )

    def labgrid(self, table: Mapping[str, Any]) -> LabgridConfig:
        self.keys(table, "labgrid", ("coordinator", "place", "env", "python", "serial", "timeout"))
        coordinator = self.get(table, "labgrid", "coordinator", str)
        try:
            parts = urlsplit(f"//{coordinator}")
            usable = bool(parts.hostname) and "/" not in coordinator and parts.port != 0
        except ValueError:  # a port that is not a number 0..65535
            usable = False
        if not usable:
            raise self.error(
                "labgrid.coordinator",
                f"{_short(coordinator)} is not HOST[:PORT] of labgrid-coordinator; "
                'e.g. "192.0.2.5:20408" (20408 if the port is left out)',
            )
        place = self.get(table, "labgrid", "place", str)
        if not LABGRID_NAME.fullmatch(place):
            raise self.error(
                "labgrid.place",
                f"{_short(place)} is not a place name (letters, digits, '.', '_', '-', ':'; "
                "labgrid-client places lists them)",
            )
        paths: dict[str, Path | None] = {}
        for key in ("env", "python"):
            raw = self.get(table, "labgrid", key, str, None)
            if raw is None:
                paths[key] = None
                continue
            path = Path(os.path.expanduser(raw))
            if not path.is_absolute():
                folder = self.path.resolve().parent
                path = (folder.parent if folder.name == "rigs" else folder) / path
            if not path.is_file():
                what = "labgrid environment file" if key == "env" else "Python interpreter"
                raise self.error(f"labgrid.{key}", f"no {what} at {path}: check the path")
            if key == "python" and not os.access(path, os.X_OK):
                raise self.error("labgrid.python", f"{path} is not executable")
            paths[key] = path
        serial = self.get(table, "labgrid", "serial", str, None)
        if serial is not None and not LINE_NAME.fullmatch(serial):
            raise self.error("labgrid.serial", f"{_short(serial)} is not a resource name")
        timeout = float(self.get(table, "labgrid", "timeout", float, LABGRID_TIMEOUT))
        if not (1 <= timeout <= LABGRID_TIMEOUT_MAX):
            raise self.error(
                "labgrid.timeout",
                f"{timeout:g} s: allow 1 to {LABGRID_TIMEOUT_MAX:g} s to reach the coordinator "
                "and acquire the place",
            )
        return LabgridConfig(
            coordinator=coordinator,
            place=place,
            env=paths["env"],
            python=paths["python"],
            serial=serial,
            timeout=timeout,
        )

    def sim(self, table: Mapping[str, Any]) -> SimConfig:
        self.keys(table, "sim", ("profile", "seed", "overrides"))
        overrides = self.get(table, "sim", "overrides", dict, {})
        name = self.get(table, "sim", "profile", str, "m95")
        try:
            SimConfig(profile=name).build()
        except ValueError as e:
            raise self.error("sim.profile", str(e)) from None
        from harness.sim.profile import settable_fields

        settable = tuple(settable_fields())
        for key, value in overrides.items():
            if key not in settable:
                raise self.error(
                    f"sim.overrides.{key}",
                    f"the profile has no setting {_short(key)}{_did_you_mean(key, settable)}; "
                    "`modemcert sim --list-settings` lists them",
                )
            try:
                SimConfig(profile=name, overrides={key: value}).build()
            except ValueError as e:
                raise self.error(f"sim.overrides.{key}", str(e)) from None
        seed = self.get(table, "sim", "seed", int, 0)
        if not 0 <= seed < 2**32:
            raise self.error("sim.seed", f"{_short(seed)} is not a seed 0..4294967295")
        return SimConfig(profile=name, seed=seed, overrides=MappingProxyType(dict(overrides)))

    def capabilities(self, data: Mapping[str, Any], rig: Rig) -> frozenset[str]:
        names = self.get(data, "", "capabilities", list, [])
        caps: set[str] = set()
        for name in names:
            if not isinstance(name, str):
                raise self.error("capabilities", f"must be a list of strings, not {_short(name)}")
            if name not in CAPABILITIES:
                raise self.error(
                    "capabilities",
                    f"unknown capability {_short(name)}{_did_you_mean(name, CAPABILITIES)}; "
                    f"known: {', '.join(CAPABILITIES)}",
                )
            line = CAPABILITY_LINE.get(name)
            if line is not None and getattr(rig.gpio, line) is None:
                raise self.error(
                    "capabilities",
                    f"{_short(name)} needs a wired {line} line: add [gpio.{line}] "
                    f"or drop {_short(name)}",
                )
            if name.startswith("sim.") and not rig.is_sim:
                raise self.error("capabilities", f"{_short(name)} exists only on the sim rig")
            caps.add(name)
        return frozenset(caps)


def _short(value: Any, limit: int = 40) -> str:
    """A value for an error line: repr, cut (with its length) when long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text)} characters)"


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
