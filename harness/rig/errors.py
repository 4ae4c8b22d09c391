"""A rig file problem as one line: `RigError` names the file, the key, what is wrong and what
to do; the helpers here word the values it quotes (cut, typed, with a did-you-mean)."""

from __future__ import annotations

import difflib
import os
from typing import Any

from harness.errors import UsageFault

#: Longest message and key a RigError carries (one readable line).
MAX_MESSAGE = 400
MAX_KEY = 80


class RigError(UsageFault, ValueError):
    """A rig file problem: which file, which key, what is wrong and what to do."""

    def __init__(self, file: str | os.PathLike | None, key: str | None, message: str) -> None:
        self.file = str(file) if file is not None else None
        if key is not None and not key.isprintable():  # an unknown key may be anything
            key = key.encode("unicode_escape").decode("ascii")
        if key is not None and len(key) > MAX_KEY:
            key = key[: MAX_KEY - 1] + "…"
        self.key = key
        if not message.isprintable():
            message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        if len(message) > MAX_MESSAGE:  # a value quoted in full would drown the line
            message = message[: MAX_MESSAGE - 1] + "…"
        self.message = message
        where = ": ".join(p for p in (self.file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def short(value: Any, limit: int = 40) -> str:
    """A value for an error line: repr, cut (with its length) when long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text)} characters)"


def toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
