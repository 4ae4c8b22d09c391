"""What a run's record must say about the rig, beyond its name: where each power limit comes
from, which GPIO library drove the lines, how finely the serial port can time a step, and the
serial outages the run survived.

`run_environment(station)` is for timings.json's `run` header (call it after bring-up and
again before the run ends, for the outages); `properties(env)` flattens it for Allure's
environment.properties.
"""

from __future__ import annotations

from typing import Any

from harness import limits


def run_environment(station: Any) -> dict[str, Any]:
    """JSON-ready facts about `station` (a started harness.station.Station)."""
    rig = station.rig
    env: dict[str, Any] = dict(limits.provenance(getattr(rig, "model", None)))
    backend = getattr(station, "backend", None)
    env["gpio_backend"] = backend.describe() if backend is not None else rig.gpio.backend
    conflicts = list(getattr(backend, "conflicts", []) or [])
    if conflicts:
        env["gpio_conflicts"] = conflicts
    info = getattr(getattr(station, "transport", None), "info", None)
    if info is not None:
        env["serial"] = info.as_dict()
        env["timing_resolution_ms"] = info.timing_resolution_ms
    env["serial_flow_control"] = "rts/cts" if rig.serial.rtscts else "none"
    env["serial_outages"] = [o.as_dict() for o in getattr(station, "outages", [])]
    return env


def properties(env: dict[str, Any]) -> dict[str, str]:
    """The same, as the flat strings of environment.properties."""
    out = {"limits.profile": str(env.get("limits_profile", ""))}
    for key, found in env.get("limits_sources", {}).items():
        out[f"limits.{key}"] = f"{found['value']} ({found['source']})"
    out["gpio.backend"] = str(env.get("gpio_backend", ""))
    resolution = env.get("timing_resolution_ms")
    out["timing.resolution"] = "unknown" if resolution is None else f"{resolution:g} ms"
    out["serial.flow_control"] = str(env.get("serial_flow_control", ""))
    out["serial.outages"] = str(len(env.get("serial_outages", [])))
    return out
