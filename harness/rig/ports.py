"""[serial]: where the module's UART is (a device path or a pyserial URL), the rate and the rates
INIT-SYNC searches, flow control, and how long a lost port may take to come back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from harness.rig.checks import Checks
from harness.rig.errors import did_you_mean, short
from harness.rig.model import (
    COMMON_RATES,
    RATES,
    RECONNECT_DEFAULT,
    RECONNECT_MAX,
    SERIAL_SCHEMES,
    SerialConfig,
)


def parse_serial(c: Checks, table: Mapping[str, Any], is_sim: bool) -> SerialConfig:
    """[serial]: the port (none on the sim and labgrid rigs, whose port is chosen at start), rates,
    flow control, reconnect and the USB latency timer."""
    c.keys(
        table,
        "serial",
        ("port", "baud", "autobaud", "search_rates", "rtscts", "reconnect", "low_latency"),
    )
    port = c.get(table, "serial", "port", str, None)
    if is_sim and port is not None:
        raise c.error(
            "serial.port",
            "the sim rig's port is the simulator's pseudo-terminal, chosen at start; "
            "remove the key",
        )
    if not is_sim:
        if port is None:
            raise c.error(
                "serial.port",
                'missing: e.g. "/dev/serial0", "/dev/serial/by-id/usb-…" or "rfc2217://host:port"',
            )
        check_port(c, port)
    baud = parse_rate(c, "serial.baud", c.get(table, "serial", "baud", int, 115200))
    raw_rates = c.get(table, "serial", "search_rates", list, list(COMMON_RATES))
    rates = tuple(parse_rate(c, "serial.search_rates", r) for r in raw_rates)
    return SerialConfig(
        port=port,
        baud=baud,
        autobaud=c.get(table, "serial", "autobaud", bool, False),
        search_rates=rates,
        rtscts=c.get(table, "serial", "rtscts", bool, False),
        reconnect=parse_reconnect(c, table),
        low_latency=c.get(table, "serial", "low_latency", bool, True),
    )


def parse_reconnect(c: Checks, table: Mapping[str, Any]) -> float:
    """Seconds to wait for a lost port to come back (0: never)."""
    seconds = float(c.get(table, "serial", "reconnect", float, RECONNECT_DEFAULT))
    if not (0 <= seconds <= RECONNECT_MAX):
        raise c.error(
            "serial.reconnect",
            f"{seconds:g} s: wait 0 (never) to {RECONNECT_MAX:g} s for a lost port to return",
        )
    return seconds


def parse_rate(c: Checks, key: str, value: Any) -> int:
    """A rate the module accepts with AT+IPR."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in RATES:
        raise c.error(
            key,
            f"{short(value)} is not a rate the module accepts; use one of "
            f"{', '.join(map(str, RATES))}",
        )
    return value


def check_port(c: Checks, port: str) -> None:
    """A device path (or COMn), or a pyserial URL of a known scheme (with host:port if it dials)."""
    if "://" in port:
        parts = urlsplit(port)
        if parts.scheme not in SERIAL_SCHEMES:
            raise c.error(
                "serial.port",
                f"unknown pyserial URL scheme {parts.scheme!r}"
                f"{did_you_mean(parts.scheme, SERIAL_SCHEMES)}; use a device path or "
                f"one of {', '.join(s + '://' for s in SERIAL_SCHEMES)}",
            )
        if parts.scheme in ("rfc2217", "socket"):
            c.host_port(port, "serial.port")
    elif not port.startswith("/") and not port.upper().startswith("COM"):
        raise c.error(
            "serial.port",
            f"{short(port)} is neither an absolute device path nor a pyserial URL; "
            'e.g. "/dev/serial0" or "rfc2217://192.0.2.20:4000"',
        )
