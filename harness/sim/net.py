"""The simulator's only door to the network: loopback or nothing (DESIGN "Faults").

`loopback_connect` is the one place a simulated session touches a real address, and it raises
`NotLoopback` for anything outside 127.0.0.0/8. `Resolver` turns what the host dialled (a foreign
address, a name) into a loopback target via `address_map`, or says it is unreachable.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class NotLoopback(RuntimeError):
    """Something asked the simulator to reach a non-loopback address; it never does."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host) in LOOPBACK
    except ValueError:
        return False


def is_dotted_ip(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


#: The reserved top-level name no network serves (RFC 6761): the simulated network knows every
#: APN but those under it, so a rig's `wrong_apn` (rig.wrong_apn) fails AT+QIACT as it would live.
UNKNOWN_APN_SUFFIX = ".invalid"


def apn_known(apn: str) -> bool:
    """Does the simulated network serve this APN? Every name but those under `.invalid`."""
    name = apn.strip().lower().rstrip(".")
    return not (name == UNKNOWN_APN_SUFFIX[1:] or name.endswith(UNKNOWN_APN_SUFFIX))


def loopback_connect(sock: socket.socket, address: tuple[str, int]) -> None:
    """Connect `sock` (TCP, or UDP to set its peer) to a 127.0.0.0/8 address, and nothing else."""
    host, port = address
    if not is_loopback(host):
        raise NotLoopback(f"the simulator refused to connect to {host}:{port}: not loopback")
    sock.connect((host, int(port)))


@dataclass(frozen=True)
class Route:
    """Where a dialled destination really goes: `target` on loopback, or None (unreachable)."""

    ip: str  # the address as the module knows it (what QIRD/RECV FROM print)
    port: int
    target: tuple[str, int] | None


def _split(text: str, what: str) -> tuple[str, int | None]:
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = text.strip(), ""
    if not is_dotted_ip(host):
        raise ValueError(f"{what} {text!r}: expected a dotted IPv4 address, optionally :port")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{what} {text!r}: the port must be 1..65535")
    return host, int(port) if port else None


class Resolver:
    """`address_map` {"ip[:port]": "127.x.x.x[:port]"} and `hosts` {"name": "ip"} as routes."""

    def __init__(self, address_map: dict[str, str], hosts: dict[str, str]) -> None:
        self._map: dict[tuple[str, int | None], tuple[str, int | None]] = {}
        for key, value in address_map.items():
            src = _split(key, "address_map key")
            dst = _split(value, f"address_map[{key!r}]")
            if not is_loopback(dst[0]):
                raise ValueError(
                    f"address_map[{key!r}] = {value!r} is not on 127.0.0.0/8; the simulator "
                    "only ever dials loopback: map foreign addresses to a local peer"
                )
            self._map[src] = dst
        self._hosts: dict[str, str] = {}
        for name, ip in hosts.items():
            if not is_dotted_ip(ip):
                raise ValueError(f"hosts[{name!r}] = {ip!r}: expected a dotted IPv4 address")
            self._hosts[name.lower().rstrip(".")] = ip

    def lookup(self, name: str) -> str | None:
        """A name's address from `hosts` only: no real DNS query is ever made."""
        if is_dotted_ip(name):
            return name
        return self._hosts.get(name.lower().rstrip("."))

    def route(self, ip: str, port: int) -> Route:
        hit = self._map.get((ip, port)) or self._map.get((ip, None))
        if hit is not None:
            return Route(ip, port, (hit[0], hit[1] if hit[1] is not None else port))
        if is_loopback(ip):
            return Route(ip, port, (ip, port))
        return Route(ip, port, None)  # simulated unreachable: never dialled
