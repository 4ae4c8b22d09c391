"""The module's own response framing (PROTOCOL §0); deliberately not the harness's codec.

Verbose (ATV1): every line is `\\r\\n<line>\\r\\n`. Numeric (ATV0): information text is
`<line>\\r\\n` and the V.25ter result codes become `<n>\\r`.
"""

from __future__ import annotations

CRLF = b"\r\n"
PROMPT = b"\r\n> "  # PROTOCOL §6: CR LF '>' space, no trailing CR LF

#: ATV0 numbers of the V.25ter result codes; Quectel's own finals stay text.
NUMERIC = {"OK": "0", "CONNECT": "1", "RING": "2", "NO CARRIER": "3", "ERROR": "4"}


def line(text: str | bytes, verbose: bool = True) -> bytes:
    """An information line or URC."""
    raw = text.encode("latin-1") if isinstance(text, str) else text
    return CRLF + raw + CRLF if verbose else raw + CRLF


def block(lines: list[str], verbose: bool = True) -> bytes:
    """Several information lines that belong together (ATI): one leading CR LF, one each."""
    body = CRLF.join(t.encode("latin-1") for t in lines) + CRLF
    return CRLF + body if verbose else body


def final(text: str, verbose: bool = True) -> bytes:
    """A final result code."""
    if not verbose and text in NUMERIC:
        return NUMERIC[text].encode() + b"\r"
    return line(text, verbose)
