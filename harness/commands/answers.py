"""What an answer means: the typed values of the registry's parsers, and the parsers.

A parser reads an answer's information lines and final (`Answer`: a `Reply` is one) and returns
a value in the document's words, or raises `Malformed` naming what the document expects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import NamedTuple, Protocol

from harness import limits
from harness.commands.words import IpState, ResultCode, ip_state, result_code
from harness.errors import DeviationFault


class Answer(Protocol):
    """The parts of a reply a parser reads (harness.at.Reply has them)."""

    @property
    def lines(self) -> Sequence[str]: ...

    @property
    def final(self) -> str | None: ...


class Malformed(DeviationFault):
    """An answer the document does not allow: what came, and what was expected. `Modem` turns
    it into a `ModuleDeviation` naming the command, its clause and the last bytes."""

    def __init__(self, got: object, expected: str) -> None:
        super().__init__(f"the module answered {got!r}; expected {expected}")
        self.got = got
        self.expected = expected


Parser = Callable[[Answer], object]


# -- values -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ack:
    """`+QISACK: <sent>, <acked>, <nAcked>`: handed over, acknowledged, not yet (SEND-ACK)."""

    sent: int
    acked: int
    nacked: int


@dataclass(frozen=True)
class Registration:
    """`+CREG: <n>,<stat>[,<lac>,<ci>]` (or +CGREG); registered = stat 1 (home) or 5 (roaming)."""

    n: int
    stat: int
    lac: str | None = None
    ci: str | None = None

    @property
    def registered(self) -> bool:
        return self.stat in limits.REGISTERED_STATS


class Signal(NamedTuple):
    """`+CSQ: <rssi>,<ber>` (unpacks as the pair it was)."""

    rssi: int
    ber: int


#: The +CPIN word of a SIM that is ready (PROTOCOL.md §2).
SIM_READY = "READY"


@dataclass(frozen=True)
class SimStatus:
    """`+CPIN: <code>`: READY, SIM PIN, NOT INSERTED … (the list varies, PROTOCOL.md §2)."""

    code: str

    @property
    def ready(self) -> bool:
        return self.code == SIM_READY

    def __str__(self) -> str:
        return self.code


# -- parsers ----------------------------------------------------------------------------------
def outcome(answer: Answer) -> ResultCode | None:
    """The final as a result code, as printed: a `<n>, ` link index makes it None (the
    single-connection commands)."""
    return result_code(answer.final, link_index=False)


def indexed_outcome(answer: Answer) -> ResultCode | None:
    """The final as a result code, with or without a `<n>, ` link index (QIOPEN, QISEND)."""
    return result_code(answer.final)


def info_lines(answer: Answer) -> list[str]:
    """The information lines, stripped, blank ones dropped (ATI, AT+GSN …)."""
    return [ln.strip() for ln in answer.lines if ln.strip()]


def info(answer: Answer, prefix: str) -> str:
    """The body of the information line starting with `prefix` (`+CPIN:` …)."""
    for line in answer.lines:
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise Malformed(list(answer.lines) or answer.final, f"the answer has a {prefix} line")


def number(prefix: str) -> Callable[[Answer], int]:
    """`<prefix> <n>` → n (AT+CGATT?, AT+QINISTAT)."""

    def parse(answer: Answer) -> int:
        text = info(answer, prefix)
        if not text.isdigit():
            raise Malformed(text, "a number")
        return int(text)

    return parse


def flag(prefix: str) -> Callable[[Answer], bool]:
    """`<prefix> 1` → True, any other number → False (AT+QIMUX?)."""
    read = number(prefix)
    return lambda answer: read(answer) == 1


def sim_status(answer: Answer) -> SimStatus:
    """`+CPIN: READY` (or `+CPIN:READY`, the seeds' spelling) → SimStatus("READY")."""
    return SimStatus(info(answer, "+CPIN:"))


_REG = re.compile(
    r'^\+C?G?REG:\s*(\d+)\s*,\s*(\d+)(?:\s*,\s*"?([0-9A-Fa-f]*)"?\s*,\s*"?([0-9A-Fa-f]*)"?)?'
)


def registration(name: str) -> Callable[[Answer], Registration]:
    """`+CREG: <n>,<stat>[,<lac>,<ci>]` of the read command `name` (+CREG, +CGREG)."""

    def parse(answer: Answer) -> Registration:
        for line in answer.lines:
            if line.startswith(f"{name}:"):
                m = _REG.match(line)
                if m is None:
                    break
                n, stat, lac, ci = m.groups()
                return Registration(int(n), int(stat), lac or None, ci or None)
        raise Malformed(
            list(answer.lines) or answer.final, f"{name}: <n>,<stat>[,<lac>,<ci>] then OK"
        )

    return parse


_INTS = re.compile(r"-?\d+")


def signal(answer: Answer) -> Signal:
    """`+CSQ: 25,0` → Signal(25, 0)."""
    text = info(answer, "+CSQ:")
    numbers = _INTS.findall(text)
    if len(numbers) != 2:
        raise Malformed(text, "+CSQ: <rssi>,<ber>")
    return Signal(int(numbers[0]), int(numbers[1]))


_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def local_address(answer: Answer) -> IPv4Address:
    """AT+QILOCIP's final is the bare address, with no OK (PROTOCOL.md §4)."""
    text = (answer.final or "").strip()
    try:
        if _IPV4.match(text):
            return IPv4Address(text)
    except ValueError:
        pass
    raise Malformed(answer.final, "the bare local IP address")


def state(answer: Answer) -> IpState:
    """AT+QISTAT (QIMUX=0): `OK`, then `STATE: <state>` as the final (PROTOCOL.md §10)."""
    word = ip_state(answer.final or "")
    if word is None:
        raise Malformed(answer.final, "OK, then STATE: <one of PROTOCOL.md §1>")
    return word


_SACK = re.compile(r"^\+QISACK:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")


def ack(answer: Answer) -> Ack:
    """`+QISACK: <sent>, <acked>, <nAcked>`, spaces or none (PROTOCOL.md §7)."""
    text = next((ln for ln in answer.lines if ln.startswith("+QISACK:")), None)
    m = _SACK.match(text) if text is not None else None
    if m is None:
        raise Malformed(text or list(answer.lines), "+QISACK: <sent>, <acked>, <nAcked> then OK")
    value = Ack(*(int(g) for g in m.groups()))
    if value.acked > value.sent or value.nacked > value.sent:
        raise Malformed(text, "acknowledged and unacknowledged are parts of the total")
    return value
