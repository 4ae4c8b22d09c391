"""Hypothesis strategies for the codec's properties (test_protocol_props.py, bench/fuzz.py)."""

from __future__ import annotations

from _at_cases import (
    Case,
)
from _at_checks import LOOKALIKE_STARTS, SEND_RESULTS
from _at_seeds import (
    ALL_CASES,
    INTERRUPTIONS,
    OPEN_TCP,
    boundaries,
)
from hypothesis import strategies as st

from harness.protocol import (
    MAX_ECHO,
    MAX_LINE,
)


# -- strategies -------------------------------------------------------------------------------
def cases() -> st.SearchStrategy[Case]:
    return st.sampled_from(ALL_CASES)


positions = st.lists(st.integers(min_value=0, max_value=4096), max_size=12)


@st.composite
def chunked_cases(draw) -> tuple[Case, list[int], list[int]]:
    return draw(cases()), draw(positions), draw(positions)


#: A faithful module echoes every command or none (no ATE in between): one or the other.
ECHOED_CASES: tuple[Case, ...] = tuple(c for c in ALL_CASES if c.echo or c.command is None)
PLAIN_CASES: tuple[Case, ...] = tuple(c for c in ALL_CASES if not c.echo)
sessions = st.tuples(
    st.sampled_from([ECHOED_CASES, PLAIN_CASES]).flatmap(
        lambda cases_: st.lists(st.sampled_from(cases_), min_size=1, max_size=6)
    ),
    st.lists(positions, max_size=12),
)


@st.composite
def interrupted_cases(draw) -> tuple[Case, list[tuple[tuple[str, int], bytes]]]:
    case = draw(cases())
    spots = boundaries(case)
    where = draw(
        st.lists(
            st.tuples(st.sampled_from(spots), st.sampled_from([u for u, _, _ in INTERRUPTIONS])),
            min_size=1,
            max_size=4,
        )
    )
    return case, where


#: Pieces that steer random bytes into the codec's interesting states.
TOKENS = (
    b"\r\n",
    b"\r",
    b"\n",
    b"OK",
    b"ERROR",
    b"> ",
    b">",
    b"AT",
    b"IPD",
    b"IPD5:",
    b"IPD3TCP:",
    b"TCP:",
    b"RECV FROM:1.2.3.4:5\r\n",
    b"+RECEIVE: 0, 4\r\n",
    b"+QIRD: 1.2.3.4:5,TCP,3\r\n",
    b"+CME ERROR: 14",
    b"CONNECT",
    b"CONNECT OK",
    b"ALREADY CONNECT",
    b"CLOSED",
    b"+PDP DEACT",
    b"STATE: IP STATUS",
    b"+++",
    b"\r\nOK\r\n",
    b"\x1a",
    b"\xff",
    b"\x11",
    b"\x13",
    b"9" * 6,
)
COMMANDS = (
    "AT",
    "ATE1",
    "ATV0",
    "ATV1",
    "ATO",
    "AT+CREG?",
    "AT+CPIN?",
    OPEN_TCP,
    'AT+QIOPEN=0,"TCP","1.2.3.4",5',
    "AT+QISEND",
    "AT+QISEND=4",
    "AT+QISTAT",
    "AT+QISTATE",
    "AT+QILOCIP",
    "AT+QIDEACT",
    "AT+QICLOSE",
    "AT+QIRD=0,1,0,1500",
    "AT+QPOWD=1",
    'AT+QIDNSGIP="x"',
)
noisy_bytes = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=24)), max_size=24).map(
    b"".join
)
chaos_step = st.one_of(
    st.tuples(st.just("feed"), noisy_bytes),
    st.tuples(st.just("feed"), noisy_bytes),
    st.tuples(st.just("feed"), st.binary(max_size=64)),
    st.tuples(st.just("begin"), st.sampled_from(COMMANDS), st.booleans(), st.integers(0, 1)),
    st.tuples(st.just("payload"), st.binary(min_size=1, max_size=16)),
    st.sampled_from([("escape",), ("abort",), ("expire",), ("leave",), ("reset",)]),
)
chaos = st.lists(chaos_step, max_size=40)
#: Long garbage, to exercise the over-long-line and frame bounds.
long_chaos = st.lists(
    st.tuples(
        st.just("feed"),
        st.builds(
            lambda unit, extra: unit * (MAX_LINE // len(unit) + extra),
            st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=32)),
            st.integers(min_value=0, max_value=MAX_LINE),
        ),
    ),
    max_size=3,
)

#: Payload bytes that look like module output.
TRAPS = (
    b"OK",
    b"\r\nOK\r\n",
    b"ERROR",
    b"\r\nERROR\r\n",
    b"CLOSED",
    b"\r\n0, CLOSED\r\n",
    b"+PDP DEACT",
    b"SEND OK",
    b"\r\n+QIRD: 1.2.3.4:5,TCP,9\r\n",
    b"IPD3:",
    b"\r\n> ",
    b"\r",
    b"\n",
    b"\x1a",
    b"\xff",
    b"\x00",
    b"+++",
)
trap_payloads = st.lists(
    st.one_of(st.sampled_from(TRAPS), st.binary(max_size=16)), min_size=1, max_size=16
).map(b"".join)
payload_kinds = st.sampled_from(["qird", "ipd", "receive", "echo", "data"])

#: Payloads that begin like the module's own output after the prompt, then anything.
lookalike_payloads = st.builds(
    lambda start, tail: (start + tail)[:MAX_ECHO],
    st.sampled_from(LOOKALIKE_STARTS),
    trap_payloads | st.just(b""),
)
send_results = st.sampled_from(SEND_RESULTS)
#: Nothing, or one URC or pushed block (with what it must come out as) before the answer.
urc_first = st.sampled_from([(b"", (), ()), *INTERRUPTIONS])
echoed_cases = st.sampled_from(
    [c for c in ALL_CASES if c.echo and c.payload is None and c.command is not None]
)
