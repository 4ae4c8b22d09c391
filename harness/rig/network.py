"""[network] and [peer]: the APN and credentials AT+QICSGP sends, the peer the module dials and
its control URL; passwords and tokens become `Secret`s (inline, `_env` or `_file`)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from harness import limits
from harness.rig.checks import Checks
from harness.rig.errors import short
from harness.rig.model import CONTROL_SCHEMES, DEFAULT_WRONG_APN, NetworkConfig, PeerConfig, Secret


def parse_secret(c: Checks, table: Mapping[str, Any], where: str, key: str) -> Secret | None:
    """`key`, `key_env` or `key_file` (at most one) as a `Secret`, or None if none is given."""
    forms = [k for k in (key, f"{key}_env", f"{key}_file") if k in table]
    if len(forms) > 1:
        raise c.error(f"{where}.{forms[1]}", f"give only one of {', '.join(forms)}")
    if not forms:
        return None
    form = forms[0]
    value = c.get(table, where, form, str)
    full = f"{where}.{form}"
    if form.endswith("_env"):
        if not value or not value.replace("_", "").isalnum():
            raise c.error(full, f"{short(value)} is not an environment variable name")
        return Secret(f"env:{value}", full, str(c.path))
    if form.endswith("_file"):
        return Secret(f"file:{os.path.expanduser(value)}", full, str(c.path))
    return Secret("inline", full, str(c.path), value)


def parse_network(c: Checks, table: Mapping[str, Any]) -> NetworkConfig:
    """[network]: APN, user, password (a `Secret`) and the wrong APN that rig.wrong_apn uses."""
    c.keys(
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
        values[key] = command_text(c, table, key, default)
    password = parse_secret(c, table, "network", "password")
    if password is not None and password.source == "inline":
        command_text(c, table, "password", "")
    return NetworkConfig(password=password, **values)


def command_text(c: Checks, table: Mapping[str, Any], key: str, default: str) -> str:
    """A string that goes into `AT+QICSGP=1,"…"`: ASCII, no quote, no control character."""
    value = c.get(table, "network", key, str, default)
    if not value.isascii() or '"' in value or any(ord(c) < 0x20 for c in value):
        shown = "the value" if key == "password" else short(value)
        raise c.error(
            f"network.{key}",
            f"{shown} cannot be sent in AT+QICSGP: use printable ASCII without a quote",
        )
    return value


def parse_peer(c: Checks, table: Mapping[str, Any], is_sim: bool) -> PeerConfig:
    """[peer]: a dotted IPv4 host (loopback on the sim rig), ports, and on hardware the control
    URL of `modemcert peer` and its token."""
    c.keys(
        table,
        "peer",
        ("host", "port", "udp_port", "control_url", "token", "token_env", "token_file"),
    )
    host = c.get(table, "peer", "host", str, "127.0.0.1")
    try:
        dotted = ipaddress.IPv4Address(host)
    except ValueError:
        example = "127.0.0.1" if is_sim else "203.0.113.10"
        raise c.error(
            "peer.host",
            f"{short(host)} is not a dotted IPv4 address: AT+QIOPEN dials an address "
            f'(AT+QIDNSIP=0, the default); e.g. "{example}"',
        ) from None
    ports = {}
    for key in ("port", "udp_port"):
        p = c.get(table, "peer", key, int, 0 if key == "port" else None)
        lowest = 0 if is_sim else 1
        if p is not None and not (lowest <= p <= 65535):
            raise c.error(
                f"peer.{key}",
                f"{p} is not a port; use 1..65535"
                + ("" if not is_sim else " (or 0 for an automatic one)"),
            )
        ports[key] = p
    control = c.get(table, "peer", "control_url", str, None)
    if is_sim:
        if not dotted.is_loopback:
            raise c.error(
                "peer.host",
                f"{short(host)} is not a loopback address: the sim rig only ever talks to "
                "127.0.0.0/8 (the simulator maps foreign addresses itself)",
            )
        if control is not None:
            raise c.error(
                "peer.control_url",
                "the sim rig starts its own peer; its control URL is chosen at start",
            )
    else:
        if control is None:
            raise c.error(
                "peer.control_url",
                "missing: the URL of `modemcert peer` on the far host, e.g. "
                '"http://203.0.113.10:7008"',
            )
        scheme = urlsplit(control).scheme
        if scheme not in CONTROL_SCHEMES:
            raise c.error(
                "peer.control_url",
                f"{short(control)}: use one of {', '.join(s + '://' for s in CONTROL_SCHEMES)}",
            )
        c.host_port(control, "peer.control_url")
    return PeerConfig(
        host=host,
        port=ports["port"],
        udp_port=ports["udp_port"],
        control_url=control,
        token=parse_secret(c, table, "peer", "token"),
    )
