"""Finding and loading a rig file: `load_rig("sim")` or a path → a validated `Rig`.

The top level (kind, name, time scale, state directory, on_exit, model, capabilities) is read
here; each table by its section parser (ports, wiring, network, backends).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import limits
from harness.clock import MAX_SCALE, MIN_SCALE
from harness.rig.backends import check_labgrid_kind, parse_labgrid, parse_sim
from harness.rig.checks import Checks, state_dir_problem
from harness.rig.errors import RigError, did_you_mean, short
from harness.rig.model import CAPABILITIES, CAPABILITY_LINE, KINDS, NAME_PATTERN, ON_EXIT, Rig
from harness.rig.network import parse_network, parse_peer
from harness.rig.ports import parse_serial
from harness.rig.wiring import parse_gpio

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


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
        f"{did_you_mean(text, known)}; known rigs: {', '.join(known) or 'none'}",
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
    return parse_rig(Checks(path), data)


def parse_rig(c: Checks, data: Mapping[str, Any]) -> Rig:
    """The top level and each table in turn; capabilities last (they depend on the lines)."""
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
    c.keys(data, "", top)
    kind = c.choice(data, "", "kind", KINDS)
    is_sim = kind == "sim"
    name = c.get(data, "", "name", str, c.path.stem) or c.path.stem
    if not NAME_PATTERN.fullmatch(name):
        raise c.error(
            "name",
            f"{short(name)} cannot name a run directory: use 1–64 letters, digits, '.', "
            "'_' or '-', starting with a letter or digit",
        )
    scale = float(c.get(data, "", "time_scale", float, 1.0))
    if not (MIN_SCALE <= scale <= MAX_SCALE):
        raise c.error(
            "time_scale",
            f"{scale:g} is outside {MIN_SCALE}..{MAX_SCALE} "
            "(module seconds × scale = wall seconds; e.g. 0.02 on the sim rig)",
        )
    if kind == "hardware" and scale != 1.0:
        raise c.error(
            "time_scale",
            f"{scale:g} on a hardware rig: a real module runs in real time, so it must be 1.0",
        )
    gpio_table, serial_table = c.table(data, "gpio"), c.table(data, "serial")
    if kind == "labgrid":
        check_labgrid_kind(c, data, gpio_table, serial_table)
    elif "labgrid" in data:
        raise c.error("labgrid", 'only a rig with kind = "labgrid" has a [labgrid] table')
    elif gpio_table.get("backend") == "labgrid":
        raise c.error("gpio.backend", 'use it with kind = "labgrid" and a [labgrid] place')
    gpio = parse_gpio(c, gpio_table, is_sim)
    # The sim rig's port is the simulator's PTY, a labgrid rig's is its place's: no key.
    serial = parse_serial(c, serial_table, is_sim or kind == "labgrid")
    on_exit = c.choice(data, "", "on_exit", ON_EXIT, "off")
    if on_exit == "on" and gpio.supply is not None:
        raise c.error(
            "on_exit",
            '"on" cannot hold with a supply relay on GPIO: the relay opens when the '
            'harness releases its pins at exit; use "off", or drop [gpio.supply] if the '
            "module is powered permanently",
        )
    rig = Rig(
        name=name,
        file=c.path,
        kind=kind,
        description=c.get(data, "", "description", str, ""),
        serial=serial,
        gpio=gpio,
        network=parse_network(c, c.table(data, "network")),
        peer=parse_peer(c, c.table(data, "peer"), is_sim),
        capabilities=frozenset(),
        time_scale=scale,
        state_dir=parse_state_dir(c, data),
        on_exit=on_exit,
        sim=parse_sim(c, c.table(data, "sim")) if is_sim else None,
        model=parse_model(c, data),
        labgrid=parse_labgrid(c, c.table(data, "labgrid")) if kind == "labgrid" else None,
    )
    if not is_sim and "sim" in data:
        raise c.error("sim", 'only a rig with kind = "sim" has a [sim] table')
    return replace(rig, capabilities=parse_capabilities(c, data, rig))


def parse_state_dir(c: Checks, data: Mapping[str, Any]) -> Path:
    """The state directory (relative to the project holding rigs/), usable without creating it."""
    raw = c.get(data, "", "state_dir", str, "")
    if not raw:
        raise c.error(
            "state_dir",
            "missing: name a directory for the reboot back-off history "
            '(e.g. ".modemcert/state/sim" or "/var/lib/modemcert/pi-m95")',
        )
    path = c.project_path(raw)
    problem = state_dir_problem(path)
    if problem:
        raise c.error("state_dir", f"{path}: {problem}")
    return path


def parse_model(c: Checks, data: Mapping[str, Any]) -> str | None:
    """The module model that selects the power-limit profile, if given."""
    model = c.get(data, "", "model", str, None)
    if model is not None and limits.model_key(model) is None:
        raise c.error(
            "model",
            f"{short(model)} has no documented power-limit profile"
            f"{did_you_mean(model.upper(), limits.MODELS)}; use one of "
            f"{', '.join(limits.MODELS)} (docs/rigs.md: model)",
        )
    return model


def parse_capabilities(c: Checks, data: Mapping[str, Any], rig: Rig) -> frozenset[str]:
    """Known names only; a line capability needs its line, sim.* needs the sim rig."""
    names = c.get(data, "", "capabilities", list, [])
    caps: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise c.error("capabilities", f"must be a list of strings, not {short(name)}")
        if name not in CAPABILITIES:
            raise c.error(
                "capabilities",
                f"unknown capability {short(name)}{did_you_mean(name, CAPABILITIES)}; "
                f"known: {', '.join(CAPABILITIES)}",
            )
        line = CAPABILITY_LINE.get(name)
        if line is not None and getattr(rig.gpio, line) is None:
            raise c.error(
                "capabilities",
                f"{short(name)} needs a wired {line} line: add [gpio.{line}] or drop {short(name)}",
            )
        if name.startswith("sim.") and not rig.is_sim:
            raise c.error("capabilities", f"{short(name)} exists only on the sim rig")
        caps.add(name)
    return frozenset(caps)
