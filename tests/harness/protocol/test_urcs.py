"""The codec and unsolicited lines: which family, and when a line with a URC's prefix is the
reply of the command in flight (PROTOCOL.md §2, §3, §14)."""

import pytest
from _at_cases import exchange, frame, summarize

from harness.protocol import (
    Codec,
    Urc,
    UrcKind,
    urc_kind,
)


@pytest.mark.parametrize(
    "line,kind",
    [
        ("RDY", UrcKind.RDY),
        ("+CFUN: 1", UrcKind.CFUN),
        ("+CPIN: READY", UrcKind.CPIN),
        ("+CPIN:READY", UrcKind.CPIN),
        ("Call Ready", UrcKind.CALL_READY),
        ("SMS Ready", UrcKind.SMS_READY),
        ("+CREG: 1", UrcKind.CREG),
        ('+CREG: 1,"2842","0461"', UrcKind.CREG),
        ("+CGREG: 5", UrcKind.CGREG),
        ("CLOSED", UrcKind.CLOSED),
        ("+PDP DEACT", UrcKind.PDP_DEACT),
        ("+QIRDI: 0,1,0", UrcKind.QIRDI),
        ("+QIRDI:0,1,0", UrcKind.QIRDI),
        ("+QIRDI: 0,1,0,1,36,36", UrcKind.QIRDI),
        ("NORMAL POWER DOWN", UrcKind.POWER_DOWN),
        ("UNDER_VOLTAGE WARNING", UrcKind.VOLTAGE),
        ("UNDER_VOLTAGE POWER DOWN", UrcKind.VOLTAGE),
        ("OVER_VOLTAGE WARNING", UrcKind.VOLTAGE),
        ("OVER_VOLTAGE POWER DOWN", UrcKind.VOLTAGE),
        ("UNDER-VOLTAGE WARNNING", UrcKind.VOLTAGE),
        ("+CME ERROR: 14", UrcKind.ERROR),
        ("CONNECT OK", UrcKind.LATE),
        ("0, CONNECT FAIL", UrcKind.LATE),
        ("SEND OK", UrcKind.STRAY),
        ("+PDP: DEACT", UrcKind.UNKNOWN),
        ("+CERG:5", UrcKind.UNKNOWN),
        ("whatever the module says", UrcKind.UNKNOWN),
    ],
)
def test_idle_lines_are_urcs_of_their_kind(line, kind):
    (event,) = Codec().feed(frame(line), 42)
    assert event == Urc(line, 42, kind)


def test_creg_read_reply_versus_urc_during_creg_read():
    _, s = exchange(
        "AT+CREG?",
        frame("+CREG: 1", "+CREG: 0,1", '+CREG: 1,"2842","0461"', "x", "OK"),
    )
    assert s.lines == ["+CREG: 0,1", "x"]
    assert s.urcs == ["+CREG: 1", '+CREG: 1,"2842","0461"']
    _, s = exchange("AT+CREG?", frame('+CREG: 2,1,"2842","0426"', "OK"))
    assert s.lines == ['+CREG: 2,1,"2842","0426"'] and s.urcs == []
    _, s = exchange("AT+CGREG?", frame("+CGREG: 0,5", "+CGREG: 1", "OK"))
    assert s.lines == ["+CGREG: 0,5"] and s.urcs == ["+CGREG: 1"]
    _, s = exchange("AT+CREG=?", frame("+CREG: (0-2)", "OK"))
    assert s.lines == ["+CREG: (0-2)"]


def test_cpin_and_cfun_read_replies_are_lines_urcs_otherwise():
    _, s = exchange("AT+CPIN?", frame("+CPIN: READY", "OK"))
    assert s.lines == ["+CPIN: READY"] and s.urcs == []
    _, s = exchange("AT+CSQ", frame("+CPIN: READY", "+CSQ: 25,0", "OK"))
    assert s.urcs == ["+CPIN: READY"] and s.lines == ["+CSQ: 25,0"]
    _, s = exchange("AT+CFUN?", frame("+CFUN: 1", "OK"))
    assert s.lines == ["+CFUN: 1"]


def test_normal_power_down_is_the_answer_of_qpowd_and_a_urc_otherwise():
    codec, s = exchange("AT+QPOWD=1", frame("NORMAL POWER DOWN"))
    assert s.final == "NORMAL POWER DOWN" and s.ok and not codec.in_flight
    _, s = exchange("AT+CFUN=0", frame("NORMAL POWER DOWN", "OK"))
    assert s.urcs == ["NORMAL POWER DOWN"] and s.final == "OK"


def test_boot_noise_while_idle_is_urcs_never_errors():
    """§13.6 / §14: RDY, +CFUN, +CME ERROR: 14, +CPIN, +CMS ERROR: 3, Call Ready in a burst."""
    burst = frame(
        "RDY", "+CFUN: 1", "+CME ERROR: 14", "+CPIN: READY", "+CMS ERROR: 3", "Call Ready"
    )
    codec = Codec()
    s = summarize(codec.feed(burst, 7))
    assert s.urcs == [
        "RDY",
        "+CFUN: 1",
        "+CME ERROR: 14",
        "+CPIN: READY",
        "+CMS ERROR: 3",
        "Call Ready",
    ]
    assert s.urc_kinds == ["rdy", "cfun", "error", "cpin", "error", "call_ready"]
    assert s.final is None


def test_boot_burst_with_an_early_command_result():
    _, s = exchange("AT", frame("RDY", "+CFUN: 1", "OK", "+CPIN: READY"))
    assert s.final == "OK" and s.urcs == ["RDY", "+CFUN: 1", "+CPIN: READY"]


def test_early_cpin_answers_cme_14_and_cmgl_cms_3():
    _, s = exchange("AT+CPIN?", frame("+CME ERROR: 14"))
    assert s.final == "+CME ERROR: 14" and s.code == 14 and s.ok is False
    _, s = exchange('AT+CMGL="ALL"', frame("+CMS ERROR: 3"))
    assert s.code == 3 and s.ok is False


def test_urc_kind_of_non_urcs():
    assert urc_kind("+CSQ: 25,0") is None and urc_kind("Quectel_M95") is None


@pytest.mark.parametrize("text", ["CLOSED", "0, CLOSED", "0, CLOS", "1,CLOSED"])
def test_closed_with_or_without_index_and_truncated(text):
    s = summarize(Codec().feed(frame(text), 0))
    assert s.urcs == [text] and s.urc_kinds == ["closed"]
