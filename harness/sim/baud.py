"""Line speed: what rate the host is at, what a rate mismatch looks like, and autobaud detection.

The host's termios speed is visible on the PTY master (`tcgetattr(master)[4]`), so the simulator
knows when host and module disagree and can answer with deterministic garbage (PROTOCOL §3).
"""

from __future__ import annotations

import hashlib
import termios

#: termios speed constant → bits per second, for every B<n> this platform has.
_SPEEDS = {
    getattr(termios, name): int(name[1:])
    for name in dir(termios)
    if name.startswith("B") and name[1:].isdigit()
}


def host_rate(fd: int) -> int:
    """The bits per second the host set on the PTY (0 if it cannot be read)."""
    try:
        return _SPEEDS.get(termios.tcgetattr(fd)[4], 0)
    except (termios.error, OSError, ValueError):
        return 0


def garble(data: bytes, module_rate: int, host_rate: int) -> bytes:
    """What a host at `host_rate` reads when the module sends `data` at `module_rate`.

    Deterministic in its inputs; every byte has its top bit set, so no garbage can ever spell a
    result code. The length scales with the rate ratio, as framing at the wrong speed does.
    """
    if not data:
        return b""
    slow, fast = sorted((max(module_rate, 1), max(host_rate, 1)))
    count = max(1, round(len(data) * slow / fast))
    seed = data + module_rate.to_bytes(4, "big") + host_rate.to_bytes(4, "big")
    out = bytearray()
    block = 0
    while len(out) < count:
        out += hashlib.blake2b(seed + block.to_bytes(4, "big"), digest_size=64).digest()
        block += 1
    return bytes(b | 0x80 for b in out[:count])


class Autobaud:
    """Counts "AT" / "at" at one host rate (PROTOCOL §2: only those two, 8N1); others reset it."""

    def __init__(self, needed: int) -> None:
        self.needed = max(1, needed)
        self.seen = 0
        self._rate = 0
        self._last = b""

    def feed(self, data: bytes, rate: int) -> bytes | None:
        """Bytes from the host at `rate`; once locked, the input from the locking "AT" on."""
        if rate != self._rate:
            self._rate, self.seen, self._last = rate, 0, b""
        text = self._last + data
        i = 0
        while i < len(text) - 1:
            pair = text[i : i + 2]
            if pair in (b"AT", b"at"):
                self.seen += 1
                if self.seen >= self.needed:
                    self._last = b""
                    return text[i:]
                i += 2
                continue
            i += 1
        self._last = text[-1:]
        return None
