"""What the codec must know about the command in flight: its form, its framing and the modes.

`spec_for(line)` reads the framing from the command registry (harness/commands): the execute
and set forms of a command are framed by its entry's `kind`, read and test forms as BASIC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from harness.commands import Kind, kind_of
from harness.limits import command_name


class Form(StrEnum):
    EXEC = "exec"
    READ = "read"
    TEST = "test"
    SET = "set"


@dataclass(frozen=True)
class CommandSpec:
    """What the codec needs to know about the command in flight to frame its reply."""

    command: str
    name: str  # "+QIOPEN", "E" for ATE0, "" for AT
    form: Form
    kind: Kind
    mux: bool = False
    transparent: bool = False
    send_length: int | None = None  # AT+QISEND=<n>: exactly n bytes, no Ctrl+Z
    basic: tuple[tuple[str, int | None], ...] = ()  # ATE0V1 → (("E", 0), ("V", 1))

    def setting(self, letter: str) -> int | None:
        """The value a basic command sets (`ATE0` → E=0), or None if it does not set it."""
        for name, value in self.basic:
            if name == letter:
                return 0 if value is None else value
        return None

    @property
    def resets(self) -> bool:
        """ATZ / AT&F: the stored settings (echo, verbose results) come back."""
        return self.setting("Z") is not None or self.setting("&F") is not None


_BASIC_TOKEN = re.compile(r"(&?[A-Z])(\d*)")
_LAST_INT = re.compile(r"(\d+)\s*$")


def spec_for(command: str, mux: bool = False, mode: int = 0) -> CommandSpec:
    """The framing of `command`'s reply; `mux` = AT+QIMUX, `mode` = AT+QIMODE (1: transparent)."""
    text = command.strip()
    name = command_name(text)
    rest = text[2 + len(name) :] if text[:2].upper() == "AT" else ""
    if rest.startswith("=?"):
        form = Form.TEST
    elif rest.startswith("?"):
        form = Form.READ
    elif rest.startswith("="):
        form = Form.SET
    else:
        form = Form.EXEC
    kind = kind_of(name) if form in (Form.EXEC, Form.SET) else Kind.BASIC
    send_length = None
    if kind is Kind.SEND and form is Form.SET:
        m = _LAST_INT.search(rest)
        send_length = int(m.group(1)) if m else None
    basic: tuple[tuple[str, int | None], ...] = ()
    if not name.startswith("+"):
        body = re.split(r"[+;]", text[2:], maxsplit=1)[0].upper()
        basic = tuple((t, int(v) if v else None) for t, v in _BASIC_TOKEN.findall(body))
    return CommandSpec(
        command=text,
        name=name,
        form=form,
        kind=kind,
        mux=bool(mux),
        transparent=bool(mode),
        send_length=send_length,
        basic=basic,
    )


#: `+++` in data mode is no command line, but the codec frames its answer like one.
ESCAPE_SPEC = CommandSpec(command="+++", name="+++", form=Form.EXEC, kind=Kind.ESCAPE)
