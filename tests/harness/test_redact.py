"""The redactor masks secrets and module identities in text, bytes and JSON values, and the
transcript's file never holds a secret however the module chunks its bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.redact import MASK, Redactor
from harness.transport import Transcript

SECRET = "pw-9Qx!secret"
IMEI = "861234050012345"
ICCID = "89860012345678901234"


@pytest.fixture
def redactor(monkeypatch) -> Redactor:
    r = Redactor()
    r.add(SECRET)
    monkeypatch.setattr("harness.transport.transcript.REDACTOR", r)
    return r


def test_secrets_and_identities_are_masked_in_text_and_bytes(redactor):
    line = f'AT+QICSGP=1,"CMNET","user","{SECRET}" imei {IMEI} iccid {ICCID}'
    out = redactor.text(line)
    assert SECRET not in out and MASK in out
    assert IMEI not in out and "xxxxxxxxxxxx345" in out
    assert ICCID not in out and out.endswith("x" * 17 + "234")
    assert redactor.bytes(line.encode()) == out.encode()


def test_numbers_and_hex_strings_are_left_alone(redactor):
    value = {"measured": 861234050012345, "uuid": "a861234050012345b", "text": f"x{SECRET}"}
    assert redactor.value(value) == {
        "measured": 861234050012345,
        "uuid": "a861234050012345b",
        "text": f"x{MASK}",
    }


def test_full_identities_are_kept_when_asked(redactor):
    redactor.mask_ids = False
    assert redactor.text(IMEI) == IMEI


def test_json_escaped_secrets_are_masked_too():
    r = Redactor()
    r.add('a"b\\c-hidden')
    assert "hidden" not in json.dumps({"k": r.value('say a"b\\c-hidden')})
    assert "hidden" not in r.text(json.dumps('a"b\\c-hidden'))


@given(cuts=st.lists(st.integers(min_value=1, max_value=40), max_size=30))
def test_the_transcript_file_never_holds_a_secret_however_it_is_chunked(tmp_path_factory, cuts):
    r = Redactor()
    r.add(SECRET)
    path = tmp_path_factory.mktemp("t") / "uart.jsonl"
    stream = f'AT+QICSGP=1,"CMNET","u","{SECRET}"\r\r\nOK\r\n+GSN: {IMEI}\r\nOK\r\n'.encode()
    import harness.transport.transcript as transport

    saved, transport.REDACTOR = transport.REDACTOR, r
    try:
        t = Transcript(path)
        rest = stream
        for n in cuts:
            if not rest:
                break
            t.record("rx", rest[:n])
            rest = rest[n:]
        if rest:
            t.record("rx", rest)
        t.note("done")
        t.close()
    finally:
        transport.REDACTOR = saved
    written = b"".join(
        bytes.fromhex(rec["hex"])
        for rec in map(json.loads, path.read_text().splitlines())
        if rec["dir"] == "rx"
    )
    assert SECRET.encode() not in written and IMEI.encode() not in written
    assert written == r.bytes(stream), "everything else arrives whole and in order"
    assert b"".join(e.data for e in t.entries() if e.dir == "rx") == stream, "memory stays raw"


def test_held_digits_are_written_with_the_next_record_or_at_close(tmp_path):
    path = tmp_path / "uart.jsonl"
    t = Transcript(path)
    t.record("rx", b"+CSQ: 2")
    held = b"".join(bytes.fromhex(json.loads(ln)["hex"]) for ln in path.read_text().splitlines())
    t.record("rx", b"5,0\r\n")
    t.record("tx", b"AT\r")
    t.record("rx", b"OK 42")
    t.close()
    rx = [bytes.fromhex(json.loads(line)["hex"]) for line in path.read_text().splitlines()]
    assert held == b"+CSQ: ", "a trailing digit may be the start of an IMEI: it waits"
    assert rx == [b"+CSQ: ", b"25,0\r\n", b"AT\r", b"OK ", b"42"]
