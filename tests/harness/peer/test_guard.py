"""The peer's limits: checked when made; quotas per source address that one address cannot crowd
out another with; a log that keeps a flood to a few lines."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.peer.guard import Crowd, LogLimiter, PeerLimits


def test_defaults_are_valid_and_idle_timeout_is_off():
    limits = PeerLimits()
    assert limits.idle_timeout is None
    assert limits.head_wall < limits.body_wall
    assert limits.descriptors() > limits.data_open + limits.control_pending


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"head_wall": 0}, "head_wall must be above 0"),
        ({"head_wall": float("nan")}, "finite"),
        ({"idle_timeout": -1.0}, "idle_timeout must be above 0"),
        ({"idle_timeout": "10"}, "number of seconds"),
        ({"data_per_source": 0}, "data_per_source must be a whole number ≥ 1"),
        ({"control_clients": True}, "control_clients must be a whole number"),
        ({"data_per_source": 2000}, "over data_open"),
        ({"control_per_source": 300}, "over control_pending"),
    ],
)
def test_bad_limits_are_refused_naming_the_limit(change, words):
    with pytest.raises(ValueError, match=words):
        dataclasses.replace(PeerLimits(), **change)


# -- Crowd -----------------------------------------------------------------------------------
def test_evict_own_makes_room_by_dropping_that_address_oldest():
    crowd: Crowd[str] = Crowd(per_source=2, total=10, own="evict")
    assert crowd.admit("a", "a1") == (True, [])
    assert crowd.admit("a", "a2") == (True, [])
    assert crowd.admit("b", "b1") == (True, [])
    assert crowd.admit("a", "a3") == (True, ["a1"])
    assert (crowd.count("a"), crowd.count("b"), len(crowd)) == (2, 1, 3)


def test_refuse_own_turns_the_newcomer_away():
    crowd: Crowd[str] = Crowd(per_source=2, total=10, own="refuse")
    crowd.admit("a", "a1")
    crowd.admit("a", "a2")
    assert crowd.admit("a", "a3") == (False, [])
    assert crowd.admit("b", "b1") == (True, [])  # another address is not affected


def test_when_full_the_address_holding_most_gives_way():
    crowd: Crowd[str] = Crowd(per_source=3, total=4, own="refuse")
    for m in ("a1", "a2", "a3"):
        crowd.admit("a", m)
    crowd.admit("b", "b1")
    assert crowd.admit("c", "c1") == (True, ["a1"])
    # Once no address holds more than the newcomer's would, the newcomer is refused.
    small: Crowd[str] = Crowd(per_source=3, total=2, own="refuse")
    small.admit("a", "a1")
    small.admit("b", "b1")
    assert small.admit("c", "c1") == (False, [])


def test_leave_forgets_and_is_idempotent():
    crowd: Crowd[str] = Crowd(per_source=2, total=2)
    crowd.admit("a", "a1")
    assert crowd.leave("a", "a1") and not crowd.leave("a", "a1")
    assert not crowd.leave("nowhere", "x")
    assert len(crowd) == 0 and crowd.sources() == 0


@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from("abcde"), st.integers(0, 30)), max_size=200),
    st.sampled_from(["evict", "refuse"]),
)
def test_quotas_always_hold_and_counts_add_up(steps, own):
    crowd: Crowd[tuple[str, int]] = Crowd(per_source=3, total=7, own=own)
    inside: dict[tuple[str, int], str] = {}
    for join, source, n in steps:
        member = (source, n)
        if join and member not in inside:
            admitted, gone = crowd.admit(source, member)
            for g in gone:
                del inside[g]
            if admitted:
                inside[member] = source
            if own == "evict":
                assert admitted
        elif not join:
            assert crowd.leave(source, member) == (inside.pop(member, None) is not None)
        assert len(crowd) == len(inside) <= 7
        for s in "abcde":
            assert crowd.count(s) == sum(v == s for v in inside.values()) <= 3


# -- LogLimiter ------------------------------------------------------------------------------
def test_a_flood_of_lines_is_cut_to_a_burst_and_counted():
    lines: list[str] = []
    limited = LogLimiter(lines.append, burst=3, window=3600.0)
    shown = [limited("control refusals", f"line {i}") for i in range(10)]
    assert shown == [True] * 3 + [False] * 7
    assert limited("data quota", "other kind")  # kinds are counted apart
    limited.flush()
    held_back = "control refusals: 7 more not shown (at most 3 lines per 3600 s)"
    assert lines == ["line 0", "line 1", "line 2", "other kind", held_back]


def test_a_new_window_logs_again_and_reports_the_held_back_count():
    lines: list[str] = []
    limited = LogLimiter(lines.append, burst=1, window=0.0)
    limited("k", "first")
    limited("k", "second")  # the window (0 s) has passed: shown again
    assert lines == ["first", "second"]
