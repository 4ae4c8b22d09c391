"""A rough line: the same bytes and meanings, framed the way a real module's UART may deliver
them (PROTOCOL §0, §13.4–§13.7, §14). Used by the `rough` profile (`Profile.rough()`).

`RoughLine` cuts every write into random chunks with random gaps and always puts a CR and its
LF in different chunks; `UrcSpots` repeats URCs that are due anyway right after a final or just
before an echo. Both draw from their own generator seeded from the simulator's seed, so a seed
gives the same draws every run (thread timing aside).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from harness.sim.receive import qirdi

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware
    from harness.sim.profile import Profile

CR, LF = 0x0D, 0x0A
#: Bytes a UART coming up may show before RDY (PROTOCOL §13.7, §14 "line noise is real").
BOOT_GARBAGE = (b"\x00", b"\xff", b"\xfe", b"\x11", b"\x13", b"\xf8")


class RoughLine:
    """Cuts one write into `(chunk, module seconds of silence after it)` pieces."""

    def __init__(self, profile: Profile, seed: int) -> None:
        self.chunk_max = profile.out_chunk_max
        self.gap = profile.lat_chunk_gap
        self.crlf_gap = profile.lat_crlf_gap
        self.rng = random.Random(f"rough-line/{seed}")

    @property
    def active(self) -> bool:
        return self.chunk_max > 0

    def pieces(self, data: bytes) -> list[tuple[bytes, float]]:
        out: list[tuple[bytes, float]] = []
        i, n = 0, len(data)
        while i < n:
            j = min(n, i + self.rng.randint(1, self.chunk_max))
            cr = data.find(b"\r\n", i, j)
            if 0 <= cr < j - 1:
                j = cr + 1  # the CR ends this chunk; its LF starts the next one
            split_crlf = j < n and data[j - 1] == CR and data[j] == LF
            gap = self.rng.uniform(*(self.crlf_gap if split_crlf else self.gap))
            out.append((data[i:j], gap if j < n else 0.0))
            i = j
        return out


class UrcSpots:
    """Repeats a URC the module already printed and that is still true, at the places a URC
    may come between commands: right after a final, or just before a command's echo."""

    def __init__(self, profile: Profile, seed: int) -> None:
        self.chance = profile.urc_spots
        self.boot_noise = profile.boot_noise
        self.drawn_qisde = profile.echo_payload_drawn
        self.rng = random.Random(f"rough-urcs/{seed}")

    @property
    def active(self) -> bool:
        return self.chance > 0

    def qisde_at_boot(self, default: bool) -> bool:
        """AT+QISDE at power-on: the profile's, or drawn (both are faithful modules)."""
        return self.rng.random() < 0.5 if self.drawn_qisde else default

    def garbage(self) -> bytes:
        if not self.boot_noise:
            return b""
        return b"".join(self.rng.choice(BOOT_GARBAGE) for _ in range(self.rng.randint(1, 4)))

    def visit(self, fw: Firmware, where: str) -> None:
        """Maybe print one repeated URC now (`where` is for reading the code, not used)."""
        if not self.active or self.rng.random() >= self.chance or not _quiet_spot(fw):
            return
        candidates = due_urcs(fw)
        if candidates:
            fw.out.urc(self.rng.choice(candidates))


def _quiet_spot(fw: Firmware) -> bool:
    """In command mode, on, between lines, at the rate the host listens at."""
    v = fw.v
    return (
        fw.powered
        and not fw.powering_down
        and not v.shutting_down
        and fw.mode == "command"
        and fw.out.uart is not None
        and v.rate is not None
        and fw.out.uart.host_rate() == v.rate
    )


def due_urcs(fw: Firmware) -> list[str]:
    """URCs this module has printed whose content is still true now: repeating one tells the
    host nothing new (registration, Call Ready, data waiting for AT+QIRD)."""
    v = fw.v
    out = []
    for which in ("creg", "cgreg"):
        text = fw.boot.reg_urc(which)
        if text is not None and fw.said.get(which) == getattr(v, f"{which}_stat"):
            out.append(text)
    if fw.said.get("call_ready") and v.qiurc:
        out.append("Call Ready")
    if v.indi == 1:
        out += [qirdi(fw, s, 0) for s in fw.sessions.values() if s.rx and s.rx_announced]
    return out
