"""The sans-IO codec against the seed exchanges and every quirk of PROTOCOL.md §13–§14."""

import pytest
from _at_cases import ABC, ALL_CASES, OPEN_TCP, Case, frame, run, summarize

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
    PossibleClosed,
    Prompt,
    ProtocolError,
    QirdBlock,
    Received,
    Stage,
    Urc,
    UrcKind,
    spec_for,
    urc_kind,
)


def feed(codec: Codec, *chunks: bytes) -> list:
    events = []
    for i, chunk in enumerate(chunks):
        events += codec.feed(chunk, i)
    return events


def exchange(command: str, *chunks: bytes, codec: Codec | None = None, mux=False, mode=0):
    codec = codec or Codec()
    codec.begin(spec_for(command, mux=mux, mode=mode))
    return codec, summarize(feed(codec, *chunks))


# -- the seed documents, byte for byte ------------------------------------------------------
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_seed_and_protocol_exchanges(case: Case):
    codec, events = run(case.steps())
    assert case.mismatches(summarize(events)) == []
    assert not codec.in_flight or case.command is None


def test_seed_transparent_session_then_escape():
    """Chapter 8.1: OK, CONNECT, data both ways without echo, +++ → OK."""
    codec = Codec()
    codec.begin(spec_for(OPEN_TCP, mode=1))
    s = summarize(feed(codec, frame("OK"), frame("CONNECT")))
    assert s.stages == ["OK", "CONNECT"] and s.ok and codec.data_mode
    s = summarize(feed(codec, b"abcdefghijklmnopqrstuvwxyz1234567890"))
    assert s.data == b"abcdefghijklmnopqrstuvwxyz1234567890"
    codec.escape_sent()
    s = summarize(feed(codec, frame("OK")))
    assert s.final == "OK" and s.ok and not s.data
    assert not codec.data_mode and not codec.in_flight


def test_seed_closed_in_data_mode_was_data():
    """Chapter 8.2: CLOSED in the stream, +++ answered OK → it was peer data."""
    codec, _ = run([("begin", OPEN_TCP, False, 1), ("feed", frame("OK", "CONNECT"))])
    s = summarize(feed(codec, b"xx\r\nCLOSED\r\nyy"))
    assert s.data == b"xx\r\nCLOSED\r\nyy" and s.possible == ["CLOSED"]
    codec.escape_sent()
    s = summarize(feed(codec, b"zz", frame("OK")))
    assert s.data == b"zz" and s.final == "OK" and not codec.data_mode


def test_seed_closed_in_data_mode_was_real():
    """Chapter 8.2: +++ only echoed, no OK → the session had dropped; then AT+QIDEACT."""
    codec, _ = run([("begin", OPEN_TCP, False, 1), ("feed", frame("OK", "CONNECT"))])
    s = summarize(feed(codec, frame("+PDP DEACT")))
    assert s.possible == ["+PDP DEACT"] and s.data == frame("+PDP DEACT")
    codec.escape_sent()
    events = feed(codec, b"+++")
    assert events == [Echo(b"+++", 0)]
    assert not codec.data_mode  # the module is in command mode
    codec.abort(1)  # no OK came within the escape window
    _, s = exchange("AT+QIDEACT", frame("DEACT OK"), codec=codec)
    assert s.final == "DEACT OK" and s.ok


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


def test_autobaud_garbage_before_the_first_answer():
    _, s = exchange("AT", b"\x00\xf8\xff\x80", b"AT\r\r\nOK\r\n")
    assert s.noise == b"\x00\xf8\xff\x80" and s.echo == [b"AT"] and s.final == "OK"


def test_plus_plus_plus_typed_as_payload_when_guard_not_met():
    """§13.8: the module took +++ as data: no OK, no echo; the codec stays in data mode."""
    codec, _ = run([("begin", OPEN_TCP, False, 1), ("feed", frame("OK", "CONNECT"))])
    codec.escape_sent()
    s = summarize(feed(codec, b"peer data"))
    s2 = summarize(codec.abort(5))
    assert s.data + s2.data == b"peer data" and codec.data_mode and not codec.in_flight


