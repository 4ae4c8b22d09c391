"""Length-framed blocks: pushed data (`IPD<len>[TCP|UDP]:`, `+RECEIVE: <id>, <len>`) and the
`+QIRD:` blocks of AT+QIRD (PROTOCOL.md §8, §9). Exactly `<len>` bytes, whatever they hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from harness.protocol.classify import EOL, RECV_FROM
from harness.protocol.echo import Progress
from harness.protocol.events import MAX_FRAME, QirdBlock, Received

_IPD = re.compile(rb"IPD(\d{1,5})(TCP|UDP)?:")
_IPD_PREFIX = re.compile(rb"I(?:P(?:D(?:\d{1,5}(?:T(?:C(?:P)?)?|U(?:D(?:P)?)?)?)?)?)?")
_IPD_HEADER_MAX = 12  # len("IPD65535TCP:")
_RECV_FROM = RECV_FROM.encode()
_RECV_FROM_LINE = re.compile(rb"RECV FROM:\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}")
_RECV_FROM_PARTIAL = re.compile(
    rb"R(?:E(?:C(?:V(?: (?:F(?:R(?:O(?:M(?::[0-9.:]{0,21})?)?)?)?)?)?)?)?)?"
)
LF = 0x0A


class Framing(StrEnum):
    IPD = "ipd"  # pushed data
    QIRD = "qird"  # a block of an AT+QIRD reply


@dataclass
class Block:
    """A length-framed payload being collected."""

    framing: Framing
    length: int
    peer: str | None = None
    proto: str | None = None
    link: int | None = None
    skip_lf: bool = False  # the header ended in CR; one LF may still follow it
    data: bytearray = field(default_factory=bytearray)

    def fill(self, buf: bytearray) -> bool:
        """Take the block's bytes from `buf`; True once all `length` of them came."""
        if self.skip_lf:
            self.skip_lf = False
            if buf[0] == LF:
                del buf[0]
                if not buf:
                    return False
        take = min(self.length - len(self.data), len(buf))
        self.data += buf[:take]
        del buf[:take]
        return len(self.data) >= self.length

    def event(self, t: int, complete: bool) -> Received | QirdBlock:
        payload = bytes(self.data)
        if self.framing is Framing.QIRD:
            return QirdBlock(payload, t, self.peer or "", self.proto or "", self.length, complete)
        return Received(payload, self.peer, self.proto, t, self.link, complete)


@dataclass
class Announced:
    """`+RECEIVE: <id>, <len>` seen: a RECV FROM line, an IPD header or raw bytes follow."""

    link: int
    length: int
    peer: str | None = None
    skip_lf: bool = False

    def header(self, buf: bytearray) -> Progress | Block:
        """Read what follows the announcement: DONE (a line end or RECV FROM line taken), WAIT,
        or the Block the payload fills. Only exact headers count (a RECV FROM address line, IPD
        with the announced length): anything else is the raw payload, which may itself start
        with such text."""
        if self.skip_lf:
            self.skip_lf = False
            if buf[0] == LF:
                del buf[0]
                return Progress.DONE
        if self.peer is None and buf[:1] == b"R":
            m = EOL.search(buf)
            if m is None:
                if _RECV_FROM_PARTIAL.fullmatch(buf):
                    return Progress.WAIT
            elif _RECV_FROM_LINE.fullmatch(buf, 0, m.start()):
                self.peer = buf[len(_RECV_FROM) : m.start()].decode()
                self.skip_lf = buf[m.start()] == 0x0D
                del buf[: m.end()]
                return Progress.DONE
        proto: str | None = None
        for header, name in (
            (b"IPD%d:" % self.length, None),
            (b"IPD%dTCP:" % self.length, "TCP"),
            (b"IPD%dUDP:" % self.length, "UDP"),
        ):
            if buf.startswith(header):
                del buf[: len(header)]
                proto = name
                break
            if len(buf) < len(header) and header.startswith(buf):
                return Progress.WAIT
        return Block(Framing.IPD, self.length, self.peer, proto, self.link)

    def unframed(self) -> Block:
        """The frame gap passed undecided: what follows is the raw payload."""
        return Block(Framing.IPD, self.length, self.peer, None, self.link, skip_lf=self.skip_lf)


def ipd_header(buf: bytearray, peer: str | None) -> Progress | Block:
    """An `IPD<len>[TCP|UDP]:` header at the front of `buf` (it has no line end, §8)?"""
    m = _IPD.match(buf)
    if m is not None:
        length = int(m.group(1))
        if length > MAX_FRAME:
            return Progress.NO
        proto = m.group(2).decode() if m.group(2) else None
        del buf[: m.end()]
        return Block(Framing.IPD, length, peer=peer, proto=proto)
    if len(buf) < _IPD_HEADER_MAX and _IPD_PREFIX.fullmatch(buf):
        return Progress.WAIT
    return Progress.NO
