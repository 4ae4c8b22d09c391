"""The sans-IO codec against the seed exchanges and every quirk of PROTOCOL.md §13–§14."""

import pytest
from _at_cases import Case, exchange, feed, frame, run, summarize
from _at_seeds import ALL_CASES, OPEN_TCP, open_transparent

from harness.protocol import (
    EVENT_TYPES,
    MAX_LINE,
    Codec,
    DataBytes,
    Echo,
    Final,
    Form,
    Kind,
    Noise,
    Prompt,
    ProtocolError,
    QirdBlock,
    Received,
    Stage,
    Urc,
    spec_for,
)


# -- the seed documents, byte for byte ------------------------------------------------------
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_seed_and_protocol_exchanges(case: Case):
    codec, events = run(case.steps())
    assert case.mismatches(summarize(events)) == []
    assert not codec.in_flight or case.command is None


# -- §13 quirks -----------------------------------------------------------------------------
def test_urc_right_after_the_oks_of_qird():
    """§13.4 (OT#14): QIRD answers a bare OK and +QIRDI follows immediately."""
    codec, s = exchange("AT+QIRD=0,1,0,1024", frame("OK") + frame("+QIRDI: 0,1,0"))
    assert s.final == "OK" and s.blocks == [] and s.urcs == ["+QIRDI: 0,1,0"]
    assert s.urc_kinds == ["qirdi"] and not codec.in_flight


def test_closed_right_after_qird_data_and_the_next_qird_errors():
    """§13.4: `0, CLOSED` right after QIRD data and OK; the next QIRD returns ERROR."""
    block = b"\r\n+QIRD: 78.46.45.61:80,TCP,49\r\n" + bytes(range(49))
    codec, s = exchange("AT+QIRD=0,1,0,1024", block + frame("OK") + frame("0, CLOSED"))
    assert s.blocks == [bytes(range(49))] and s.block_peers == ["78.46.45.61:80"]
    assert s.final == "OK" and s.urcs == ["0, CLOSED"] and s.urc_kinds == ["closed"]
    _, s = exchange("AT+QIRD=0,1,0,1024", frame("ERROR"), codec=codec)
    assert s.final == "ERROR" and s.ok is False


def test_qistat_prints_ok_before_the_state_and_no_ok_after():
    codec, s = exchange("AT+QISTAT", frame("OK"))
    assert s.stages == ["OK"] and s.final is None and codec.in_flight
    s = summarize(feed(codec, frame("STATE: IP STATUS")))
    assert s.final == "STATE: IP STATUS" and s.ok and not codec.in_flight


def test_qistat_mux_form_and_qistate():
    _, s = exchange(
        "AT+QISTAT",
        frame("OK", "STATE: IP STATUS", '+QISTAT: 0, "", ""', '+QISTAT: 1, "", ""', "OK"),
        mux=True,
    )
    assert s.stages == ["OK", "OK"] and s.final == "OK"
    assert s.lines == ["STATE: IP STATUS", '+QISTAT: 0, "", ""', '+QISTAT: 1, "", ""']
    _, s = exchange(
        "AT+QISTATE", frame("OK", "STATE: CONNECT OK", '+QISTATE: 0,"TCP","1.2.3.4",7,1,2', "OK")
    )
    assert s.final == "OK" and s.lines[0] == "STATE: CONNECT OK" and len(s.lines) == 2


def test_qilocip_has_no_ok_even_with_echo_and_urc_first():
    codec, s = exchange("AT+QILOCIP", b"AT+QILOCIP\r", frame("+QIRDI: 0,1,0"), frame("10.0.0.5"))
    assert s.echo == [b"AT+QILOCIP"] and s.urcs == ["+QIRDI: 0,1,0"]
    assert s.final == "10.0.0.5" and s.ok and not codec.in_flight


def test_qideact_and_qiclose_end_without_ok():
    codec, s = exchange("AT+QIDEACT", frame("DEACT OK"))
    assert s.final == "DEACT OK" and not codec.in_flight
    codec, s = exchange("AT+QICLOSE", frame("CLOSE OK"))
    assert s.final == "CLOSE OK" and not codec.in_flight


def test_qideact_error_and_stray_ok_after_it():
    codec, s = exchange("AT+QIDEACT", frame("ERROR"))
    assert s.final == "ERROR" and s.ok is False
    s = summarize(feed(codec, frame("OK")))
    assert s.urc_kinds == ["stray"]


