"""Secrets never reach a file or the console: one redaction step every writer goes through.

A secret (the APN user and password, the peer token: anything a rig file holds as a `Secret`)
is registered the moment it is revealed, and from then on every writer masks it: the UART
transcript (`uart.jsonl` and its readable text), timings.json, the Allure results, pytest's
reports (console and JUnit) and the live progress line. The module's IMEI and ICCID are masked
the same way, all but their last 3 digits, unless a run asks for them (`--full-imei`).
Bottom layer: stdlib only.
"""

from __future__ import annotations

import builtins
import json
import re
import threading
from collections.abc import Iterable
from typing import Any

#: What a secret becomes.
MASK = "[secret]"
#: An IMEI (15 digits) or an ICCID (19–20 digits starting 89), not inside a longer number or
#: a hex string (an Allure uuid, a hex dump must never be touched).
_IDS = re.compile(r"(?<![0-9A-Fa-f])(?:89[0-9]{17,18}|[0-9]{15})(?![0-9A-Fa-f])")
_IDS_BYTES = re.compile(_IDS.pattern.encode())
#: Digits kept at the end of a masked IMEI/ICCID (harness.runrecord.mask_imei keeps as many).
KEEP_DIGITS = 3
#: The longest digit run that may still grow into an IMEI/ICCID.
_ID_MAX = 20
_TRAILING_DIGITS = re.compile(rb"[0-9]{1,%d}\Z" % _ID_MAX)


def _mask_id(digits: str) -> str:
    return "x" * (len(digits) - KEEP_DIGITS) + digits[-KEEP_DIGITS:]


class Redactor:
    """The registered secrets, and whether module identities are masked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._raw: tuple[bytes, ...] = ()
        self.mask_ids = True

    def add(self, value: str | None) -> None:
        """Mask `value` (and its JSON-escaped form) in everything written from now on."""
        if not value:
            return
        forms = {value, json.dumps(value)[1:-1]}
        with self._lock:
            merged = set(self._secrets) | forms
            # Longest first, so a secret containing another is masked whole.
            self._secrets = tuple(sorted(merged, key=len, reverse=True))
            self._raw = tuple(s.encode("utf-8") for s in self._secrets)

    @property
    def active(self) -> bool:
        return bool(self._secrets) or self.mask_ids

    def text(self, text: str) -> str:
        """`text` with every secret masked (and IDs, unless they are to be kept)."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if self.mask_ids:
            text = _IDS.sub(lambda m: _mask_id(m.group()), text)
        return text

    def bytes(self, data: bytes) -> bytes:
        """`data` with every secret masked (and IDs, unless they are to be kept)."""
        for secret in self._raw:
            if secret in data:
                data = data.replace(secret, MASK.encode())
        if self.mask_ids:
            data = _IDS_BYTES.sub(lambda m: _mask_id(m.group().decode()).encode(), data)
        return data

    def held(self, data: builtins.bytes) -> int:  # `bytes` in this class is the method above
        """How many trailing bytes of `data` could still become a secret or an ID with the
        bytes that follow: a stream writer keeps them back until it knows."""
        keep = 0
        for secret in self._raw:
            for k in range(min(len(secret) - 1, len(data)), keep, -1):
                if data.endswith(secret[:k]):
                    keep = k
                    break
        if self.mask_ids:
            m = _TRAILING_DIGITS.search(data)
            if m is not None:
                keep = max(keep, len(m.group()))
        return keep

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string in it redacted (numbers stay numbers)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def contains_secret(self, texts: Iterable[str]) -> bool:
        return any(secret in text for text in texts for secret in self._secrets)


#: The process's one redactor: `Secret.reveal()` registers, every writer applies it.
REDACTOR = Redactor()


def secret(value: str) -> str:
    """Register `value` as a secret and hand it back (for the one place that must send it)."""
    REDACTOR.add(value)
    return value
