"""The codec in transparent mode: peer bytes, CLOSED that may be data, and the escape
(TRANS-*, PROTOCOL.md §12)."""

from _at_cases import exchange, feed, frame, run, summarize
from _at_seeds import OPEN_TCP, open_transparent

from harness.protocol import (
    Codec,
    DataBytes,
    Echo,
    PossibleClosed,
    spec_for,
)


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


def test_late_transparent_connect_puts_the_codec_in_data_mode():
    codec, _ = exchange(OPEN_TCP, frame("OK"), mode=1)
    codec.abort(5)
    s = summarize(feed(codec, frame("CONNECT") + b"peer"))
    assert s.urc_kinds == ["late"] and codec.data_mode and s.data == b"peer"
