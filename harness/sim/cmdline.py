"""The module's command-line parser: one typed line (after "AT") into commands.

V.25ter shapes: basic commands (`E0`, `V1`, `I`, `&W`, `&F`, `Z`, `O`) may follow each other,
extended ones (`+NAME`, `=?` test, `?` read, `=args` set, bare exec) are separated by `;`.
Quectel also takes `AT+IPR=115200&W`, so an unquoted `&` ends an extended command's arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SyntaxFault(ValueError):
    """The line is not a well-formed command line (the module answers ERROR)."""


@dataclass(frozen=True)
class Arg:
    text: str
    quoted: bool


@dataclass(frozen=True)
class Command:
    """One command: `name` upper-case (`+QIOPEN`, `E`, `&W`), `kind` exec/set/read/test."""

    name: str
    kind: str
    args: tuple[Arg, ...] = field(default_factory=tuple)
    raw: str = ""

    def texts(self) -> list[str]:
        return [a.text for a in self.args]

    def ints(self) -> list[int]:
        """All arguments as integers (quoted numbers allowed, as for the QIOPEN port)."""
        try:
            return [int(a.text) for a in self.args]
        except ValueError:
            raise SyntaxFault(f"non-numeric argument in {self.raw}") from None


_BASIC_WITH_NUMBER = set("EVQXZIOHL")
_AMP = set("WFVCDK")


def parse(body: str) -> list[Command]:
    """Commands in the text after the "AT" prefix; raises SyntaxFault."""
    out: list[Command] = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c in " ;":
            i += 1
            continue
        if c == "+" or c == "#" or c == "$":
            j = i + 1
            while j < n and (body[j].isalnum() or body[j] == "_"):
                j += 1
            name = body[i:j].upper()
            if len(name) < 2:
                raise SyntaxFault(f"empty command name at {body!r}")
            kind, args, j = _extended_tail(body, j)
            out.append(Command(name, kind, args, body[i:j]))
            i = j
            continue
        up = c.upper()
        if up == "&":
            if i + 1 >= n or body[i + 1].upper() not in _AMP:
                raise SyntaxFault(f"unknown & command in {body!r}")
            j = i + 2
            while j < n and body[j].isdigit():
                j += 1
            digits = body[i + 2 : j]
            out.append(Command("&" + body[i + 1].upper(), "set", _num(digits), body[i:j]))
            i = j
            continue
        if up == "S":
            j = i + 1
            while j < n and body[j].isdigit():
                j += 1
            reg = body[i + 1 : j]
            if not reg:
                raise SyntaxFault("S without a register number")
            if j < n and body[j] == "?":
                out.append(Command("S" + reg, "read", (), body[i : j + 1]))
                i = j + 1
                continue
            if j < n and body[j] == "=":
                k = j + 1
                while k < n and body[k].isdigit():
                    k += 1
                out.append(Command("S" + reg, "set", _num(body[j + 1 : k]), body[i:k]))
                i = k
                continue
            raise SyntaxFault(f"S{reg} needs ? or =")
        if up in _BASIC_WITH_NUMBER:
            j = i + 1
            while j < n and body[j].isdigit():
                j += 1
            out.append(
                Command(up, "set" if j > i + 1 else "exec", _num(body[i + 1 : j]), body[i:j])
            )
            i = j
            continue
        raise SyntaxFault(f"unknown command character {c!r} in {body!r}")
    return out


def _num(digits: str) -> tuple[Arg, ...]:
    return (Arg(digits, False),) if digits else ()


def _extended_tail(body: str, j: int) -> tuple[str, tuple[Arg, ...], int]:
    n = len(body)
    if body.startswith("=?", j):
        return "test", (), j + 2
    if body.startswith("?", j):
        return "read", (), j + 1
    if not body.startswith("=", j):
        return "exec", (), j
    j += 1
    args: list[Arg] = []
    current: list[str] = []
    quoted = False
    in_quote = False
    while j < n:
        c = body[j]
        if in_quote:
            if c == '"':
                in_quote = False
            else:
                current.append(c)
            j += 1
            continue
        if c == '"':
            if current and "".join(current).strip():
                raise SyntaxFault(f"quote inside an argument in {body!r}")
            current, in_quote, quoted = [], True, True
            j += 1
            continue
        if c == ",":
            args.append(Arg("".join(current).strip() if not quoted else "".join(current), quoted))
            current, quoted = [], False
            j += 1
            continue
        if c in ";&":
            break
        if quoted:
            if not c.isspace():
                raise SyntaxFault(f"text after a closing quote in {body!r}")
        else:
            current.append(c)
        j += 1
    if in_quote:
        raise SyntaxFault(f"unterminated quote in {body!r}")
    args.append(Arg("".join(current).strip() if not quoted else "".join(current), quoted))
    return "set", tuple(args), j
