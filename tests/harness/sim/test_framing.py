"""The module's own framing (PROTOCOL §0)."""

from harness.sim import framing


def test_verbose_lines_and_finals():
    assert framing.line("+CSQ: 25,0") == b"\r\n+CSQ: 25,0\r\n"
    assert framing.final("OK") == b"\r\nOK\r\n"
    assert framing.block(["A", "B"]) == b"\r\nA\r\nB\r\n"
    assert framing.PROMPT == b"\r\n> "


def test_numeric_mode():
    assert framing.final("OK", verbose=False) == b"0\r"
    assert framing.final("ERROR", verbose=False) == b"4\r"
    assert framing.final("SEND OK", verbose=False) == b"SEND OK\r\n"
    assert framing.line("+CSQ: 25,0", verbose=False) == b"+CSQ: 25,0\r\n"
