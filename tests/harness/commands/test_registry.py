"""The command registry: one entry per AT command, read by the codec (framing), the limits
lookup (AT-TIMEOUT) and Modem (typed results); the only place the result words live."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

from harness import limits
from harness.at import Reply
from harness.clauses import UnknownClause
from harness.commands import (
    COMMAND_LIMITS,
    COMMANDS,
    CONNECTION_RESULTS,
    STRAY_RESULTS,
    Command,
    Kind,
    ResultCode,
    command,
    limit_for,
)
from harness.commands import registry as c
from harness.commands.answers import outcome
from harness.modem import Modem
from harness.protocol import Codec, Form, UrcKind, spec_for, urc_kind

ROOT = Path(__file__).resolve().parents[3]


def test_every_framing_kind_has_a_command():
    framed = {entry.kind for entry in COMMANDS.values()}
    assert framed == set(Kind) - {Kind.ESCAPE}  # +++ is no command line


@pytest.mark.parametrize("entry", list(COMMANDS.values()), ids=lambda e: e.name or "AT")
def test_the_codec_frames_each_command_as_its_entry_says(entry: Command):
    assert command(entry.line()) is entry
    assert spec_for(entry.line()).kind is entry.kind
    assert spec_for(entry.line("=1")).kind is entry.kind
    read = spec_for(entry.line("?"))
    if entry.name.startswith("+"):  # read and test forms of extended commands: info then OK
        assert (read.form, read.kind) == (Form.READ, Kind.BASIC)
        assert spec_for(entry.line("=?")).kind is Kind.BASIC


@pytest.mark.parametrize("entry", list(COMMANDS.values()), ids=lambda e: e.name or "AT")
def test_the_limits_lookup_reads_the_registry(entry: Command):
    assert limit_for(entry.line()) is entry.limit is limit_for(entry.line("?"))


def test_every_limit_of_the_table_is_one_of_limits_py():
    """The registry names limits; the numbers stay in harness/limits.py."""
    numbers = {id(v) for v in vars(limits).values() if isinstance(v, limits.Limit)}
    assert all(id(entry.limit) in numbers for entry in COMMANDS.values())
    assert set(COMMAND_LIMITS) == {"+CGATT", "+QIACT", "+QIDEACT", "+QICLOSE", "+QIOPEN"}


def test_an_entry_must_cite_a_real_clause():
    with pytest.raises(UnknownClause):
        Command("+QIXYZ", outcome, clause="PDP-DAECT")


def test_the_codec_knows_every_final_word_even_with_nothing_in_flight():
    for word in STRAY_RESULTS:
        assert urc_kind(word) is UrcKind.STRAY and urc_kind(f"0, {word}") is UrcKind.STRAY
    for word in CONNECTION_RESULTS:
        assert urc_kind(word) is UrcKind.LATE
    assert urc_kind(ResultCode.NORMAL_POWER_DOWN) is UrcKind.POWER_DOWN
    codec = Codec()
    codec.begin(spec_for(c.QIDEACT.line()))
    [final] = codec.feed(b"\r\n" + ResultCode.DEACT_OK.encode() + b"\r\n", 0)
    assert final.ok and final.text == ResultCode.DEACT_OK


#: The result words with a space: no other text in the project spells them out by chance.
WORDS = {code.value for code in ResultCode if " " in code.value}
#: The simulator speaks for the module, with words of its own (a codec bug must not be mirrored).
OWN_WORDS = ("harness/sim/", "harness/commands/words.py")


def literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_the_result_words_live_only_in_the_registry():
    """`"DEACT OK"`, `"CLOSE OK"` … as a string of their own appear nowhere but in
    harness/commands/words.py: everything else compares ResultCode members."""
    found = []
    for top in ("harness", "fixtures", "suites"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(OWN_WORDS):
                continue
            found += [f"{rel}:{n}: {text!r}" for n, text in literals(path) if text in WORDS]
    assert not found, "result words outside the registry:\n" + "\n".join(found)


def test_every_modem_method_returns_a_typed_value():
    """No Modem method hands back a raw Reply or a bare string to parse."""
    for name, method in inspect.getmembers(Modem, inspect.isfunction):
        if name.startswith("_"):
            continue
        returned = typing.get_type_hints(method).get("return")
        assert returned not in (Reply, str, typing.Any), f"Modem.{name} returns {returned}"
