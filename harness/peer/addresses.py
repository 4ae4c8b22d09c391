"""Addresses for the peer: parse HOST:PORT, tell loopback apart, bind TCP+UDP on one port.

Bind errors become `PeerStartError` naming the address and what to do; nothing here sends
a byte anywhere.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from harness.peer.errors import PeerStartError

#: The port of every example in the vendor document (AT+QIOPEN="TCP","116.226.39.202","7007").
DEFAULT_PORT = 7007
#: The control channel's default port: the one next to it (rigs/pi-m95.toml uses it too).
DEFAULT_CONTROL_PORT = 7008
#: Tries to find a port free for both TCP and UDP when asked for port 0.
_PAIR_TRIES = 20
#: Connections the kernel queues before we accept them (capped by net.core.somaxconn): a
#: flood must not fill the queue, or the harness's own connect waits for a SYN retry (1 s).
LISTEN_BACKLOG = 1024


def parse_hostport(text: str, what: str = "address") -> tuple[str, int]:
    """'127.0.0.1:7007', '[::1]:7007', ':7007' (all interfaces) → (host, port); ValueError."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ValueError(f"{what} {text!r} has no port: write HOST:PORT, e.g. 127.0.0.1:7007")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{what} {text!r}: put an IPv6 address in brackets, e.g. [::1]:7007")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{what} {text!r}: port {port_text!r} is not a number")
    if not 0 <= port <= 65535:
        raise ValueError(f"{what} {text!r}: port {port} is outside 0..65535")
    host = host or "0.0.0.0"
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not _looks_like_hostname(host):
                raise ValueError(f"{what} {text!r}: {host!r} is not an IP address or host name")
    return host, port


def format_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'; False for 0.0.0.0, '' and every other name."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _looks_like_hostname(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return all(label and len(label) <= 63 and label.replace("-", "").isalnum() for label in labels)


def _family(host: str) -> tuple[socket.AddressFamily, str]:
    if host == "localhost":
        return socket.AF_INET, "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError as e:
            raise PeerStartError(f"cannot resolve {host!r}: {e}; give an IP address instead")
        family, *_, sockaddr = infos[0]
        return family, str(sockaddr[0])  # an IPv4 or IPv6 sockaddr starts with the address
    return (socket.AF_INET6 if ip.version == 6 else socket.AF_INET), host


def _bind(kind: int, host: str, port: int, what: str) -> socket.socket:
    family, addr = _family(host)
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            # Re-listening after `refuse` must work while old connections linger (TIME_WAIT).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((addr, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(LISTEN_BACKLOG)
    except OSError as e:
        sock.close()
        raise PeerStartError(_bind_message(e, what, host, port)) from e
    sock.setblocking(False)
    return sock


def _bind_message(e: OSError, what: str, host: str, port: int) -> str:
    where = format_hostport(host, port)
    if e.errno == errno.EADDRINUSE:
        return (
            f"{what} {where} is already in use: stop the program holding it "
            f"(`ss -ltnup | grep :{port}` shows it) or choose another port"
        )
    if e.errno == errno.EADDRNOTAVAIL:
        return f"{what} {where}: {host} is not an address of this machine; check `ip addr`"
    if e.errno == errno.EACCES:
        return f"{what} {where}: permission denied; ports below 1024 need root, use a higher one"
    return f"{what} {where}: cannot bind: {e.strerror or e}"


def bind_tcp(host: str, port: int, what: str = "TCP listener") -> socket.socket:
    return _bind(socket.SOCK_STREAM, host, port, what)


def bind_udp(host: str, port: int, what: str = "UDP port") -> socket.socket:
    return _bind(socket.SOCK_DGRAM, host, port, what)


def bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A listening TCP socket and a UDP socket on the same port (port 0: a free pair)."""
    last: PeerStartError | None = None
    for _ in range(_PAIR_TRIES if port == 0 else 1):
        tcp = bind_tcp(host, port)
        try:
            return tcp, bind_udp(host, tcp.getsockname()[1])
        except PeerStartError as e:
            tcp.close()
            last = e
    assert last is not None
    raise last
