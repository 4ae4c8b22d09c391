"""Where the module is, when it is not on a local port: [sim] (the simulator's profile, seed and
overrides) and [labgrid] (the place that holds it, and what such a rig may not say)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from harness.rig.checks import Checks
from harness.rig.errors import did_you_mean, short
from harness.rig.model import (
    LABGRID_NAME,
    LABGRID_TIMEOUT,
    LABGRID_TIMEOUT_MAX,
    LINE_NAME,
    LabgridConfig,
    SimConfig,
)


def check_labgrid_kind(
    c: Checks, data: Mapping[str, Any], gpio: Mapping[str, Any], serial: Mapping[str, Any]
) -> None:
    """What a labgrid rig may not say: its port and lines come from the place."""
    if "labgrid" not in data:
        raise c.error(
            "labgrid",
            'missing: a kind = "labgrid" rig names its place, e.g. [labgrid] '
            'coordinator = "192.0.2.5:20408", place = "m95-bench-1"',
        )
    backend = gpio.get("backend", "none")
    if backend not in ("labgrid", "none"):
        raise c.error(
            "gpio.backend",
            f"{short(backend)}: a labgrid rig's lines are its place's digital outputs; "
            'use "labgrid" (or "none" for a place without lines)',
        )
    if "port" in serial:
        raise c.error(
            "serial.port",
            "a labgrid rig's port is its place's NetworkSerialPort: remove the key "
            "([labgrid] serial names it when the place has several)",
        )


def parse_labgrid(c: Checks, table: Mapping[str, Any]) -> LabgridConfig:
    """[labgrid]: the coordinator, the place, and optionally an environment file, labgrid's
    Python, the serial port's name and the acquire timeout."""
    c.keys(table, "labgrid", ("coordinator", "place", "env", "python", "serial", "timeout"))
    coordinator = c.get(table, "labgrid", "coordinator", str)
    try:
        parts = urlsplit(f"//{coordinator}")
        usable = bool(parts.hostname) and "/" not in coordinator and parts.port != 0
    except ValueError:  # a port that is not a number 0..65535
        usable = False
    if not usable:
        raise c.error(
            "labgrid.coordinator",
            f"{short(coordinator)} is not HOST[:PORT] of labgrid-coordinator; "
            'e.g. "192.0.2.5:20408" (20408 if the port is left out)',
        )
    place = c.get(table, "labgrid", "place", str)
    if not LABGRID_NAME.fullmatch(place):
        raise c.error(
            "labgrid.place",
            f"{short(place)} is not a place name (letters, digits, '.', '_', '-', ':'; "
            "labgrid-client places lists them)",
        )
    paths: dict[str, Path | None] = {}
    for key in ("env", "python"):
        raw = c.get(table, "labgrid", key, str, None)
        if raw is None:
            paths[key] = None
            continue
        path = c.project_path(raw)
        if not path.is_file():
            what = "labgrid environment file" if key == "env" else "Python interpreter"
            raise c.error(f"labgrid.{key}", f"no {what} at {path}: check the path")
        if key == "python" and not os.access(path, os.X_OK):
            raise c.error("labgrid.python", f"{path} is not executable")
        paths[key] = path
    serial = c.get(table, "labgrid", "serial", str, None)
    if serial is not None and not LINE_NAME.fullmatch(serial):
        raise c.error("labgrid.serial", f"{short(serial)} is not a resource name")
    timeout = float(c.get(table, "labgrid", "timeout", float, LABGRID_TIMEOUT))
    if not (1 <= timeout <= LABGRID_TIMEOUT_MAX):
        raise c.error(
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


def parse_sim(c: Checks, table: Mapping[str, Any]) -> SimConfig:
    """[sim]: a profile preset, a seed, and overrides each checked against the profile."""
    c.keys(table, "sim", ("profile", "seed", "overrides"))
    overrides = c.get(table, "sim", "overrides", dict, {})
    name = c.get(table, "sim", "profile", str, "m95")
    try:
        SimConfig(profile=name).build()
    except ValueError as e:
        raise c.error("sim.profile", str(e)) from None
    from harness.sim.profile import settable_fields

    settable = tuple(settable_fields())
    for key, value in overrides.items():
        if key not in settable:
            raise c.error(
                f"sim.overrides.{key}",
                f"the profile has no setting {short(key)}{did_you_mean(key, settable)}; "
                "`modemcert sim --list-settings` lists them",
            )
        try:
            SimConfig(profile=name, overrides={key: value}).build()
        except ValueError as e:
            raise c.error(f"sim.overrides.{key}", str(e)) from None
    seed = c.get(table, "sim", "seed", int, 0)
    if not 0 <= seed < 2**32:
        raise c.error("sim.seed", f"{short(seed)} is not a seed 0..4294967295")
    return SimConfig(profile=name, seed=seed, overrides=MappingProxyType(dict(overrides)))
