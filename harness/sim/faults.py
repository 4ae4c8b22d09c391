"""Injected faults: what can go wrong with the module or its network, one-shot or persistent.

A one-shot fault stays armed (across reboots) until it has acted `count` times; a persistent one
acts every time until `clear()`. Faults marked `immediate` act at injection (`+PDP DEACT` now).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import SupportsFloat, SupportsIndex


@dataclass(frozen=True)
class FaultSpec:
    name: str
    description: str
    params: dict[str, float | str] = field(default_factory=dict)  # name → default
    immediate: bool = False


def _f(name: str, description: str, immediate: bool = False, **params: float | str) -> FaultSpec:
    return FaultSpec(name, description, dict(params), immediate)


FAULTS: dict[str, FaultSpec] = {
    f.name: f
    for f in (
        _f("no_sim", "no SIM at the next boot: +CPIN: NOT INSERTED, AT+CPIN? +CME ERROR: 10"),
        _f("sim_busy", "SIM busy for `seconds` after power-on: +CME ERROR: 14", seconds=15.0),
        _f("reg_slow", "GSM registration only `seconds` after power-on", seconds=40.0),
        _f("reg_denied", "registration denied: +CREG: <n>,3, never registered"),
        _f("cgatt_fail", "GPRS attach fails: +CGATT: 0, AT+CGATT=1 and AT+QIACT answer errors"),
        _f("qiact_fail", "AT+QIACT answers ERROR `count` times", count=1.0),
        _f("qiact_hang", "AT+QIACT never answers (until EMERG_OFF or a power cycle)"),
        _f("qideact_slow", "AT+QIDEACT answers DEACT OK after `seconds`", seconds=100.0),
        _f("qideact_hang", "AT+QIDEACT never answers"),
        _f(
            "qiopen_hang",
            "AT+QIOPEN answers OK, then stays TCP CONNECTING; `seconds` > 0 ends in CONNECT FAIL",
            seconds=0.0,
        ),
        _f("pdp_deact", "the network drops the context now: +PDP DEACT", immediate=True),
        _f("peer_unreachable", "the next AT+QIOPEN's destination is unreachable", count=1.0),
        _f("silent", "the module answers nothing until EMERG_OFF or a power cycle", immediate=True),
        _f("noise", "noise bytes on the line (hex `data`)", immediate=True, data="ff1311"),
        _f(
            "nat_drop",
            "the GPRS gateway reclaims a session idle for `idle` seconds: the peer sees nothing, "
            "the module's data stays unacknowledged (KEEP-HEARTBEAT)",
            idle=600.0,
        ),
        _f(
            "slow_network",
            "data handed over leaves `delay` seconds later (unacknowledged meanwhile)",
            delay=3.0,
        ),
    )
}


class UnknownFault(ValueError):
    """A fault name or parameter the simulator does not have."""


@dataclass
class Armed:
    spec: FaultSpec
    persistent: bool
    params: dict[str, float | str]
    remaining: int

    def num(self, name: str) -> float:
        return float(self.params[name])


def _number(value: object) -> float:
    """`float(value)` for what float() takes; TypeError for the rest (None, a list)."""
    if isinstance(value, str | bytes | bytearray | SupportsFloat | SupportsIndex):
        return float(value)
    raise TypeError(f"{value!r} is not a number")


def make(name: str, persistent: bool, params: dict[str, object]) -> Armed:
    """Validate a fault request; UnknownFault names what exists."""
    spec = FAULTS.get(name)
    if spec is None:
        raise UnknownFault(f"unknown fault {name!r}; known faults: {', '.join(sorted(FAULTS))}")
    values: dict[str, float | str] = dict(spec.params)
    for key, value in params.items():
        if key not in spec.params and key != "count":
            allowed = ", ".join(sorted(set(spec.params) | {"count"}))
            raise UnknownFault(f"fault {name!r} has no parameter {key!r} (it takes: {allowed})")
        default = spec.params.get(key, 1.0)
        try:
            values[key] = str(value) if isinstance(default, str) else _number(value)
        except (TypeError, ValueError):
            raise UnknownFault(f"fault {name!r}: {key}={value!r} is not a number") from None
    if isinstance(values.get("data"), str):
        try:
            bytes.fromhex(str(values["data"]))
        except ValueError:
            raise UnknownFault(f"fault {name!r}: data={values['data']!r} is not hex") from None
    count = int(float(values.get("count", 1.0)))
    if count < 1:
        raise UnknownFault(f"fault {name!r}: count must be at least 1")
    return Armed(spec, persistent, values, count)


class Faults:
    """The armed faults of one simulator (touched on the module thread only)."""

    def __init__(self) -> None:
        self._armed: dict[str, Armed] = {}

    def arm(self, fault: Armed) -> None:
        self._armed[fault.spec.name] = fault

    def active(self, name: str) -> Armed | None:
        """The armed fault, without using it up."""
        return self._armed.get(name)

    def take(self, name: str) -> Armed | None:
        """The armed fault, using up one of a one-shot fault's acts."""
        fault = self._armed.get(name)
        if fault is not None and not fault.persistent:
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._armed[name]
        return fault

    def clear(self) -> None:
        self._armed.clear()

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._armed))
