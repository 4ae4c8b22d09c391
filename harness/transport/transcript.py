"""Every byte both ways, stamped: `Transcript` keeps them in memory and, redacted, in a JSON-lines
file as they happen; `escape()` shows bytes as one readable line."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import deque
from pathlib import Path
from typing import NamedTuple, TextIO

from harness.clock import stamp
from harness.files import StorageFault, storage_fault
from harness.redact import REDACTOR

#: Entries a Transcript keeps in memory (the file keeps everything).
TRANSCRIPT_KEEP = 30_000  # ~4.5 MB; far more than one test writes (bench/soak.py)


_DIRECTIONS = ("tx", "rx", "note")
_ESCAPES = {0x0D: "\\r", 0x0A: "\\n", 0x5C: "\\\\"}
_READABLE = [_ESCAPES.get(b, chr(b) if 0x20 <= b <= 0x7E else f"<{b:02X}>") for b in range(256)]


def escape(data: bytes) -> str:
    """Bytes as one readable line: `\\r`, `\\n`, `\\\\`, printable ASCII, `<1A>` for the rest."""
    return "".join([_READABLE[b] for b in data])


class Entry(NamedTuple):
    """One transcript record: bytes sent (`tx`), bytes received (`rx`) or a `note`."""

    t_ns: int
    dir: str
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace") if self.dir == "note" else escape(self.data)

    def as_json(self) -> str:
        if self.dir == "note":
            return json.dumps({"t": self.t_ns, "dir": "note", "text": self.text})
        # Same as json.dumps of {"t", "dir", "hex"} (all plain ASCII), at a fraction of the cost.
        return f'{{"t": {self.t_ns}, "dir": "{self.dir}", "hex": "{self.data.hex()}"}}'


class Transcript:
    """Every byte both ways with arrival stamps; appended to `path` (JSON lines) as it happens.

    Memory keeps the raw bytes (tests compare them); everything written out — the file,
    `text()`, `tail()` — goes through harness.redact first. The file holds back the few
    trailing bytes that could still become a secret or an IMEI with the next chunk (a module
    chunks as it likes), and writes them with the next record; each record is flushed on its
    own, so a crashed run loses at most those bytes.
    """

    def __init__(
        self, path: str | os.PathLike | None = None, *, keep: int | None = TRANSCRIPT_KEEP
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._entries: deque[Entry] = deque(maxlen=keep)
        self._count = 0  # entries ever recorded; marks index into this
        self._origin = stamp()
        self._lock = threading.Lock()
        self._held: Entry | None = None  # bytes not yet written to the file (see the class)
        self._file: TextIO | None = None
        #: The disk refused a write: the file stops there, memory keeps the rest (a rig fault
        #: the plugin reports once; the channel itself goes on).
        self.storage_fault: StorageFault | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")

    def record(self, direction: str, data: bytes, t_ns: int | None = None) -> Entry:
        """Append bytes sent (`tx`), received (`rx`) or a `note`, stamped now or at `t_ns`."""
        if direction not in _DIRECTIONS:
            raise ValueError(f"transcript direction must be tx, rx or note, not {direction!r}")
        entry = Entry(stamp() if t_ns is None else t_ns, direction, bytes(data))
        with self._lock:
            self._entries.append(entry)
            self._count += 1
            file, path = self._file, self.path  # a file is open only where there is a path
            if file is not None and path is not None:
                try:
                    self._write(file, entry)
                except OSError as e:
                    self.storage_fault = storage_fault(e, path) or StorageFault(
                        f"cannot write the transcript {path}: {e}"
                    )
                    with contextlib.suppress(OSError):
                        file.close()
                    self._file = None
        return entry

    def _write(self, file: TextIO, entry: Entry) -> None:
        """Append `entry` to the file, redacted; same-direction bytes that may be the start of
        a secret wait for the next record."""
        held = self._held
        if held is not None and held.dir == entry.dir and entry.dir != "note":
            entry = Entry(held.t_ns, entry.dir, held.data + entry.data)
        elif held is not None:
            file.write(_redacted(held).as_json() + "\n")
        self._held = None
        if entry.dir != "note":
            keep = REDACTOR.held(entry.data)
            if keep:
                self._held = Entry(entry.t_ns, entry.dir, entry.data[len(entry.data) - keep :])
                entry = Entry(entry.t_ns, entry.dir, entry.data[: len(entry.data) - keep])
        if entry.data:
            file.write(_redacted(entry).as_json() + "\n")
        file.flush()

    def note(self, text: str) -> Entry:
        """A remark in the transcript (a skipped garbage byte, a test step)."""
        return self.record("note", text.encode("utf-8"))

    def mark(self) -> int:
        """A position to ask `since()` about later."""
        with self._lock:
            return self._count

    def since(self, mark: int) -> list[Entry]:
        """Entries recorded after `mark` (those still kept in memory)."""
        with self._lock:
            first = self._count - len(self._entries)
            return list(self._entries)[max(0, mark - first) :]

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def text(self, entries: list[Entry] | None = None) -> str:
        """Readable: one line per direction change, `seconds dir bytes` with escapes."""
        if entries is None:
            entries = self.entries()
        lines: list[str] = []
        prev: Entry | None = None
        parts: list[str] = []
        for entry in entries:
            if prev is not None and (entry.dir != prev.dir or entry.dir == "note"):
                lines.append(self._line(prev, parts))
                prev, parts = None, []
            if prev is None:
                prev = entry
            parts.append(entry.text)
        if prev is not None:
            lines.append(self._line(prev, parts))
        return "\n".join(lines)

    def _line(self, first: Entry, parts: list[str]) -> str:
        seconds = (first.t_ns - self._origin) / 1e9
        return f"{seconds:12.6f} {first.dir:<4} {REDACTOR.text(''.join(parts))}"

    def tail(self, lines: int = 20) -> str:
        """The last `lines` lines of `text()`."""
        with self._lock:
            recent = list(self._entries)[-(lines * 64) :]
        return "\n".join(self.text(recent).splitlines()[-lines:])

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                with contextlib.suppress(OSError):  # a full disk was reported already
                    if self._held is not None:
                        self._file.write(_redacted(self._held).as_json() + "\n")
                    self._file.close()
                self._file = self._held = None

    @classmethod
    def load(cls, path: str | os.PathLike) -> Transcript:
        """Read a JSON-lines transcript back (for replay and reports); stays in memory."""
        out = cls(keep=None)
        with Path(path).open(encoding="utf-8") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                    data = (
                        rec["text"].encode("utf-8")
                        if rec["dir"] == "note"
                        else bytes.fromhex(rec["hex"])
                    )
                    out.record(rec["dir"], data, int(rec["t"]))
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise ValueError(
                        f"{path}:{n}: not a modemcert transcript record ({e}); "
                        'expected {"t": ns, "dir": "tx"|"rx"|"note", "hex"|"text": ...}'
                    ) from None
        if out._entries:
            out._origin = out._entries[0].t_ns
        return out


def _redacted(entry: Entry) -> Entry:
    if entry.dir == "note":
        return Entry(entry.t_ns, entry.dir, REDACTOR.text(entry.text).encode("utf-8"))
    return Entry(entry.t_ns, entry.dir, REDACTOR.bytes(entry.data))
