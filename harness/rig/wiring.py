"""[gpio]: the GPIO backend and the module's wired lines (pwrkey, emerg_off, status, supply),
each with its pin, polarity and drive; two lines never share a pin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.gpio import BACKENDS
from harness.gpio.base import DRIVES
from harness.rig.checks import Checks
from harness.rig.errors import did_you_mean, short
from harness.rig.model import (
    LINE_NAME,
    LINE_NAMES,
    POLARITIES,
    RPI_MAX_BCM,
    GpioConfig,
    LineConfig,
)


def parse_gpio(c: Checks, table: Mapping[str, Any], is_sim: bool) -> GpioConfig:
    """[gpio]: the backend ("sim" on the sim rig only), the gpiod chip, and each wired line."""
    c.keys(table, "gpio", ("backend", "chip", *LINE_NAMES))
    backend = c.choice(table, "gpio", "backend", BACKENDS, "sim" if is_sim else "none")
    if is_sim != (backend == "sim"):
        raise c.error(
            "gpio.backend",
            'the sim rig uses backend "sim", and only it does'
            if is_sim
            else '"sim" needs kind = "sim"; on hardware use "rpi", "gpiod" or "none"',
        )
    chip = c.get(table, "gpio", "chip", str, None)
    if chip is not None and backend != "gpiod":
        raise c.error("gpio.chip", 'only the "gpiod" backend takes a chip; remove it')
    if backend == "gpiod" and chip is None:
        chip = "/dev/gpiochip0"
    lines: dict[str, LineConfig] = {}
    used: dict[int | str, str] = {}
    for name in LINE_NAMES:
        if name not in table:
            continue
        if backend == "none":
            raise c.error(
                f"gpio.{name}",
                'backend "none" drives no lines: set gpio.backend to "rpi" or "gpiod", '
                "or remove the line",
            )
        line = parse_line(c, table[name], name, backend)
        if line.pin in used:
            raise c.error(
                f"gpio.{name}.pin",
                f"pin {line.pin} is already used by gpio.{used[line.pin]}: "
                "each line needs its own pin",
            )
        used[line.pin] = name
        lines[name] = line
    return GpioConfig(backend=backend, chip=chip, **lines)


def parse_line(c: Checks, value: Any, name: str, backend: str) -> LineConfig:
    """One line's table: its pin (a number, or a name for gpiod and labgrid), polarity and drive."""
    where = f"gpio.{name}"
    if not isinstance(value, dict):
        raise c.error(
            where,
            f'must be a table like {{ pin = 4, polarity = "active-high" }}, not {short(value)}',
        )
    c.keys(value, where, ("pin", "polarity", "drive"))
    if "pin" not in value:
        raise c.error(f"{where}.pin", f"missing: the {name} line is declared but has no pin")
    kinds = str if backend == "labgrid" else (int, str) if backend == "gpiod" else int
    pin = c.get(value, where, "pin", kinds)
    top = RPI_MAX_BCM if backend in ("rpi", "sim") else 1023
    if isinstance(pin, str):
        if not LINE_NAME.fullmatch(pin):
            what = "labgrid resource" if backend == "labgrid" else "gpiod line"
            raise c.error(f"{where}.pin", f"{short(pin)} is not a {what} name")
    elif not (0 <= pin <= top):
        what = "a BCM number 0..27" if top == RPI_MAX_BCM else "a line offset 0..1023"
        raise c.error(f"{where}.pin", f"{pin} is not {what}")
    if "polarity" not in value:
        raise c.error(
            f"{where}.polarity",
            'missing: say which GPIO level asserts the module pin, "active-high" '
            '(through an NPN transistor, as on most HATs) or "active-low"',
        )
    word = c.get(value, where, "polarity", str)
    if word not in POLARITIES:
        raise c.error(
            f"{where}.polarity",
            f"{short(word)} is not a polarity{did_you_mean(word, tuple(POLARITIES))}; "
            'use "active-high" or "active-low"',
        )
    drive = c.choice(value, where, "drive", DRIVES, "push-pull")
    if drive == "open-drain" and (name == "status" or POLARITIES[word]):
        raise c.error(
            f"{where}.drive",
            "open-drain is for an output wired straight to the module pin, and such a "
            'line is "active-low" (asserted = pulled low)'
            if name != "status"
            else "STATUS is an input: it has no drive",
        )
    if backend == "labgrid" and "drive" in value:
        raise c.error(
            f"{where}.drive",
            "a labgrid line drives as its exporter's resource does: remove the key",
        )
    return LineConfig(name=name, pin=pin, active_high=POLARITIES[word], drive=drive)
