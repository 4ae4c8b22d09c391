"""Properties of the codec under hypothesis: chunking, interruptions, garbage, payload traps.

The strategies and `check_*` functions live in `_at_cases`; bench/fuzz.py runs the same checks
with the "fuzz" profile (100k examples).
"""

from _at_cases import (
    chaos,
    check_chaos,
    check_chunking,
    check_interruptions,
    check_payload,
    check_session_chunking,
    chunked_cases,
    interrupted_cases,
    long_chaos,
    payload_kinds,
    positions,
    sessions,
    trap_payloads,
)
from hypothesis import given


@given(chunked_cases())
def test_any_chunking_gives_the_same_events(args):
    check_chunking(*args)


@given(sessions)
def test_a_chunked_session_gives_the_same_events_and_finals(args):
    check_session_chunking(*args)


@given(interrupted_cases())
def test_urcs_at_line_boundaries_never_change_the_reply(args):
    check_interruptions(*args)


@given(chaos)
def test_random_bytes_and_calls_never_hang_or_raise_untyped(steps):
    check_chaos(steps)


@given(long_chaos)
def test_long_garbage_stays_bounded(steps):
    check_chaos(steps)


@given(payload_kinds, trap_payloads, positions)
def test_payloads_that_look_like_results_are_never_misattributed(kind, payload, cuts):
    check_payload(kind, payload, cuts)


#: For bench/fuzz.py: every property test above, runnable without pytest.
PROPERTIES = (
    test_any_chunking_gives_the_same_events,
    test_a_chunked_session_gives_the_same_events_and_finals,
    test_urcs_at_line_boundaries_never_change_the_reply,
    test_random_bytes_and_calls_never_hang_or_raise_untyped,
    test_long_garbage_stays_bounded,
    test_payloads_that_look_like_results_are_never_misattributed,
)