def test_held_back_bytes_go_out_as_data_when_the_escape_is_abandoned():
    codec, _ = run([("begin", OPEN_TCP, False, 1), ("feed", frame("OK", "CONNECT"))])
    codec.escape_sent()
    s = summarize(feed(codec, b"abc\r\nO"))
    assert s.data == b"abc"
    assert summarize(codec.abort(1)).data == b"\r\nO"


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


@pytest.mark.parametrize("text", ["CLOSED", "0, CLOSED", "0, CLOS", "1,CLOSED"])
def test_closed_with_or_without_index_and_truncated(text):
    s = summarize(Codec().feed(frame(text), 0))
    assert s.urcs == [text] and s.urc_kinds == ["closed"]


def test_qisend_echo_shows_the_payload_after_the_prompt():
    """§14 (MC60): `> Hello` on one line, then SEND OK; the echo is not module output."""
    codec = Codec()
    codec.begin(spec_for("AT+QISEND"))
    events = feed(codec, b"AT+QISEND\r\r\n> ")
    assert events == [Echo(b"AT+QISEND", 0), Prompt(0)]
    codec.payload_sent(b"Hello")
    s = summarize(feed(codec, b"Hel", b"lo\x1a", b"\r\n\r\nSEND OK\r\n"))
    assert s.payload_echo == b"Hello\x1a" and s.lines == [] and s.final == "SEND OK"


def test_payload_echo_that_looks_like_results_is_still_echo():
    payload = b"\r\nSEND OK\r\nERROR\r\n"
    codec = Codec()
    codec.begin(spec_for(f"AT+QISEND={len(payload)}"))
    feed(codec, b"AT+QISEND=%d\r\r\n> " % len(payload))
    codec.payload_sent(payload)
    s = summarize(feed(codec, payload + frame("SEND OK")))
    assert s.payload_echo == payload and s.final == "SEND OK" and s.finals == 1


def test_no_payload_echo_expected_with_echo_off():
    codec = Codec()
    codec.begin(spec_for("AT+QISEND=2"))
    feed(codec, b"\r\n> ")
    codec.payload_sent(b"OK")
    s = summarize(feed(codec, frame("SEND OK")))
    assert s.payload_echo == b"" and s.final == "SEND OK"


def test_urc_between_prompt_and_payload_echo():
    codec = Codec()
    codec.begin(spec_for("AT+QISEND"))
    feed(codec, b"AT+QISEND\r\r\n> ")
    codec.payload_sent(b"Hello")
    s = summarize(feed(codec, frame("+QIRDI: 0,1,0") + b"Hello" + frame("SEND OK")))
    assert s.urcs == ["+QIRDI: 0,1,0"] and s.payload_echo == b"Hello" and s.final == "SEND OK"


@pytest.mark.parametrize("payload", [b"Sxyz", b"SEND 1", b"SEND OK!", b"OK", b"\r\nSE"])
def test_an_unechoed_payload_never_takes_bytes_of_send_ok(payload):
    """Echo on, but the module does not echo fixed-length payload (firmware, AT+QISDE=0): its
    SEND OK follows the prompt. `S` + `END OK` or `SEND` + `OK` would lose the answer."""
    codec = Codec()
    command = f"AT+QISEND={len(payload)}"
    codec.begin(spec_for(command))
    feed(codec, command.encode() + b"\r\r\n> ")
    codec.payload_sent(payload, echo=True)
    s = summarize(feed(codec, b"\r", b"\nS", b"END", b" OK\r", b"\n"))
    assert (s.final, s.lines, s.payload_echo) == ("SEND OK", [], b"")


def test_a_payload_echo_that_is_the_modules_answer_waits_for_the_frame_gap():
    """Payload `\r\nSEND OK`: unechoed, the module's bytes are exactly its echo plus CR LF;
    only silence tells. The frame gap settles it as the module's own line."""
    codec = Codec()
    codec.begin(spec_for("AT+QISEND=9"))
    feed(codec, b"AT+QISEND=9\r\r\n> ")
    codec.payload_sent(b"\r\nSEND OK", echo=True)
    assert feed(codec, frame("SEND OK")) == [] and codec.awaiting_frame
    s = summarize(codec.expire(1))
    assert (s.final, s.payload_echo) == ("SEND OK", b"") and not codec.awaiting_frame


