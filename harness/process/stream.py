"""The stream `Process.send()` was given, and the links that carried it.

`Sender` is pure bookkeeping (no I/O): which offset was handed over, which is acknowledged, and
where each link started and ended, so a new link resends exactly the unacknowledged tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.clock import stamp
from harness.process.machine import Decision


@dataclass
class Link:
    """One connection of a stream: the stream bytes it delivered and how it ended."""

    proto: str
    host: str
    port: int
    opened_ns: int
    start: int  # stream offset of its first byte
    end: int | None = None  # offset after its last byte known acknowledged, once it ended
    ended: str = ""  # "" while up; "closed", "peer closed", "broken (SEND-WINDOW)", ...
    ended_ns: int | None = None
    received: bytearray = field(default_factory=bytearray)

    def carried(self, t_ns: int) -> bool:
        """Was this link up at `t_ns` (for attributing received data)?"""
        return self.opened_ns <= t_ns and (self.ended_ns is None or t_ns <= self.ended_ns)


class Sender:
    """Everything `send()` was given between `open()` and `close()`, and where it stands.

    What is guaranteed: every byte is handed over until the module reports it acknowledged
    (TCP), across any number of reconnects and reboots; a new link starts with the whole
    unacknowledged tail (SEND-WINDOW: "resend everything unacknowledged before new data"), so
    the peer sees the stream in order. A byte is sent twice only if it was handed over and
    never reported acknowledged before its link broke: the module cannot say whether the peer
    got it (after CLOSED or +PDP DEACT QISACK answers 0, 0, 0). UDP has no acknowledgement:
    SEND OK is all there is.
    """

    def __init__(self, proto: str) -> None:
        self.proto = proto
        self._tail = bytearray()  # the stream from offset `acked` on
        self.total = 0  # bytes given to send()
        self.handed = 0  # offset handed over on the current link (SEND OK)
        self.acked = 0  # offset known acknowledged
        self.links: list[Link] = []

    @property
    def link(self) -> Link | None:
        return self.links[-1] if self.links and not self.links[-1].ended else None

    @property
    def unacked(self) -> int:
        return self.handed - self.acked

    @property
    def unsent(self) -> int:
        return self.total - self.handed

    def add(self, data: bytes) -> None:
        self._tail += data
        self.total += len(data)

    def chunk(self, size: int) -> bytes:
        at = self.handed - self.acked
        return bytes(self._tail[at : at + size])

    def handed_over(self, n: int) -> None:
        self.handed += n
        if self.proto == "UDP":
            self.acknowledge(self.handed)

    def acknowledge(self, offset: int) -> None:
        offset = min(offset, self.handed)
        if offset > self.acked:
            del self._tail[: offset - self.acked]
            self.acked = offset

    def start_link(self, proto: str, host: str, port: int) -> Link:
        self.handed = self.acked  # the unacknowledged tail goes out again first
        link = Link(proto, host, int(port), stamp(), self.acked)
        self.links.append(link)
        return link

    def end_link(self, how: str) -> Link | None:
        link = self.link
        if link is not None:
            link.end, link.ended, link.ended_ns = self.acked, how, stamp()
        return link


@dataclass(frozen=True)
class SessionResult:
    """What `Process.session()` did: the stream with its links, and the decisions taken."""

    sender: Sender
    decisions: list[Decision]
