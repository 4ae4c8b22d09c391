"""Who the module is: model, revision, firmware, IMEI and ICCID, asked once per run.

`identify()` never fails on one missing answer: an ERROR or silence leaves that field None and
names the command in `missing`, so a module that hides its ICCID is still certified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.at import ATChannel, ATError, ATTimeout
from harness.runrecord import mask_imei


@dataclass(frozen=True)
class Identity:
    """Who the module is: model, revision (ATI/AT+GMR), firmware (AT+QGMR), IMEI, ICCID."""

    model: str | None = None
    revision: str | None = None
    firmware: str | None = None
    imei: str | None = None
    iccid: str | None = None
    missing: tuple[str, ...] = field(default=(), compare=False)  # commands that failed

    def as_dict(self, mask: bool = True) -> dict[str, str | None]:
        """For timings.json and reports: the IMEI masked but its last 3 digits."""
        return {
            "model": self.model,
            "revision": self.revision,
            "firmware": self.firmware,
            "imei": mask_imei(self.imei) if mask else self.imei,
            "iccid": self.iccid,
        }


_DIGITS = re.compile(r"^(?:\+\w+:\s*)?([0-9A-Fa-f]{6,22})$")
_REVISION = re.compile(r"^Revision:\s*(\S+)")
_MAKERS = ("Quectel_Ltd", "Quectel")


def _ask(channel: ATChannel, cmd: str, timeout: float | None, missing: list[str]) -> list[str]:
    try:
        reply = channel.command(cmd, timeout)
    except (ATTimeout, ATError):
        reply = None
    if reply is None or not reply.ok:
        missing.append(cmd)
        return []
    return [ln.strip() for ln in reply.lines if ln.strip()]


def _number(lines: list[str]) -> str | None:
    for line in lines:
        m = _DIGITS.match(line)
        if m:
            return m.group(1)
    return None


def identify(channel: ATChannel, timeout: float | None = None) -> Identity:
    """Ask ATI, AT+CGMM, AT+GMR, AT+QGMR, AT+GSN, AT+QCCID once; an ERROR from any one leaves
    its field None (listed in `missing`). `AT+QGMR` is the full firmware (PROTOCOL.md §14)."""
    missing: list[str] = []
    ati = _ask(channel, "ATI", timeout, missing)
    model = next((ln for ln in ati if ln not in _MAKERS and not _REVISION.match(ln)), None)
    revision = next((m.group(1) for ln in ati if (m := _REVISION.match(ln))), None)
    cgmm = _ask(channel, "AT+CGMM", timeout, missing)
    model = cgmm[0] if cgmm else model
    gmr = _ask(channel, "AT+GMR", timeout, missing)
    if gmr:
        m = _REVISION.match(gmr[0])
        revision = revision or (m.group(1) if m else gmr[0])
    qgmr = _ask(channel, "AT+QGMR", timeout, missing)
    firmware = qgmr[0] if qgmr else revision
    imei = _number(_ask(channel, "AT+GSN", timeout, missing))
    iccid = _number(_ask(channel, "AT+QCCID", timeout, missing))
    return Identity(model, revision, firmware, imei, iccid, tuple(missing))