def test_an_echo_cut_short_by_esc_then_the_rest_never_comes():
    codec = Codec()
    codec.begin(spec_for("AT+QISEND"))
    feed(codec, b"AT+QISEND\r\r\n> ")
    codec.payload_sent(b"abc\x1bdef", echo=True)
    s = summarize(feed(codec, b"abc", frame("OK")))
    assert (s.payload_echo, s.final, s.lines) == (b"abc", "OK", [])


@pytest.mark.parametrize("pushed", [b"\r\nIPD6:CLOSED", b"\r\nIPD6:CLOSED\r\n"])
@pytest.mark.parametrize("echoed", [True, False])
def test_pushed_data_between_the_prompt_and_the_echo(pushed, echoed):
    """Pushed data (with or without a CR LF after it, §14) before the payload echo: the echo
    may still come, and if it does not, `SEND` + ` OK` must not be taken for it."""
    codec = Codec()
    codec.begin(spec_for("AT+QISEND=4"))
    feed(codec, b"AT+QISEND=4\r\r\n> ")
    codec.payload_sent(b"SEND", echo=True)
    s = summarize(feed(codec, pushed, b"SEND" if echoed else b"", frame("SEND OK")))
    assert [r.payload for r in s.received] == [b"CLOSED"]
    assert (s.payload_echo, s.final, s.lines) == (b"SEND" if echoed else b"", "SEND OK", [])


def test_with_echo_on_a_urc_before_the_echo_is_not_the_reply():
    """+CPIN: READY at boot while AT+CPIN? is in flight, before its echo: a URC."""
    codec, _ = exchange("AT", b"AT\r" + frame("OK"))
    assert codec.echo is True
    _, s = exchange(
        "AT+CPIN?", frame("+CPIN: READY"), b"AT+CPIN?\r", frame("+CME ERROR: 14"), codec=codec
    )
    assert (s.lines, s.final, s.urcs) == ([], "+CME ERROR: 14", ["+CPIN: READY"])


def test_an_echo_stuck_to_bare_pushed_data_is_still_the_echo():
    """QIHEAD=0 data has no line end (§8): the next echo lands on its last line."""
    codec, _ = exchange("AT", b"AT\r" + frame("OK"))
    assert summarize(codec.feed(b"peer data\r\nno end", 0)).urcs == ["peer data"]
    codec.begin(spec_for("AT+QISEND"))
    s = summarize(codec.feed(b"AT+QISEND\r\r\n> ", 0))
    assert (s.urcs, s.echo, s.stages) == (["no end"], [b"AT+QISEND"], [">"])


def test_a_late_answer_of_an_abandoned_command_is_dropped():
    """A sync AT timed out and was answered late: its echo and OK are not AT+CSQ's answer."""
    codec, _ = exchange("AT", b"AT\r" + frame("OK"))
    codec.begin(spec_for("AT"))
    codec.abort(0)
    late = b"AT\r" + frame("OK")
    _, s = exchange("AT+CSQ", late, b"AT+CSQ\r", frame("+CSQ: 25,0", "OK"), codec=codec)
    assert (s.echo, s.lines, s.finals, s.urcs) == ([b"AT+CSQ"], ["+CSQ: 25,0"], 1, ["AT", "OK"])


def test_without_its_echo_a_late_final_before_ours_is_stray():
    codec, _ = exchange("AT", b"AT\r" + frame("OK"))
    _, s = exchange("AT+CSQ", frame("OK"), b"AT+CSQ\r", frame("+CSQ: 25,0", "OK"), codec=codec)
    assert (s.lines, s.finals, s.urc_kinds) == (["+CSQ: 25,0"], 1, ["stray"])


def test_a_late_lf_inside_the_next_echo_is_noise():
    """`OK\r`, then the next echo overtook the LF: `A`, `\n`, `T+CSQ\r`."""
    codec, _ = exchange("AT", b"AT\r\r\nOK\r")
    assert codec.lf_due
    _, s = exchange("AT+CSQ", b"A", b"\nT+CSQ\r", frame("+CSQ: 25,0", "OK"), codec=codec)
    assert (s.echo, s.lines, s.final, s.noise) == ([b"AT+CSQ"], ["+CSQ: 25,0"], "OK", b"\n")
    assert not codec.lf_due


