"""The codec and length-framed data: `IPD<len>:`, `+RECEIVE:` and `+QIRD:` blocks, exactly
<len> bytes whatever they hold (PROTOCOL.md §8, §9)."""

import pytest
from _at_cases import exchange, feed, frame, summarize
from _at_seeds import ABC

from harness.protocol import (
    Codec,
    QirdBlock,
    Received,
    spec_for,
)


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
