"""The codec's properties as plain functions: test_protocol_props.py wraps them in @given and
bench/fuzz.py runs them with its own example counts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from _at_cases import (
    Case,
    Step,
    cut,
    frame,
    normalize,
    run,
    summarize,
)
from _at_seeds import (
    INTERRUPTIONS,
    OPEN_TCP,
    insert,
    interruption_allowed,
)
from hypothesis import assume

from harness.protocol import (
    EVENT_TYPES,
    MAX_ECHO,
    MAX_FRAME,
    MAX_LINE,
    Codec,
    Event,
    Final,
    ProtocolError,
    spec_for,
)


# -- properties (plain functions: the tests and bench/fuzz.py wrap them in @given) -------------
def check_chunking(case: Case, before_cuts: Sequence[int], after_cuts: Sequence[int]) -> None:
    """Any chunking of a valid exchange gives the same events."""
    steps = case.steps()
    _, whole = run(steps)
    cuts_by_feed = [before_cuts, after_cuts]
    _, chunked = run(steps, lambda i, data: cut(data, cuts_by_feed[min(i, 1)]))
    assert normalize(chunked) == normalize(whole), case.name


def check_session_chunking(cases_: Sequence[Case], cuts: Sequence[Sequence[int]]) -> None:
    """A whole session (several exchanges on one codec) chunked anyhow gives the same events."""
    steps = [step for case in cases_ for step in case.steps()]
    _, whole = run(steps)
    _, chunked = run(steps, lambda i, data: cut(data, cuts[i % len(cuts)] if cuts else ()))
    assert normalize(chunked) == normalize(whole), [c.name for c in cases_]
    assert [e for e in whole if isinstance(e, Final)] == [
        Final(c.final, 0, bool(c.ok), c.code) for c in cases_ if c.command
    ]


def check_interruptions(case: Case, where: Sequence[tuple[tuple[str, int], bytes]]) -> None:
    """URCs (and pushed data) at line boundaries never change the reply they interrupt."""
    where = [w for w in where if interruption_allowed(case, w[1])]
    _, base = run(case.steps())
    before, after = insert(case, where)
    _, events = run(case.steps(before, after))
    plain, mixed = summarize(base), summarize(events)
    assert mixed.reply() == plain.reply(), case.name
    expected = {raw: (urcs, data) for raw, urcs, data in INTERRUPTIONS}
    want_urcs = Counter(plain.urcs) + Counter(x for _, u in where for x in expected[u][0])
    want_data = Counter(r.payload for r in plain.received) + Counter(
        x for _, u in where for x in expected[u][1]
    )
    assert Counter(mixed.urcs) == want_urcs, case.name
    assert Counter(r.payload for r in mixed.received) == want_data, case.name
    assert not mixed.noise, case.name


def recover(codec: Codec) -> list[Event]:
    """What the channel does when things go quiet: frame gap, give up, assume command mode."""
    events: list[Event] = []
    for _ in range(4):
        events += codec.feed(b"\r\n", 0)
        events += codec.expire(0)
        events += codec.abort(0)
        codec.leave_data_mode()
    return events


#: The bound on unparsed bytes: a partial line, or the start of an expected echo.
BUFFER_BOUND = max(MAX_LINE, MAX_ECHO) + 1


def check_chaos(steps: Sequence[Step]) -> None:
    """Any bytes and any call order: only ProtocolError escapes, buffers stay bounded, and
    the codec still answers a plain AT afterwards (it never wedges)."""
    codec = Codec()
    for step in steps:
        try:
            op = step[0]
            if op == "begin":
                codec.begin(spec_for(step[1], mux=step[2], mode=step[3]))
            elif op == "feed":
                events = codec.feed(step[1], 0)
                assert all(isinstance(e, EVENT_TYPES) for e in events)
            elif op == "payload":
                codec.payload_sent(step[1])
            elif op == "escape":
                codec.escape_sent()
            elif op == "abort":
                codec.abort(0)
            elif op == "expire":
                codec.expire(0)
            elif op == "leave":
                codec.leave_data_mode()
            elif op == "reset":
                codec.reset()
        except ProtocolError:
            pass
        assert codec.buffered <= BUFFER_BOUND
        assert codec.collecting <= MAX_FRAME
    recover(codec)
    assert not codec.data_mode and not codec.in_flight and not codec.awaiting_frame
    codec.begin(spec_for("AT"))
    # Echoed: whatever ATE the random bytes showed, an echoed answer is always one's own.
    final = [e for e in codec.feed(b"AT\r\r\nOK\r\n", 0) if isinstance(e, Final)]
    assert final == [Final("OK", 0, ok=True)]


def check_payload(kind: str, payload: bytes, cuts: Sequence[int]) -> None:
    """Length-framed payloads holding OK, CLOSED, ERROR, CR/LF, 0x1A, 0xFF are never
    misattributed: they come out whole, and the real final is still found."""
    n = len(payload)
    if kind == "receive":
        # +RECEIVE without a header: raw bytes that begin with an exact header line are
        # indistinguishable from one (the module frames nothing else); documented.
        headers = [b"IPD%d%s:" % (n, p) for p in (b"", b"TCP", b"UDP")]
        assume(not any(payload.startswith(h) for h in headers))
        assume(not re.match(rb"RECV FROM:\d{1,3}(\.\d{1,3}){3}:\d{1,5}[\r\n]", payload))
    if kind == "qird":
        steps = [
            ("begin", "AT+QIRD=0,1,0,1500", False, 0),
            ("feed", b"\r\n+QIRD: 127.0.0.1:7007,TCP,%d\r\n" % n + payload + b"\r\nOK\r\n"),
        ]
    elif kind == "ipd":
        steps = [
            ("begin", "AT+CSQ", False, 0),
            ("feed", b"\r\nRECV FROM:127.0.0.1:7007\r\nIPD%dTCP:" % n + payload + frame("OK")),
        ]
    elif kind == "receive":
        steps = [("feed", b"\r\n+RECEIVE: 0, %d\r\n" % n + payload + frame("CLOSED"))]
    elif kind == "echo":
        steps = [
            ("begin", f"AT+QISEND={n}", False, 0),
            ("feed", b"AT+QISEND=%d\r\r\n> " % n),
            ("payload", payload),
            ("feed", payload + frame("SEND OK")),
        ]
    else:  # transparent data mode
        steps = [
            ("begin", OPEN_TCP, False, 1),
            ("feed", frame("OK", "CONNECT") + payload),
        ]
    _, events = run(steps, lambda i, data: cut(data, cuts))
    s = summarize(events)
    if kind == "qird":
        assert s.blocks == [payload] and s.final == "OK" and s.finals == 1
    elif kind == "ipd":
        assert [r.payload for r in s.received] == [payload]
        assert s.received[0].peer == "127.0.0.1:7007" and s.final == "OK" and s.finals == 1
    elif kind == "receive":
        assert [r.payload for r in s.received] == [payload] and s.urcs[-1] == "CLOSED"
    elif kind == "echo":
        assert s.payload_echo == payload and s.final == "SEND OK" and s.finals == 1
    else:
        assert s.data == payload and s.final == "CONNECT"
        alerts = sum(payload.count(a) for a in (b"CLOSED", b"+PDP DEACT"))
        assert len(s.possible) == alerts
    assert not s.lines


# -- what a faithful module may send after the QISEND prompt (PROTOCOL.md §6, §14) -------------
#: The module's own answers after a payload; a payload that starts like one of them is the trap.
SEND_RESULTS = ("SEND OK", "SEND FAIL", "ERROR")
#: Payload beginnings that look like the module's own output after the prompt.
LOOKALIKE_STARTS = (b"S", b"SE", b"SEND", b"SEND OK", b"OK", b"ERROR", b"\r\n", b"\r\nSE", b"\r")


def send_exchange(payload: bytes, after: bytes, cuts: Sequence[int], urc: bytes = b""):
    """AT+QISEND=<n> with echo on: the echoed command and prompt, then `urc` and `after`
    (the module's bytes after the prompt) cut at `cuts`; the frame gap passes at the end if no
    final came (the channel's timer). Returns the summary and whether the gap was needed."""
    command = f"AT+QISEND={len(payload)}"
    codec = Codec()
    codec.begin(spec_for(command))
    events = codec.feed(command.encode() + b"\r\r\n> ", 0)
    codec.payload_sent(payload, echo=True)
    for chunk in cut(urc + after, cuts):
        events += codec.feed(chunk, 0)
    gap = not any(isinstance(e, Final) for e in events)
    if gap:
        events += codec.expire(0)
    return summarize(events), gap


def check_unechoed_payload(payload: bytes, result: str, cuts: Sequence[int], first) -> None:
    """A module that does not echo the payload (firmware, AT+QISDE=0) answers right after the
    prompt (maybe after a URC or pushed data, `first`): its answer is found whole under any
    chunking, however the payload begins, and no byte of it is taken for echo. Only bytes
    that could be the echo wait for the frame gap."""
    urc, urcs, data = first
    # Pushed data may end in CR LF or not (§14), so after it a payload of line ends alone reads
    # the same echoed or not: the one case no codec can tell.
    assume(payload.strip(b"\r\n") or not urc.endswith(b"\r\n") or not data)
    # A payload that is the very start of what the module prints, up to a line end (payload
    # b"\r\nCLOSED" before the URC "\r\nCLOSED\r\n"), reads the same echoed or not either.
    assume(not re.match(re.escape(payload) + rb"\x1a?\r[\r\n]*\n", urc + frame(result)))
    s, gap = send_exchange(payload, frame(result), cuts, urc)
    assert (s.final, s.finals, s.lines, s.payload_echo) == (result, 1, [], b""), s
    assert (s.urcs, [r.payload for r in s.received]) == (list(urcs), list(data)), s
    if not re.search(rb"[\r\n]", payload) and not data:
        assert not gap, "a payload without CR/LF never needs the frame gap to be told apart"


def check_echoed_payload(payload: bytes, result: str, cuts: Sequence[int], first) -> None:
    """The same payloads echoed (with a URC or pushed data possibly first) are echo, whole, and
    the answer after them is found without waiting for the frame gap."""
    urc, urcs, data = first
    s, gap = send_exchange(payload, payload + frame(result), cuts, urc)
    assert (s.final, s.finals, s.lines, s.payload_echo) == (result, 1, [], payload), s
    assert (s.urcs, [r.payload for r in s.received]) == (list(urcs), list(data)), s
    assert not gap


#: Lines a module may print before the echo of the command in flight: URCs, and the late
#: answer (with or without its echo) of a command the host gave up on.
BEFORE_ECHO = (
    frame("+CPIN: READY"),
    frame("+CREG: 1"),
    frame("Call Ready"),
    frame("+QIRDI: 0,1,0"),
    frame("OK"),
    frame("ERROR"),
    frame("+CME ERROR: 14"),
    frame("SEND OK"),
    b"AT\r" + frame("OK"),
    b"AT+CPIN?\r" + frame("+CPIN: READY", "OK"),
    b"AT+CSQ\r" + frame("+CSQ: 25,0", "OK"),
)


def check_before_echo(case: Case, noise: Sequence[bytes], cuts: Sequence[int]) -> None:
    """With echo on (shown by an earlier echoed `AT`), nothing before the command's echo is its
    answer: the reply is the same as without those lines, under any chunking."""
    assert case.echo and case.command
    noise = [n for n in noise if not n.startswith(case.command.encode() + b"\r")]
    prior = [("begin", "AT", False, 0), ("feed", b"AT\r" + frame("OK"))]
    _, base = run(prior + case.steps())
    before = (b"".join(noise) + case.before[0], *case.before[1:])
    _, mixed = run(prior + case.steps(before), lambda i, data: cut(data, cuts))
    assert summarize(mixed).reply() == summarize(base).reply(), case.name


def check_late_line_feed(first: Case, second: Case, at: int, cuts: Sequence[int]) -> None:
    """The LF of a final that ended in CR may come after the first bytes of the next echo (the
    echo overtook it): it is noise there, and both replies stay what they were."""
    assert first.echo and second.echo and first.payload is None and second.payload is None
    plain_steps = first.steps() + second.steps()
    _, plain = run(plain_steps)
    head = b"".join(first.before)
    assert head.endswith(b"\r\n")
    echo = second.before[0]
    at = 1 + at % (len(echo) - 1)  # inside the echo, after its first byte
    late = (echo[:at] + b"\n" + echo[at:], *second.before[1:])
    steps = first.steps((head[:-1],)) + second.steps(late)
    _, mixed = run(steps, lambda i, data: cut(data, cuts))
    finals = [(e.text, e.ok) for e in mixed if isinstance(e, Final)]
    assert finals == [(e.text, e.ok) for e in plain if isinstance(e, Final)]
    s = summarize(mixed)
    assert s.echo == summarize(plain).echo and s.lines == summarize(plain).lines
    assert s.noise == b"\n"