def test_lf_due_only_between_a_cr_and_its_lf():
    codec, _ = exchange("AT", b"AT\r\r\nOK\r")
    assert codec.lf_due
    codec.feed(b"\n", 0)
    assert not codec.lf_due
    codec, _ = exchange("ATV0", b"0\r")  # numeric results end in CR alone
    assert codec.numeric and not codec.lf_due


def test_prompt_split_from_its_space():
    codec = Codec()
    codec.begin(spec_for("AT+QISEND=1"))
    assert feed(codec, b"\r\n>") == [Prompt(0)]
    codec.payload_sent(b"x", echo=True)
    s = summarize(feed(codec, b" x", frame("SEND OK")))
    assert s.payload_echo == b"x" and s.final == "SEND OK" and s.noise == b""


def test_qisend_refused_with_error_instead_of_prompt():
    codec, s = exchange("AT+QISEND", frame("ERROR"))
    assert s.stages == ["ERROR"] and not codec.in_flight
    with pytest.raises(ProtocolError):
        codec.payload_sent(b"x")


def test_send_fail_and_esc_cancel():
    codec = Codec()
    codec.begin(spec_for("AT+QISEND"))
    feed(codec, b"\r\n> ")
    codec.payload_sent(b"x")
    assert summarize(feed(codec, frame("SEND FAIL"))).ok is False
    codec.begin(spec_for("AT+QISEND"))
    feed(codec, b"\r\n> ")
    codec.payload_sent(b"x")
    assert summarize(feed(codec, frame("OK"))).final == "OK"


def test_pushed_data_with_no_line_break_after_header():
    """§14: `IPD5:Hello` on its own line right after SEND OK, no CRLF after the header."""
    s = summarize(Codec().feed(b"\r\nIPD5:Hello\r\n\r\n+QIRDI: 0,1,0\r\n", 3))
    assert [r.payload for r in s.received] == [b"Hello"] and s.urcs == ["+QIRDI: 0,1,0"]


@pytest.mark.parametrize(
    "stream,payload,peer,proto,link",
    [
        (b"IPD5:Hello", b"Hello", None, None, None),
        (b"IPD5TCP:Hello\r\n", b"Hello", None, "TCP", None),
        (b"IPD3UDP:a\r\n", b"a\r\n", None, "UDP", None),
        (b"RECV FROM:10.0.0.1:7007\r\nIPD2TCP:OK", b"OK", "10.0.0.1:7007", "TCP", None),
        (
            b"+RECEIVE: 0, 5\r\nRECV FROM:106.15.100.2:1883\r\nIPD5:CLOSE",
            b"CLOSE",
            "106.15.100.2:1883",
            None,
            0,
        ),
        (b"+RECEIVE: 1, 4\r\n\r\nOK", b"\r\nOK", None, None, 1),
        (b"+RECEIVE: 0, 3\r\nIPD3TCP:\xff\x1a\x00", b"\xff\x1a\x00", None, "TCP", 0),
    ],
)
def test_received_forms(stream, payload, peer, proto, link):
    codec = Codec()
    s = summarize(codec.feed(b"\r\n" + stream + frame("OK", "CLOSED"), 0))
    assert [(r.payload, r.peer, r.proto, r.link) for r in s.received] == [
        (payload, peer, proto, link)
    ]
    assert s.urcs[-2:] == ["OK", "CLOSED"] and s.noise == b""


def test_pushed_data_arriving_between_command_and_reply():
    """RECV-INTERLEAVE: data between an AT command and its response is kept apart."""
    _, s = exchange("AT+QISACK", b"\r\nIPD9:\r\nOK\r\nX\r\n", frame("+QISACK: 9, 9, 0", "OK"))
    assert [r.payload for r in s.received] == [b"\r\nOK\r\nX\r\n"]
    assert s.lines == ["+QISACK: 9, 9, 0"] and s.final == "OK"


def test_qird_several_udp_blocks_then_ok():
    body = b"\r\n+QIRD: 1.2.3.4:5,UDP,2\r\nab" + b"\r\n+QIRD: 1.2.3.4:5,UDP,3\r\ncde" + frame("OK")
    _, s = exchange("AT+QIRD=0,1,0,1500", body)
    assert s.blocks == [b"ab", b"cde"] and s.final == "OK"


