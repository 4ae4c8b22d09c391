"""Rig files: `rigs/<name>.toml` → a validated, frozen `Rig` (what one run has to work with).

A rig says where the module's UART is, which GPIO lines are wired and with what polarity,
where the peer server is, which faults it can cause, its time scale and where its state lives.
Every mistake in a rig file is one `RigError` naming the file, the key and what to do.
See docs/rigs.md for the reference.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
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

REPO_ROOT = Path(__file__).resolve().parent.parent

KINDS = ("sim", "hardware")
BACKENDS = ("sim", "rpi", "gpiod", "none")
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


class RigError(ValueError):
    """A rig file problem: which file, which key, what is wrong and what to do."""

    def __init__(self, file: str | os.PathLike | None, key: str | None, message: str) -> None:
        self.file = str(file) if file is not None else None
        self.key = key
        self.message = message
        where = ": ".join(p for p in (self.file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


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
    pin: int
    active_high: bool

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


@dataclass(frozen=True)
class NetworkConfig:
    apn: str = limits.DEFAULT_APN
    user: str = ""
    password: Secret | None = None
    wrong_apn: str = DEFAULT_WRONG_APN


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
            raise self.error(full, f"must be {want}, not {_toml_type(value)} {value!r}")
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
        )
        self.keys(data, "", top)
        kind = self.choice(data, "", "kind", KINDS)
        is_sim = kind == "sim"
        name = self.get(data, "", "name", str, self.path.stem) or self.path.stem
        scale = float(self.get(data, "", "time_scale", float, 1.0))
        if not (MIN_SCALE <= scale <= MAX_SCALE):
            raise self.error(
                "time_scale",
                f"{scale:g} is outside {MIN_SCALE}..{MAX_SCALE} "
                "(module seconds × scale = wall seconds; e.g. 0.02 on the sim rig)",
            )
        if not is_sim and scale != 1.0:
            raise self.error(
                "time_scale",
                f"{scale:g} on a hardware rig: a real module runs in real time, so it must be 1.0",
            )
        gpio = self.gpio(self.table(data, "gpio"), is_sim)
        serial = self.serial(self.table(data, "serial"), is_sim)
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
                f"{value!r} is not one of {', '.join(choices)}{_did_you_mean(value, choices)}",
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
        return path

    def serial(self, table: Mapping[str, Any], is_sim: bool) -> SerialConfig:
        self.keys(table, "serial", ("port", "baud", "autobaud", "search_rates"))
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
        )

    def rate(self, table: Mapping[str, Any], key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value not in RATES:
            raise self.error(
                key,
                f"{value!r} is not a rate the module accepts; use one of "
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
                f"{port!r} is neither an absolute device path nor a pyserial URL; "
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
                key, f"{url!r} needs a host and a port 1..65535, like scheme://203.0.113.10:7008"
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
        used: dict[int, str] = {}
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
                f'must be a table like {{ pin = 4, polarity = "active-high" }}, not {value!r}',
            )
        self.keys(value, where, ("pin", "polarity"))
        if "pin" not in value:
            raise self.error(f"{where}.pin", f"missing: the {name} line is declared but has no pin")
        pin = self.get(value, where, "pin", int)
        top = RPI_MAX_BCM if backend in ("rpi", "sim") else 1023
        if not (0 <= pin <= top):
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
                f"{word!r} is not a polarity{_did_you_mean(word, tuple(POLARITIES))}; "
                'use "active-high" or "active-low"',
            )
        return LineConfig(name=name, pin=pin, active_high=POLARITIES[word])

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
                raise self.error(full, f"{value!r} is not an environment variable name")
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
        return NetworkConfig(
            apn=self.get(table, "network", "apn", str, limits.DEFAULT_APN),
            user=self.get(table, "network", "user", str, ""),
            password=self.secret(table, "network", "password"),
            wrong_apn=self.get(table, "network", "wrong_apn", str, DEFAULT_WRONG_APN),
        )

    def peer(self, table: Mapping[str, Any], is_sim: bool) -> PeerConfig:
        self.keys(
            table,
            "peer",
            ("host", "port", "udp_port", "control_url", "token", "token_env", "token_file"),
        )
        host = self.get(table, "peer", "host", str, "127.0.0.1")
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
            if not _is_loopback(host):
                raise self.error(
                    "peer.host",
                    f"{host!r} is not a loopback address: the sim rig only ever talks to "
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
                    f"{control!r}: use one of {', '.join(s + '://' for s in CONTROL_SCHEMES)}",
                )
            self.host_port(control, "peer.control_url")
        return PeerConfig(
            host=host,
            port=ports["port"],
            udp_port=ports["udp_port"],
            control_url=control,
            token=self.secret(table, "peer", "token"),
        )

    def sim(self, table: Mapping[str, Any]) -> SimConfig:
        self.keys(table, "sim", ("profile", "seed", "overrides"))
        overrides = self.get(table, "sim", "overrides", dict, {})
        return SimConfig(
            profile=self.get(table, "sim", "profile", str, "m95"),
            seed=self.get(table, "sim", "seed", int, 0),
            overrides=MappingProxyType(dict(overrides)),
        )

    def capabilities(self, data: Mapping[str, Any], rig: Rig) -> frozenset[str]:
        names = self.get(data, "", "capabilities", list, [])
        caps: set[str] = set()
        for name in names:
            if not isinstance(name, str):
                raise self.error("capabilities", f"must be a list of strings, not {name!r}")
            if name not in CAPABILITIES:
                raise self.error(
                    "capabilities",
                    f"unknown capability {name!r}{_did_you_mean(name, CAPABILITIES)}; "
                    f"known: {', '.join(CAPABILITIES)}",
                )
            line = CAPABILITY_LINE.get(name)
            if line is not None and getattr(rig.gpio, line) is None:
                raise self.error(
                    "capabilities",
                    f"{name!r} needs a wired {line} line: add [gpio.{line}] or drop {name!r}",
                )
            if name.startswith("sim.") and not rig.is_sim:
                raise self.error("capabilities", f"{name!r} exists only on the sim rig")
            caps.add(name)
        return frozenset(caps)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback  # 127.0.0.0/8 only


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