@pytest.mark.parametrize("split", [False, True])
def test_already_connect_then_error_is_absorbed(split):
    """§13.2 / §14 (OT#28): ALREADY CONNECT is the answer; its trailing ERROR is absorbed."""
    out = frame("ALREADY CONNECT") + frame("ERROR")
    chunks = (out[:19], out[19:]) if split else (out,)
    codec, s = exchange(OPEN_TCP, *chunks)
    assert s.final == "ALREADY CONNECT" and s.ok is False and s.absorbed == 1
    assert s.urcs == [] and not codec.absorbing
    _, s = exchange("AT", frame("OK"), codec=codec)
    assert s.final == "OK" and s.ok


def test_already_connect_without_error_does_not_eat_the_next_error():
    codec, s = exchange(OPEN_TCP, frame("ALREADY CONNECT"))
    assert codec.absorbing
    _, s = exchange("AT+QICLOSE", frame("ERROR"), codec=codec)
    assert s.final == "ERROR" and s.absorbed == 0


def test_ok_before_already_connect_is_reported_as_stages():
    _, s = exchange(OPEN_TCP, frame("OK"), frame("ALREADY CONNECT"), frame("ERROR"))
    assert s.stages == ["OK", "ALREADY CONNECT"] and s.absorbed == 1


def test_qimux_1_returns_error():
    _, s = exchange("AT+QIMUX=1", frame("ERROR"))
    assert s.final == "ERROR" and s.ok is False


def test_autobaud_garbage_before_the_first_answer():
    _, s = exchange("AT", b"\x00\xf8\xff\x80", b"AT\r\r\nOK\r\n")
    assert s.noise == b"\x00\xf8\xff\x80" and s.echo == [b"AT"] and s.final == "OK"


@pytest.mark.parametrize(
    "line",
    ["+QISACK: 4, 4, 0", "+QISACK: 500,300,200", "+QISACK: 48, 48, 0", "+QISACK: 0, 0, 0"],
)
def test_separator_spacing_is_kept_verbatim(line):
    _, s = exchange("AT+QISACK", frame(line, "OK"))
    assert s.lines == [line] and s.final == "OK"


# -- §14 facts ------------------------------------------------------------------------------
def test_echo_of_a_command_then_ok():
    _, s = exchange("AT", b"AT\r\r\nOK\r\n")
    assert s.echo == [b"AT"] and s.final == "OK"


def test_echo_split_across_reads():
    _, s = exchange("AT+CSQ", b"AT+", b"CS", b"Q\r", b"\r\n+CSQ: 25,0\r\n", b"\r\nOK\r\n")
    assert s.echo == [b"AT+CSQ"] and s.lines == ["+CSQ: 25,0"] and s.final == "OK"


def test_corrupted_echo_ending_in_ff():
    _, s = exchange("AT+CPIN?", b"AT+CPIN?\xff\r\r\n+CPIN: READY\r\n\r\nOK\r\n")
    assert s.noise == b"\xff" and s.echo == [b"AT+CPIN?"] and s.lines == ["+CPIN: READY"]


def test_xoff_xon_before_the_next_echo():
    codec, s = exchange("AT+IFC=1,1", b"AT+IFC=1,1\r\r\nOK\r\n")
    assert s.final == "OK"
    _, s = exchange("AT", b"\x13\x11AT\r\r\nOK\r\n", codec=codec)
    assert s.noise == b"\x13\x11" and s.echo == [b"AT"] and s.final == "OK"


def test_garbage_bytes_inside_a_reply():
    _, s = exchange("AT+CSQ", frame("+CSQ: 25,0"), b"\x00\xfe\xa5\r\n", frame("OK"))
    assert s.lines == ["+CSQ: 25,0"] and s.noise == b"\x00\xfe\xa5" and s.final == "OK"


def test_garbage_inside_a_line_is_removed_from_the_text():
    _, s = exchange("AT+CSQ", b"\r\n+CSQ:\x11 25,0\r\n", frame("OK"))
    assert s.lines == ["+CSQ: 25,0"] and s.noise == b"\x11"


@pytest.mark.parametrize(
    "text,code", [("+CME ERROR: 3517", 3517), ("+CME ERROR: 3", 3), ("+CME ERROR: SIM busy", None)]
)
def test_cme_errors_known_and_unknown(text, code):
    _, s = exchange("AT+QIACT", frame(text))
    assert s.final == text and s.ok is False and s.code == code


def test_leading_blank_line_arrives_in_its_own_read():
    codec, s = exchange("AT", b"\r\n")
    assert s.final is None and codec.in_flight
    s = summarize(feed(codec, b"OK\r\n"))
    assert s.final == "OK"