def test_qird_header_line_ending_split_from_payload():
    codec = Codec()
    codec.begin(spec_for("AT+QIRD=0,1,0,10"))
    s = summarize(feed(codec, b"\r\n+QIRD: 1.2.3.4:5,TCP,2\r", b"\n", b"\nx", frame("OK")))
    assert s.blocks == [b"\nx"] and s.final == "OK"


def test_late_qird_block_is_still_framed():
    s = summarize(Codec().feed(b"\r\n+QIRD: 1.2.3.4:5,TCP,4\r\nOK\r\n" + frame("OK"), 0))
    assert s.blocks == [b"OK\r\n"] and s.urcs == ["OK"]


def test_missing_payload_is_ended_by_expire_and_parsing_recovers():
    codec = Codec()
    s = summarize(codec.feed(b"\r\nIPD100TCP:only this", 1))
    assert s.received == [] and codec.awaiting_frame
    events = codec.expire(2)
    assert events == [Received(b"only this", None, "TCP", 2, None, complete=False)]
    _, s = exchange("AT", frame("OK"), codec=codec)
    assert s.final == "OK"


def test_missing_qird_payload_ends_incomplete():
    codec, _ = exchange("AT+QIRD=0,1,0,10", b"\r\n+QIRD: 1.2.3.4:5,TCP,10\r\nabc")
    assert codec.awaiting_frame
    (block,) = codec.expire(9)
    assert isinstance(block, QirdBlock) and block.payload == b"abc" and not block.complete


def test_receive_announcement_without_data_is_ended_by_expire():
    codec = Codec()
    s = summarize(codec.feed(frame("+RECEIVE: 0, 10"), 0))
    assert s.urc_kinds == ["receive"] and codec.awaiting_frame
    (r,) = codec.expire(1)
    assert r.payload == b"" and r.link == 0 and not r.complete


def test_recv_from_line_without_data_header_is_a_urc():
    s = summarize(Codec().feed(frame("RECV FROM:1.2.3.4:5", "raw text"), 0))
    assert s.urcs == ["RECV FROM:1.2.3.4:5", "raw text"]
    assert s.urc_kinds == ["recv_from", "unknown"]


def test_identity_replies():
    _, s = exchange("AT+QGMR", frame("M95FAR03A04", "OK"))
    assert s.lines == ["M95FAR03A04"]
    _, s = exchange("AT+QCCID", frame("89860000000000000000", "OK"))
    assert s.lines == ["89860000000000000000"]
    _, s = exchange("AT+QICSGP?", frame("+QICSGP: 1", "OK"))
    assert s.lines == ["+QICSGP: 1"]


# -- URCs -----------------------------------------------------------------------------------
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


def test_late_connect_results_after_the_caller_gave_up():
    codec, s = exchange(OPEN_TCP, frame("OK"))
    assert codec.abort(5) == []
    s = summarize(feed(codec, frame("CONNECT OK")))
    assert s.urcs == ["CONNECT OK"] and s.urc_kinds == ["late"] and s.final is None
    codec, _ = exchange(OPEN_TCP, frame("OK"))
    codec.abort(5)
    _, s = exchange("AT+QISTAT", frame("CONNECT FAIL", "OK", "STATE: IP CLOSE"), codec=codec)
    assert s.urc_kinds == ["late"] and s.final == "STATE: IP CLOSE"


def test_late_transparent_connect_puts_the_codec_in_data_mode():
    codec, _ = exchange(OPEN_TCP, frame("OK"), mode=1)
    codec.abort(5)
    s = summarize(feed(codec, frame("CONNECT") + b"peer"))
    assert s.urc_kinds == ["late"] and codec.data_mode and s.data == b"peer"


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
def open_transparent() -> Codec:
    codec, _ = run([("begin", OPEN_TCP, False, 1), ("feed", frame("OK") + b"\r\nCONNECT\r")])
    assert codec.data_mode
    return codec


