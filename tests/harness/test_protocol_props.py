"""Properties of the codec and the channel under hypothesis: chunking, interruptions, garbage,
payload traps, truncated frames, and whole replies through `ATChannel`.

The `check_*` functions live in `_at_checks`, the strategies in `_at_strategies`; bench/fuzz.py
runs every
property of `PROPERTIES` with the "fuzz" profile (100k examples in total).
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from collections.abc import Sequence

from _at_cases import Case, cut, frame, run, summarize
from _at_checks import (
    BEFORE_ECHO,
    check_before_echo,
    check_chaos,
    check_chunking,
    check_echoed_payload,
    check_interruptions,
    check_late_line_feed,
    check_payload,
    check_session_chunking,
    check_unechoed_payload,
)
from _at_seeds import ALL_CASES, INTERRUPTIONS, boundaries, insert, interruption_allowed
from _at_strategies import (
    chaos,
    chunked_cases,
    echoed_cases,
    interrupted_cases,
    long_chaos,
    lookalike_payloads,
    payload_kinds,
    positions,
    send_results,
    sessions,
    trap_payloads,
    urc_first,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from harness.at import ATChannel, ATTimeout
from harness.clock import Clock, stamp
from harness.protocol import QirdBlock, Received
from harness.transport import PortClosed, Transcript


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


# -- what a faithful module sends, however it frames it (PROTOCOL.md §0, §6, §14) ------------------
@given(lookalike_payloads, send_results, positions, urc_first)
def test_no_payload_echo_is_accepted_and_never_eats_the_answer(payload, result, cuts, urc):
    """No payload echo after the prompt is accepted; a CR/LF before any echo byte ends the
    echo expectation; an echo match never runs into a line (payloads starting S, SE, SEND,
    OK, CR LF end in their SEND OK under any chunking)."""
    check_unechoed_payload(payload, result, cuts, urc)


@given(lookalike_payloads, send_results, positions, urc_first)
def test_the_same_payloads_echoed_are_echo(payload, result, cuts, urc):
    check_echoed_payload(payload, result, cuts, urc)


@given(echoed_cases, st.lists(st.sampled_from(BEFORE_ECHO), min_size=1, max_size=3), positions)
def test_with_echo_on_nothing_before_the_echo_is_the_reply(case, noise, cuts):
    """URCs and a late answer of an abandoned command before the echo never become the reply."""
    check_before_echo(case, noise, cuts)


@given(echoed_cases, echoed_cases, st.integers(min_value=0, max_value=64), positions)
def test_a_late_line_feed_after_a_final_is_noise(first, second, at, cuts):
    check_late_line_feed(first, second, at, cuts)


# -- truncated length-framed blocks -----------------------------------------------------------
@st.composite
def truncated_frames(draw) -> tuple[str, bytes, int, list[int]]:
    kind = draw(st.sampled_from(["qird", "ipd", "receive"]))
    payload = draw(trap_payloads)
    assume(payload)
    keep = draw(st.integers(min_value=0, max_value=len(payload) - 1))
    return kind, payload, keep, draw(positions)


def check_truncation(kind: str, payload: bytes, keep: int, cuts: Sequence[int]) -> None:
    """A block that announces `len(payload)` bytes but stops after `keep` is ended by the frame
    gap (`expire()`) as one incomplete block holding exactly those bytes; what follows is parsed
    as usual (the final is found, a URC stays a URC) and nothing becomes an information line."""
    n, part = len(payload), payload[:keep]
    if kind == "qird":
        steps = [
            ("begin", "AT+QIRD=0,1,0,1500", False, 0),
            ("feed", b"\r\n+QIRD: 127.0.0.1:7007,TCP,%d\r\n" % n + part),
            ("expire",),
            ("feed", frame("OK")),
        ]
    elif kind == "ipd":
        steps = [
            ("begin", "AT+CSQ", False, 0),
            ("feed", b"\r\nRECV FROM:127.0.0.1:7007\r\nIPD%dTCP:" % n + part),
            ("expire",),
            ("feed", frame("+CSQ: 25,0", "OK")),
        ]
    else:  # +RECEIVE without a header: the raw bytes follow the announcement
        headers = [b"IPD%d%s:" % (n, p) for p in (b"", b"TCP", b"UDP")]
        assume(not any(part.startswith(h) for h in headers))
        assume(not re.match(rb"RECV FROM:\d{1,3}(\.\d{1,3}){3}:\d{1,5}[\r\n]", part))
        steps = [
            ("feed", b"\r\n+RECEIVE: 0, %d\r\n" % n + part),
            ("expire",),
            ("feed", frame("CLOSED")),
        ]
    _, events = run(steps, lambda i, data: cut(data, cuts))
    s = summarize(events)
    blocks = [e for e in events if isinstance(e, QirdBlock | Received)]
    assert [(b.payload, b.complete) for b in blocks] == [(part, False)], kind
    if kind == "qird":
        assert s.final == "OK" and s.finals == 1 and not s.lines
    elif kind == "ipd":
        assert s.final == "OK" and s.finals == 1 and s.lines == ["+CSQ: 25,0"]
    else:
        assert s.urcs[-1] == "CLOSED" and s.finals == 0 and not s.lines
    assert not s.noise


@given(truncated_frames())
def test_truncated_frames_end_incomplete_and_never_swallow_what_follows(args):
    check_truncation(*args)


# -- whole replies through ATChannel ------------------------------------------------------------
#: Wall seconds the channel property waits for the reader thread before declaring it stuck.
STUCK = 10.0
_WALL = Clock(1.0)


class ScriptedLine:
    """An in-memory UART for `ATChannel`: each write releases the next answer, in its chunks."""

    url = "script://props"

    def __init__(self, answers: Sequence[Sequence[bytes]]) -> None:
        self.transcript = Transcript(keep=1000)
        self.is_open = False
        self._answers = deque(answers)
        self._chunks: deque[bytes] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._idle = threading.Event()  # the reader asked for more and there was nothing
        self._cancelled = False
        self._closed = False

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self._closed, self.is_open = True, False
        self._ready.set()

    def cancel_read(self) -> None:
        self._cancelled = True
        self._ready.set()

    def write_stamped(self, data: bytes) -> tuple[int, int]:
        t = stamp()
        self.transcript.record("tx", data, t)
        with self._lock:
            if self._answers:
                self._chunks.extend(self._answers.popleft())
                self._idle.clear()
                self._ready.set()
        return t, t

    def read_stamped(self, max_bytes: int, wall_timeout: float | None) -> tuple[bytes, int]:
        while True:
            with self._lock:
                if self._closed:
                    raise PortClosed("the scripted line was closed")
                if self._cancelled:
                    self._cancelled = False
                    return b"", stamp()
                if self._chunks:
                    data = self._chunks.popleft()
                    self.transcript.record("rx", data)
                    return data, stamp()
                self._ready.clear()
                self._idle.set()
            if not _WALL.wait(self._ready, wall_timeout):
                return b"", stamp()

    def wait_idle(self) -> bool:
        """True once the reader has taken (and so dispatched) every chunk released so far."""
        return _WALL.wait(self._idle, STUCK)


def _send_args(case: Case) -> tuple[bytes, bool]:
    assert case.command is not None and case.payload is not None
    return case.payload, case.command != "AT+QISEND"


@st.composite
def channel_cases(draw) -> tuple[Case, list[tuple[tuple[str, int], bytes]], list[int]]:
    case = draw(st.sampled_from([c for c in ALL_CASES if c.command]))
    urcs = st.sampled_from([u for u, _, _ in INTERRUPTIONS])
    where = draw(st.lists(st.tuples(st.sampled_from(boundaries(case)), urcs), max_size=4))
    return case, where, draw(positions)


def check_channel(case: Case, where: Sequence[tuple[tuple[str, int], bytes]], cuts) -> None:
    """A reply, chunked anyhow and interrupted by URCs and pushed data, comes out of
    `ATChannel` as the codec frames the plain exchange: same lines, stages, final, data;
    every URC queued and every pushed block received, none lost or taken into the reply."""
    where = [w for w in where if interruption_allowed(case, w[1])]
    plain = summarize(run(case.steps())[1])
    before, after = insert(case, where)
    answers = [cut(b"".join(before), cuts)]
    if case.payload is not None:
        answers.append(cut(b"".join(after), cuts))
    line = ScriptedLine(answers)
    channel = ATChannel(line, _WALL)  # type: ignore[arg-type]
    channel.mux, channel.mode = case.mux, case.mode
    channel.start()
    try:
        if case.payload is None:
            reply = channel.command(case.command)
        else:
            payload, fixed = _send_args(case)
            reply = channel.send_data(payload, fixed=fixed)
        assert line.wait_idle(), "the reader thread never asked for more"
        urcs = [u.text for u in channel.urcs()]
        received = []
        while True:
            try:
                received.append(channel.wait_received(0).payload)
            except ATTimeout:
                break
    finally:
        channel.close()
    assert reply.command == case.command
    assert reply.lines == plain.lines, case.name
    assert [s.text for s in reply.stages] == plain.stages, case.name
    assert (reply.final, reply.ok, reply.error_code) == (plain.final, plain.ok, plain.code)
    assert reply.data == b"".join(plain.blocks), case.name
    assert reply.echo == (plain.echo[0].decode() if plain.echo else None), case.name
    expected = {raw: (u, d) for raw, u, d in INTERRUPTIONS}
    want_urcs = Counter(plain.urcs) + Counter(x for _, u in where for x in expected[u][0])
    want_data = Counter(r.payload for r in plain.received) + Counter(
        x for _, u in where for x in expected[u][1]
    )
    assert Counter(urcs) == want_urcs, case.name
    assert Counter(received) == want_data, case.name


@given(channel_cases())
def test_the_channel_builds_the_reply_the_codec_frames(args):
    check_channel(*args)


#: For bench/fuzz.py: every property test above, runnable without pytest.
PROPERTIES = (
    test_any_chunking_gives_the_same_events,
    test_a_chunked_session_gives_the_same_events_and_finals,
    test_urcs_at_line_boundaries_never_change_the_reply,
    test_random_bytes_and_calls_never_hang_or_raise_untyped,
    test_long_garbage_stays_bounded,
    test_payloads_that_look_like_results_are_never_misattributed,
    test_truncated_frames_end_incomplete_and_never_swallow_what_follows,
    test_the_channel_builds_the_reply_the_codec_frames,
    test_no_payload_echo_is_accepted_and_never_eats_the_answer,
    test_the_same_payloads_echoed_are_echo,
    test_with_echo_on_nothing_before_the_echo_is_the_reply,
    test_a_late_line_feed_after_a_final_is_noise,
)
