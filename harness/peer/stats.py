"""What the peer keeps per connection: byte counts, SHA-256 of each direction, times, the end.

`Record` is the live, mutable tally inside the server; `ConnStats` is its frozen snapshot that
travels as JSON to `PeerControl`, so a test can prove no byte was lost or changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from harness.clock import Clock, epoch, stamp


class Ended(StrEnum):
    """How a connection ended (UDP flows end only when we close them or the server stops)."""

    OPEN = "still open"
    PEER_CLOSED = "peer closed"  # FIN from the far end (the module's AT+QICLOSE)
    WE_CLOSED = "we closed"  # our FIN (close mode, reset(close=True), server stop)
    WE_RESET = "we reset"  # our RST (close mode with how="reset")
    RESET = "reset"  # RST from the far end, or the socket failed
    IDLE = "idle timeout"  # no byte either way for the peer's idle timeout (RST)
    EVICTED = "evicted"  # ended (RST) to make room when an address held too many


def sha256_hex(data: bytes) -> str:
    """The digest `ConnStats.sha256_in/out` use, for comparing with what a test sent."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ConnStats:
    """One TCP connection or UDP remote address as the peer saw it.

    Calendar times are `epoch()` seconds; the `*_module` twins are module seconds on the
    peer's clock (comparable with `Clock.now()` when the clock is shared, as on the sim rig).
    """

    id: int
    proto: str  # "tcp" | "udp"
    remote: tuple[str, int]
    bytes_in: int
    bytes_out: int
    sha256_in: str
    sha256_out: str
    first_byte: float | None  # first byte either way
    last_byte: float | None
    ended: Ended
    mode: str
    local: tuple[str, int] = ("", 0)
    opened: float = 0.0
    closed: float | None = None
    opened_module: float = 0.0
    first_byte_module: float | None = None
    last_byte_module: float | None = None
    closed_module: float | None = None
    datagrams_in: int = 0  # UDP only
    datagrams_out: int = 0
    unread: int | None = None  # TCP: bytes waiting in our receive queue (hold, silent)
    unsent: int = 0  # bytes written by us but still in our send buffer

    @property
    def open(self) -> bool:
        return self.ended is Ended.OPEN

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ended"] = str(self.ended)
        d["remote"] = list(self.remote)
        d["local"] = list(self.local)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ConnStats:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["remote"] = tuple(kw.get("remote") or ("", 0))
        kw["local"] = tuple(kw.get("local") or ("", 0))
        kw["ended"] = Ended(kw["ended"])
        return cls(**kw)


class Record:
    """The live tally of one connection; touched only from the server's event loop."""

    def __init__(
        self,
        id: int,
        proto: str,
        remote: tuple[str, int],
        local: tuple[str, int],
        mode: str,
        clock: Clock,
    ) -> None:
        self.id = id
        self.proto = proto
        self.remote = remote
        self.local = local
        self.mode = mode
        self.clock = clock
        self.bytes_in = self.bytes_out = 0
        self.datagrams_in = self.datagrams_out = 0
        self._sha_in = hashlib.sha256()
        self._sha_out = hashlib.sha256()
        self.opened_ns = stamp()
        self.opened_epoch = epoch()
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.closed_ns: int | None = None
        self.ended = Ended.OPEN

    def received(self, data: bytes, t_ns: int, datagram: bool = False) -> None:
        self.bytes_in += len(data)
        self.datagrams_in += datagram
        self._sha_in.update(data)
        self._touch(t_ns)

    def sent(self, data: bytes, t_ns: int, datagram: bool = False) -> None:
        self.bytes_out += len(data)
        self.datagrams_out += datagram
        self._sha_out.update(data)
        self._touch(t_ns)

    def end(self, how: Ended) -> bool:
        """Mark the end once (the first cause wins); True if this call ended it."""
        if self.ended is not Ended.OPEN:
            return False
        self.ended = how
        self.closed_ns = stamp()
        return True

    def _touch(self, t_ns: int) -> None:
        if self.first_ns is None:
            self.first_ns = t_ns
        self.last_ns = t_ns

    def _epoch(self, t_ns: int | None) -> float | None:
        return None if t_ns is None else self.opened_epoch + (t_ns - self.opened_ns) / 1e9

    def _module(self, t_ns: int | None) -> float | None:
        return None if t_ns is None else self.clock.at(t_ns)

    def snapshot(self, unread: int | None = None, unsent: int = 0) -> ConnStats:
        return ConnStats(
            id=self.id,
            proto=self.proto,
            remote=self.remote,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            sha256_in=self._sha_in.hexdigest(),
            sha256_out=self._sha_out.hexdigest(),
            first_byte=self._epoch(self.first_ns),
            last_byte=self._epoch(self.last_ns),
            ended=self.ended,
            mode=self.mode,
            local=self.local,
            opened=self.opened_epoch,
            closed=self._epoch(self.closed_ns),
            opened_module=self.clock.at(self.opened_ns),
            first_byte_module=self._module(self.first_ns),
            last_byte_module=self._module(self.last_ns),
            closed_module=self._module(self.closed_ns),
            datagrams_in=self.datagrams_in,
            datagrams_out=self.datagrams_out,
            unread=unread,
            unsent=unsent,
        )