def test_data_mode_passes_bytes_through_and_keeps_the_lf_of_connect_out():
    codec = open_transparent()
    s = summarize(feed(codec, b"\n\nOK\r\nERROR\x1a\xff"))
    assert s.data == b"\nOK\r\nERROR\x1a\xff" and s.final is None and s.urcs == []


def test_closed_split_across_chunks_is_reported_once_in_place():
    codec = open_transparent()
    codec.feed(b"\n", 0)
    events = feed(codec, b"ab\r\nCLO", b"SED\r\ncd+PDP ", b"DEACT")
    assert [type(e) for e in events] == [
        DataBytes,
        DataBytes,
        PossibleClosed,
        DataBytes,
        DataBytes,
        PossibleClosed,
    ]
    assert b"".join(e.data for e in events if isinstance(e, DataBytes)) == (
        b"ab\r\nCLOSED\r\ncd+PDP DEACT"
    )


def test_escape_ok_split_across_chunks_with_data_before():
    codec = open_transparent()
    codec.feed(b"\n", 0)
    codec.escape_sent()
    s = summarize(feed(codec, b"tail\r", b"\nO", b"K\r", b"\n+QIRDI: 0,1,0\r\n"))
    assert s.data == b"tail" and s.final == "OK" and s.urcs == ["+QIRDI: 0,1,0"]
    assert not codec.data_mode


def test_escape_echo_then_ok():
    codec = open_transparent()
    codec.escape_sent()
    s = summarize(feed(codec, b"+", b"++", frame("OK")))
    assert s.echo == [b"+++"] and s.final == "OK" and not codec.in_flight


def test_ato_returns_to_data_mode():
    codec, s = exchange("ATO", frame("CONNECT"))
    assert s.final == "CONNECT" and codec.data_mode
    codec, s = exchange("ATO", frame("NO CARRIER"))
    assert s.ok is False and not codec.data_mode


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


def test_urc_kind_of_non_urcs():
    assert urc_kind("+CSQ: 25,0") is None and urc_kind("Quectel_M95") is None


def test_noise_events_carry_a_reason():
    (noise,) = [e for e in Codec().feed(b"\xff\xfe", 1) if isinstance(e, Noise)]
    assert noise.reason and noise.data == b"\xff\xfe" and noise.t_ns == 1


def test_arrival_stamps_are_those_of_the_completing_chunk():
    codec = Codec()
    codec.begin(spec_for(OPEN_TCP))
    assert codec.feed(b"\r\nO", 10) == []
    assert codec.feed(b"K\r\n", 20) == [Stage("OK", 20)]
    assert codec.feed(b"\r\nCONNECT OK\r\n", 30) == [Final("CONNECT OK", 30, ok=True)]


def test_seed_qird_example_reads_exactly_36_bytes():
    _, s = exchange(
        "AT+QIRD=0,1,0,1024", b"\r\n+QIRD:116.228.146.250:7070,TCP,36\r\n" + ABC + frame("OK")
    )
    assert s.blocks == [ABC] and s.block_peers == ["116.228.146.250:7070"]


def test_raw_receive_payload_that_starts_like_a_header_is_data():
    """+RECEIVE without QIHEAD: only an exact header (announced length) is a header."""
    s = summarize(Codec().feed(b"\r\n+RECEIVE: 0, 5\r\nIPD3:ab" + frame("OK"), 0))
    assert [r.payload for r in s.received] == [b"IPD3:"] and s.urcs[-2:] == ["ab", "OK"]
    s = summarize(Codec().feed(b"\r\n+RECEIVE: 0, 12\r\nRECV FROM:xy\r\n" + frame("OK"), 0))
    assert [r.payload for r in s.received] == [b"RECV FROM:xy"]


def test_expire_hands_over_what_an_undecided_receive_has_buffered():
    codec = Codec()
    s = summarize(codec.feed(b"\r\n+RECEIVE: 0, 9\r\nIPD", 0))
    assert s.received == [] and codec.awaiting_frame
    (r,) = codec.expire(1)
    assert (r.payload, r.complete, r.link) == (b"IPD", False, 0)


def test_reset_keeps_a_command_in_flight():
    codec = Codec()
    codec.begin(spec_for("AT"))
    codec.reset()
    assert codec.in_flight and summarize(codec.feed(frame("OK"), 0)).final == "OK"