def test_close_ok_alone_and_mux_close_ok():
    _, s = exchange("AT+QICLOSE", frame("CLOSE OK"))
    assert s.final == "CLOSE OK"
    _, s = exchange("AT+QICLOSE=0", frame("0, CLOSE OK"), mux=True)
    assert s.final == "0, CLOSE OK" and s.ok


def test_identity_replies():
    _, s = exchange("AT+QGMR", frame("M95FAR03A04", "OK"))
    assert s.lines == ["M95FAR03A04"]
    _, s = exchange("AT+QCCID", frame("89860000000000000000", "OK"))
    assert s.lines == ["89860000000000000000"]
    _, s = exchange("AT+QICSGP?", frame("+QICSGP: 1", "OK"))
    assert s.lines == ["+QICSGP: 1"]


# -- URCs -----------------------------------------------------------------------------------


def test_late_connect_results_after_the_caller_gave_up():
    codec, s = exchange(OPEN_TCP, frame("OK"))
    assert codec.abort(5) == []
    s = summarize(feed(codec, frame("CONNECT OK")))
    assert s.urcs == ["CONNECT OK"] and s.urc_kinds == ["late"] and s.final is None
    codec, _ = exchange(OPEN_TCP, frame("OK"))
    codec.abort(5)
    _, s = exchange("AT+QISTAT", frame("CONNECT FAIL", "OK", "STATE: IP CLOSE"), codec=codec)
    assert s.urc_kinds == ["late"] and s.final == "STATE: IP CLOSE"


def test_late_already_connect_still_absorbs_its_error():
    codec, _ = exchange(OPEN_TCP, b"")
    codec.abort(1)
    s = summarize(feed(codec, frame("ALREADY CONNECT", "ERROR")))
    assert s.urc_kinds == ["late"] and s.absorbed == 1


def test_mux_open_results():
    _, s = exchange('AT+QIOPEN=0,"TCP","1.2.3.4",7', frame("OK", "0, CONNECT FAIL"), mux=True)
    assert s.final == "0, CONNECT FAIL" and s.ok is False
    _, s = exchange('AT+QIOPEN=1,"TCP","1.2.3.4",7', frame("1, ALREADY CONNECT", "ERROR"), mux=True)
    assert s.final == "1, ALREADY CONNECT" and s.absorbed == 1


def test_qidnsgip_ok_then_address_or_failure():
    _, s = exchange('AT+QIDNSGIP="localhost"', frame("OK", "+QIRDI: 0,1,0", "127.0.0.1"))
    assert s.stages == ["OK", "127.0.0.1"] and s.ok and s.urcs == ["+QIRDI: 0,1,0"]
    _, s = exchange('AT+QIDNSGIP="nowhere"', frame("OK", "ERROR"))
    assert s.final == "ERROR" and s.ok is False


# -- numeric results (ATV0) ---------------------------------------------------------------------
def test_atv0_numeric_result_codes():
    codec, s = exchange("ATE0V0", b"ATE0V0\r0\r")  # echoed, then echo off
    assert s.final == "OK" and codec.numeric and codec.echo is False
    _, s = exchange("AT+CSQ", b"+CSQ: 25,0\r\n0\r", codec=codec)
    assert s.lines == ["+CSQ: 25,0"] and s.final == "OK"
    _, s = exchange("AT+QIACT", b"4\r", codec=codec)
    assert s.final == "ERROR" and s.ok is False
    _, s = exchange("AT+QISTAT", b"0\r3\r", codec=codec)
    assert s.stages == ["OK", "STATE: IP IND"]
    _, s = exchange("AT+GSN", b"861234567890123\r\n0\r", codec=codec)
    assert s.lines == ["861234567890123"]
    _, s = exchange("ATV1", b"\r\nOK\r\n", codec=codec)
    assert not codec.numeric
    _, s = exchange("AT", b"\r\n0\r\n\r\nOK\r\n", codec=codec)
    assert s.lines == ["0"] and s.final == "OK"


def test_rdy_restores_verbose_results():
    codec, _ = exchange("ATV0", b"0\r")
    assert codec.numeric
    codec.feed(frame("RDY"), 0)
    assert not codec.numeric


# -- transparent mode ---------------------------------------------------------------------------


# -- bounds, misuse, specs ----------------------------------------------------------------------
def test_over_long_line_is_noise_and_parsing_recovers():
    codec = Codec()
    codec.begin(spec_for("AT"))
    s = summarize(feed(codec, b"x" * (MAX_LINE + 10), b"y" * 5, b"\r\n", frame("OK")))
    assert s.noise == b"x" * (MAX_LINE + 10) + b"y" * 5 and s.final == "OK"
    assert codec.buffered == 0


