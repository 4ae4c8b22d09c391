"""Payloads in messages and reports: their length, SHA-256 and a short printable preview.

A 1460-byte payload printed as escapes drowns the failure it belongs to. Messages, consoles and
reports show `payload(data)` instead; the whole bytes stay in the run's transcript files only.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterable

from harness.transport import Entry, Transcript, escape

#: Runs of bytes up to this long are shown whole (any AT line and its answer); longer ones,
#: payloads, are summarised.
INLINE_BYTES = 128
#: Bytes of a summarised payload shown as its preview.
PREVIEW_BYTES = 16


def payload(data: bytes) -> str:
    """`[1460 bytes, sha256 <64 hex>, starts "GET / HTTP/1.1\\r\\n"…]`: what the bytes are, not
    the bytes; the digest lets anyone check them against the transcript file."""
    data = bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    preview = escape(data[:PREVIEW_BYTES])
    more = "…" if len(data) > PREVIEW_BYTES else ""
    return f'[{len(data)} bytes, sha256 {digest}, starts "{preview}"{more}]'


def shown(data: bytes) -> str:
    """Short bytes as the transcript writes them; longer ones as `payload()`."""
    data = bytes(data)
    return escape(data) if len(data) <= INLINE_BYTES else payload(data)


def entries(items: Iterable[Entry]) -> list[Entry]:
    """Transcript entries with every run of one direction longer than INLINE_BYTES folded
    into one note holding its `payload()` summary (exact: computed from the bytes)."""
    out: list[Entry] = []
    run: list[Entry] = []

    def flush() -> None:
        total = sum(len(e.data) for e in run)
        if total > INLINE_BYTES:
            data = b"".join(e.data for e in run)
            text = f"{run[0].dir} {payload(data)}"
            out.append(Entry(run[0].t_ns, "note", text.encode("utf-8")))
        else:
            out.extend(run)
        run.clear()

    for entry in items:
        if entry.dir == "note" or (run and entry.dir != run[0].dir):
            flush()
        if entry.dir == "note":
            out.append(entry)
        else:
            run.append(entry)
    flush()
    return out


def tail(transcript: Transcript, lines: int = 20) -> str:
    """`Transcript.tail()` with long payloads summarised: for messages and consoles."""
    recent = transcript.entries()[-(lines * 64) :]
    return "\n".join(transcript.text(entries(recent)).splitlines()[-lines:])


# -- text already written: messages and transcript files of earlier runs -------------------------
_UNESCAPE = re.compile(r"<([0-9A-F]{2})>|\\(r|n|\\)|(.)", re.DOTALL)
_LINE = re.compile(r"^(\s*-?\d+\.\d+ (?:tx|rx)\s+)(.*)$")
_BYTES_LITERAL = re.compile(r"""b'(?:[^'\\\n]|\\.)*'|b"(?:[^"\\\n]|\\.)*\"""")
_ESCAPE_RUN = re.compile(r"<[0-9A-F]{2}>(?:<[0-9A-F]{2}>|\\[rn\\]|[ -~])*<[0-9A-F]{2}>")
_HEX_RUN = re.compile(rf"\b(?:[0-9a-f]{{2}}){{{INLINE_BYTES + 1},}}\b")


def unescape(text: str) -> bytes:
    """The bytes a transcript line stands for (`\\r`, `\\n`, `\\\\`, `<1A>`, printable ASCII).

    Exact unless the payload itself held the four characters `<1A>`, which read back as one byte.
    """
    out = bytearray()
    for m in _UNESCAPE.finditer(text):
        if m.group(1):
            out.append(int(m.group(1), 16))
        elif m.group(2):
            out += {"r": b"\r", "n": b"\n", "\\": b"\\"}[m.group(2)]
        else:
            out += m.group(3).encode("utf-8", "replace")
    return bytes(out)


def _literal(m: re.Match) -> str:
    try:
        data = ast.literal_eval(m.group(0))
    except (ValueError, SyntaxError):
        return m.group(0)
    return payload(data) if isinstance(data, bytes) and len(data) > INLINE_BYTES else m.group(0)


def _escaped(m: re.Match) -> str:
    data = unescape(m.group(0))
    binary = m.group(0).count("<")
    return payload(data) if len(data) > INLINE_BYTES and binary >= 8 else m.group(0)


def _line(line: str) -> str:
    m = _LINE.match(line)
    if m is not None:
        data = unescape(m.group(2))
        if len(data) > INLINE_BYTES:
            return m.group(1) + payload(data)
        return line
    line = _BYTES_LITERAL.sub(_literal, line)
    line = _ESCAPE_RUN.sub(_escaped, line)
    return _HEX_RUN.sub(lambda h: payload(bytes.fromhex(h.group(0))), line)


def text(message: str) -> str:
    """A message or transcript excerpt with every long payload in it summarised: transcript
    lines, Python bytes literals (`b'\\x00…'`), runs of `<XX>` escapes and long hex strings."""
    return "\n".join(_line(line) for line in message.split("\n"))


_CLOCK = re.compile(r"Clock\(scale=([0-9.e-]+)\)")


def plain(message: str) -> str:
    """`text()`, and no object reprs a reader cannot use (`Clock(scale=0.02)` → `time scale
    0.02`)."""
    return _CLOCK.sub(r"time scale \1", text(message))


def clip(sentence: str, chars: int) -> str:
    """At most `chars` characters, cut at a word boundary with `…`, never inside a word."""
    sentence = " ".join(sentence.split())
    if len(sentence) <= chars:
        return sentence
    cut = sentence[: chars - 1]
    space = cut.rfind(" ")
    # A word longer than the room is kept whole: half a word is never evidence.
    cut = cut[:space] if space > 0 else sentence.split(" ")[0]
    return cut.rstrip(" ,;:(-–—") + "…"
