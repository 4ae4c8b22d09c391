"""Mode names and parameters: one clear 400 for each mistake; bytes survive their JSON forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.peer.errors import RequestError
from harness.peer.modes import (
    HOLD_RCVBUF,
    MAX_PUSH,
    MODES,
    ModeSpec,
    decode_bytes,
    encode_bytes,
    parse_mode,
)


def test_every_mode_parses_with_defaults():
    for mode in MODES:
        params = {"data": "x"} if mode == "push" else {}
        assert parse_mode(mode, params).mode == mode


def test_parameters():
    assert parse_mode("close", {"after_bytes": 10, "after": 2}) == ModeSpec(
        "close", after_bytes=10, after=2.0
    )
    spec = parse_mode("push", {"data": {"hex": "1a"}, "delay": 1.5, "then": "hold"})
    assert (spec.data, spec.delay, spec.then, spec.holds) == (b"\x1a", 1.5, "hold", True)
    assert parse_mode("hold").rcvbuf == HOLD_RCVBUF and parse_mode("hold").holds
    assert not parse_mode("silent").holds


@pytest.mark.parametrize(
    ("mode", "params", "words"),
    [
        ("bounce", {}, "unknown mode"),
        ("echo", {"after": 1}, "takes no parameters"),
        ("close", {"after_bytes": -1}, "whole number"),
        ("close", {"after_bytes": 1.5}, "whole number"),
        ("close", {"after": "soon"}, "module seconds"),
        ("close", {"after": float("inf")}, "≥ 0"),
        ("close", {"how": "slam"}, "fin, reset"),
        ("push", {}, "data is missing"),
        ("push", {"data": ""}, "empty"),
        ("push", {"data": "x", "then": "refuse"}, "then="),
        ("push", {"data": {"hex": "zz"}}, "not valid hex"),
        ("push", {"data": 42}, '{"base64"'),
        ("push", {"data": {"base64": "A" * (4 * (MAX_PUSH // 3 + 2))}}, "at most"),
    ],
)
def test_mistakes_are_400_with_the_parameter_named(mode, params, words):
    with pytest.raises(RequestError) as e:
        parse_mode(mode, params)
    assert e.value.status == 400 and words in e.value.reason


def test_describe_reads_well():
    assert parse_mode("close", {"after_bytes": 5}).describe() == "close after 5 B"
    assert parse_mode("close", {}).describe() == "close at once"
    assert (
        "after 3 s, then close"
        in parse_mode("push", {"data": "abc", "delay": 3, "then": "close"}).describe()
    )


@given(st.binary(max_size=2048))
def test_bytes_round_trip_through_json_forms(data):
    assert decode_bytes(encode_bytes(data), "data") == data
    assert decode_bytes({"hex": data.hex()}, "data") == data
