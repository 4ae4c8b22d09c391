"""The module's own command-line parser."""

import pytest

from harness.sim.cmdline import Arg, SyntaxFault, parse


def test_basic_commands_chain():
    cmds = parse("E0V1")
    assert [(c.name, c.kind, c.texts()) for c in cmds] == [("E", "set", ["0"]), ("V", "set", ["1"])]
    assert [(c.name, c.kind) for c in parse("I")] == [("I", "exec")]


def test_extended_forms():
    read, test, exe = parse("+CPIN?"), parse("+CREG=?"), parse("+QIACT")
    assert (read[0].name, read[0].kind) == ("+CPIN", "read")
    assert (test[0].name, test[0].kind) == ("+CREG", "test")
    assert (exe[0].name, exe[0].kind) == ("+QIACT", "exec")


def test_quoted_arguments_keep_commas_and_case():
    (cmd,) = parse('+qiopen="TCP","a,b.example","7007"')
    assert cmd.name == "+QIOPEN"
    assert cmd.args == (Arg("TCP", True), Arg("a,b.example", True), Arg("7007", True))
    assert int(cmd.args[-1].text) == 7007


def test_ipr_with_ampersand_w_is_two_commands():
    cmds = parse("+IPR=115200&W")
    assert [(c.name, c.texts()) for c in cmds] == [("+IPR", ["115200"]), ("&W", [])]


def test_semicolon_separates_extended_commands():
    assert [c.name for c in parse('+QIFGCNT=0;+QICSGP=1,"CMNET"')] == ["+QIFGCNT", "+QICSGP"]


@pytest.mark.parametrize("body", ["+", '+X="open', '+X="a"b', "&Q", "S", "!", "S7"])
def test_malformed_lines_raise(body):
    with pytest.raises(SyntaxFault):
        parse(body)


def test_non_numeric_ints_raise():
    (cmd,) = parse("+QISEND=abc")
    with pytest.raises(SyntaxFault):
        cmd.ints()