def test_unknown_line_in_flight_is_an_information_line():
    _, s = exchange("AT+QNTP", frame("+QNTP: 0", "OK"))
    assert s.lines == ["+QNTP: 0"]


def test_every_event_is_an_exported_type():
    _, events = run(ALL_CASES[0].steps())
    assert all(isinstance(e, EVENT_TYPES) for e in events)
    assert {Echo, Final, Stage, Prompt, Urc, Received, QirdBlock, DataBytes} <= set(EVENT_TYPES)


def test_misuse_raises_protocol_error_only():
    codec = Codec()
    codec.begin(spec_for("AT"))
    with pytest.raises(ProtocolError, match="still in flight"):
        codec.begin(spec_for("AT"))
    with pytest.raises(ProtocolError):
        codec.payload_sent(b"x")
    with pytest.raises(ProtocolError):
        codec.escape_sent()
    with pytest.raises(ProtocolError):
        codec.feed("OK", 0)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError):
        codec.begin("AT")  # type: ignore[arg-type]
    codec = open_transparent()
    with pytest.raises(ProtocolError, match="data mode"):
        codec.begin(spec_for("AT"))


def test_reset_forgets_modes_but_keeps_unparsed_bytes():
    codec = open_transparent()
    codec.reset()
    assert not codec.data_mode
    codec.feed(b"\n\r\n+CPI", 0)
    codec.reset()
    assert summarize(codec.feed(b"N: READY\r\n", 0)).urcs == ["+CPIN: READY"]


@pytest.mark.parametrize(
    "command,kind,form,length",
    [
        ("AT", Kind.BASIC, Form.EXEC, None),
        ('at+qiopen="TCP","1.2.3.4","7"', Kind.OPEN, Form.SET, None),
        ("AT+QIOPEN=?", Kind.BASIC, Form.TEST, None),
        ("AT+QISEND", Kind.SEND, Form.EXEC, None),
        ("AT+QISEND=3", Kind.SEND, Form.SET, 3),
        ("AT+QISEND=0,1400", Kind.SEND, Form.SET, 1400),
        ("AT+QISEND=?", Kind.BASIC, Form.TEST, None),
        ("AT+QISTAT", Kind.STAT, Form.EXEC, None),
        ("AT+QISTATE", Kind.STATE, Form.EXEC, None),
        ("AT+QILOCIP", Kind.LOCIP, Form.EXEC, None),
        ("AT+QIDEACT", Kind.DEACT, Form.EXEC, None),
        ("AT+QICLOSE=0", Kind.CLOSE, Form.SET, None),
        ("AT+QIRD=0,1,0,1024", Kind.QIRD, Form.SET, None),
        ("AT+QPOWD=1", Kind.POWD, Form.SET, None),
        ('AT+QIDNSGIP="x"', Kind.DNSGIP, Form.SET, None),
        ("ATO", Kind.ONLINE, Form.EXEC, None),
        ("AT+CREG?", Kind.BASIC, Form.READ, None),
    ],
)
def test_spec_for(command, kind, form, length):
    spec = spec_for(command)
    assert (spec.kind, spec.form, spec.send_length) == (kind, form, length)


def test_spec_basic_settings_and_modes():
    assert spec_for("ATE0").setting("E") == 0
    assert spec_for("ATE").setting("E") == 0
    assert spec_for("ATV0E1&W").setting("E") == 1
    assert spec_for("ATV0E1&W").setting("V") == 0
    assert spec_for("AT+QIMUX=1").setting("E") is None
    spec = spec_for(OPEN_TCP, mux=True, mode=1)
    assert spec.mux and spec.transparent and spec.name == "+QIOPEN"


def test_noise_events_carry_a_reason():
    (noise,) = [e for e in Codec().feed(b"\xff\xfe", 1) if isinstance(e, Noise)]
    assert noise.reason and noise.data == b"\xff\xfe" and noise.t_ns == 1


def test_arrival_stamps_are_those_of_the_completing_chunk():
    codec = Codec()
    codec.begin(spec_for(OPEN_TCP))
    assert codec.feed(b"\r\nO", 10) == []
    assert codec.feed(b"K\r\n", 20) == [Stage("OK", 20)]
    assert codec.feed(b"\r\nCONNECT OK\r\n", 30) == [Final("CONNECT OK", 30, ok=True)]


def test_reset_keeps_a_command_in_flight():
    codec = Codec()
    codec.begin(spec_for("AT"))
    codec.reset()
    assert codec.in_flight and summarize(codec.feed(frame("OK"), 0)).final == "OK"
