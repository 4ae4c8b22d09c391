"""The codec and echoes: the command line's (ATE1), a QISEND payload's, or none at all, and
the late answers of commands given up on (PROTOCOL.md §6, §14)."""

import pytest
from _at_cases import exchange, feed, frame, summarize

from harness.protocol import (
    Codec,
    Echo,
    Prompt,
    ProtocolError,
    spec_for,
)


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
