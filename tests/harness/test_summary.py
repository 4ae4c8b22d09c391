"""Payloads summarised: length, SHA-256 and a preview in messages; whole in transcripts only."""

import hashlib
import os

from hypothesis import given
from hypothesis import strategies as st

from harness import summary
from harness.transport import Transcript, escape

PAYLOAD = bytes(range(256)) * 5 + os.urandom(180)  # 1460 bytes, every byte value


def test_a_payload_shows_length_digest_and_a_printable_preview():
    text = summary.payload(PAYLOAD)
    assert text.startswith("[1460 bytes, sha256 ")
    assert hashlib.sha256(PAYLOAD).hexdigest() in text
    assert '"<00><01><02>' in text and text.endswith("…]")
    assert len(text) < 160 and "\n" not in text


def test_short_bytes_are_shown_whole():
    assert summary.shown(b"AT+QICLOSE\r") == "AT+QICLOSE\\r"
    assert summary.shown(PAYLOAD).startswith("[1460 bytes")


def test_a_transcript_tail_folds_payloads_and_keeps_commands():
    """The tail an ATTimeout carries: the 1460 bytes (sent in 16-byte bursts) become one line
    with their exact digest; the commands around them stay readable."""
    log = Transcript(keep=None)
    log.record("tx", b"AT+QISEND=1460\r")
    log.record("rx", b"AT+QISEND=1460\r\r\n> ")
    for i in range(0, len(PAYLOAD), 16):
        log.record("tx", PAYLOAD[i : i + 16])
    log.record("rx", b"\r\nSEND OK\r\n")
    tail = summary.tail(log)
    assert "AT+QISEND=1460\\r" in tail and "SEND OK" in tail
    assert hashlib.sha256(PAYLOAD).hexdigest() in tail
    assert len(tail) < 600 and len(log.tail()) > 2500  # the escapes alone run to kilobytes


def test_text_summarises_transcript_lines_bytes_literals_escape_runs_and_hex():
    line = f"   12.345678 rx   {escape(PAYLOAD)}"
    assert summary.text(line) == f"   12.345678 rx   {summary.payload(PAYLOAD)}"
    asserted = f"assert {PAYLOAD!r} == b'ok'"
    assert summary.text(asserted) == f"assert {summary.payload(PAYLOAD)} == b'ok'"
    run = summary.text("got " + escape(PAYLOAD[:300]) + " then")
    assert run.startswith("got [") and "bytes, sha256" in run and "<1A><1B>" not in run
    hexed = f'"hex": "{PAYLOAD.hex()}"'
    assert summary.payload(PAYLOAD) in summary.text(hexed)


def test_text_leaves_ordinary_messages_alone():
    for message in (
        "AT+QICLOSE: no final answer within 90 s",
        "OPEN-TCP: expected CONNECT OK, got CONNECT FAIL <after 3 tries>",
        "short <00><01> bytes",
        "sha256 " + "ab" * 32,  # a digest is not a payload: 64 hex digits, 32 bytes
    ):
        assert summary.text(message) == message


def test_plain_words_for_object_reprs():
    assert summary.plain("within 90 s (module time, Clock(scale=0.02))") == (
        "within 90 s (module time, time scale 0.02)"
    )


@given(st.binary(min_size=0, max_size=3000))
def test_unescape_reverses_the_transcript_escape_for_bytes_without_angle_brackets(data):
    data = data.replace(b"<", b"(")
    assert summary.unescape(escape(data)) == data


@given(st.text(max_size=300), st.integers(5, 120))
def test_clip_never_cuts_inside_a_word(sentence, chars):
    out = summary.clip(sentence, chars)
    words = sentence.split()
    if len(" ".join(words)) <= chars:
        assert out == " ".join(words)
    else:
        assert out.endswith("…")
        kept = out[:-1].split()
        # every kept word is a whole word of the sentence, in order
        assert kept == words[: len(kept)] or (kept and kept[-1].rstrip(" ,;:(-–—") == kept[-1])
        for word in kept:
            assert any(word == w.rstrip(" ,;:(-–—") or word == w for w in words)


def test_clip_keeps_the_cut_from_the_issue_whole():
    message = "the process decided PWR-BACKOFF: restart (EMERG_OFF) after CLOSE"
    for chars in range(10, len(message)):
        out = summary.clip(message, chars)
        assert "EMERG_…" not in out and not out.endswith("(…")
