"""One entry per AT command: its name, how its reply is framed, its documented limit, and how
its answer reads as a typed value.

The codec frames a reply by the entry's `kind`, the channel waits the entry's `limit`
(AT-TIMEOUT; the numbers are harness/limits.py's) and `Modem` returns `parse(reply)`. Adding a
command is adding an entry here (and a `Modem` method that names it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address
from typing import Any, Generic, TypeVar

from harness import limits
from harness.clauses import clause as _clause
from harness.commands import answers as a
from harness.commands.answers import Ack, Answer, Registration, Signal, SimStatus
from harness.commands.words import IpState, ResultCode
from harness.errors import HarnessBug
from harness.limits import Limit, command_name

T = TypeVar("T")


class Kind(StrEnum):
    """How a command's reply is framed (PROTOCOL.md §4–§12); read and test forms are BASIC."""

    BASIC = "basic"  # info lines, then OK / ERROR / +CME ERROR
    OPEN = "open"  # OK, later CONNECT OK / CONNECT FAIL / CONNECT; or ALREADY CONNECT
    SEND = "send"  # prompt, payload, SEND OK / SEND FAIL
    STAT = "stat"  # OK then STATE: (QIMUX=0); +QISTAT: lines then OK (QIMUX=1)
    STATE = "state"  # AT+QISTATE: OK, STATE:, +QISTATE: lines, OK
    LOCIP = "locip"  # the bare address, no OK
    DEACT = "deact"  # DEACT OK, no OK
    CLOSE = "close"  # CLOSE OK / <n>, CLOSE OK
    QIRD = "qird"  # +QIRD: header + exactly <len> bytes, repeated, then OK
    POWD = "powd"  # NORMAL POWER DOWN
    DNSGIP = "dnsgip"  # OK, then the address line
    ONLINE = "online"  # ATO: CONNECT back into data mode
    ESCAPE = "escape"  # +++ in data mode: OK, or an echo and nothing (no command line)


@dataclass(frozen=True)
class Command(Generic[T]):
    """One AT command of the document.

    `reacts`: the document gives a refusal a reaction (PDP-ACT-RETRY, OPEN-*, SEND-* …), so
    `Modem` returns it as a value; any other refusal raises `ATError`. `clause` is the one an
    answer `parse` cannot read deviates from.
    """

    name: str  # "+QIDEACT"; "E" for ATE0; "" for AT
    parse: Callable[[Answer], T]
    kind: Kind = Kind.BASIC
    limit: Limit = limits.DEFAULT_COMMAND
    reacts: bool = False
    clause: str = "ORDER"

    def __post_init__(self) -> None:
        _clause(self.clause)  # an entry must cite a real clause

    def line(self, tail: str = "") -> str:
        """The command line without its CR: `AT` + name + `tail` (`?`, `=1`, `1` for ATE1)."""
        return f"AT{self.name}{tail}"


def _settle(name: str, **kw: Any) -> Command[ResultCode | None]:
    """A command whose answer is only its result code (a setting, an action)."""
    return Command(name, a.outcome, **kw)


def _lines(name: str) -> Command[list[str]]:
    """A command answered with information lines (who the module is)."""
    return Command(name, a.info_lines)


# -- general (PROTOCOL.md §0–§3) ----------------------------------------------------------------
AT = _settle("")
ATE = _settle("E")  # ATE0 / ATE1: echo
ATV = _settle("V")  # ATV0: numeric result codes
ATZ = _settle("Z")
ATO = _settle("O", kind=Kind.ONLINE)  # back to data mode (TRANS-*)
ATI = _lines("I")
IPR = _settle("+IPR", clause="INIT-IPR")
IFC = _settle("+IFC")
CMEE = _settle("+CMEE")
CGMI = _lines("+CGMI")
CGMM = _lines("+CGMM")
GMI = _lines("+GMI")
GMM = _lines("+GMM")
GMR = _lines("+GMR")
QGMR = _lines("+QGMR")
GSN = _lines("+GSN")
CGSN = _lines("+CGSN")
QCCID = _lines("+QCCID")
QPOWD = _settle("+QPOWD", kind=Kind.POWD, clause="PWR-OFF")
CPIN: Command[SimStatus] = Command("+CPIN", a.sim_status, clause="INIT-CPIN")
QINISTAT: Command[int] = Command("+QINISTAT", a.number("+QINISTAT:"), clause="INIT-CPIN")
CREG: Command[Registration] = Command("+CREG", a.registration("+CREG"), clause="INIT-CREG")
CGREG: Command[Registration] = Command("+CGREG", a.registration("+CGREG"), clause="INIT-CGREG")
CGATT: Command[int] = Command(
    "+CGATT", a.number("+CGATT:"), limit=limits.CGATT, clause="INIT-CGATT"
)
CSQ: Command[Signal] = Command("+CSQ", a.signal)

# -- options (chapter 2) ------------------------------------------------------------------------
QIMUX: Command[bool] = Command("+QIMUX", a.flag("+QIMUX:"), clause="OPEN-ERR-MUX")
QIMODE = _settle("+QIMODE", clause="OPT-MODE")
QIDNSIP = _settle("+QIDNSIP", clause="OPT-DNSIP")
QINDI = _settle("+QINDI", clause="OPT-INDI")
QIHEAD = _settle("+QIHEAD", clause="OPT-HEAD")
QISHOWRA = _settle("+QISHOWRA", clause="OPT-SHOWRA")
QISHOWPT = _settle("+QISHOWPT", clause="OPT-SHOWPT")
QITCFG = _settle("+QITCFG", clause="OPT-TCFG")
QISDE = _settle("+QISDE")

# -- the context (PROTOCOL.md §4, §10) ----------------------------------------------------------
QIFGCNT = _settle("+QIFGCNT", clause="INIT-FGCNT")
QICSGP = _settle("+QICSGP", clause="INIT-APN")
QIREGAPP = _settle("+QIREGAPP", reacts=True, clause="PDP-ACT")
QIACT = _settle("+QIACT", limit=limits.QIACT, reacts=True, clause="PDP-ACT")
QILOCIP: Command[IPv4Address] = Command(
    "+QILOCIP", a.local_address, kind=Kind.LOCIP, clause="PDP-ACT"
)
QIDEACT = _settle(
    "+QIDEACT", kind=Kind.DEACT, limit=limits.QIDEACT, reacts=True, clause="PDP-DEACT"
)
QISTAT: Command[IpState] = Command("+QISTAT", a.state, kind=Kind.STAT, clause="OPEN-ERR-STATE")
QISTATE: Command[list[str]] = Command("+QISTATE", a.info_lines, kind=Kind.STATE)
QIDNSGIP = _settle("+QIDNSGIP", kind=Kind.DNSGIP, clause="OPT-DNSIP")

# -- sessions (PROTOCOL.md §5–§9) ---------------------------------------------------------------
QIOPEN: Command[ResultCode | None] = Command(
    "+QIOPEN", a.indexed_outcome, Kind.OPEN, limits.QIOPEN, reacts=True, clause="OPEN-TCP"
)
QISEND: Command[ResultCode | None] = Command(
    "+QISEND", a.indexed_outcome, Kind.SEND, reacts=True, clause="SEND-VAR"
)
QISACK: Command[Ack] = Command("+QISACK", a.ack, clause="SEND-ACK")
QIRD = _settle("+QIRD", kind=Kind.QIRD, reacts=True, clause="RECV-QIRD")  # ERROR: closed
QICLOSE = _settle("+QICLOSE", kind=Kind.CLOSE, limit=limits.QICLOSE, reacts=True, clause="CLOSE")

_ENTRIES = [c for c in list(globals().values()) if isinstance(c, Command)]
#: Every entry by name (`+QIDEACT`, `E`, `` for AT).
COMMANDS: dict[str, Command[Any]] = {c.name: c for c in _ENTRIES}
if len(COMMANDS) != len(_ENTRIES):
    raise HarnessBug("two registry entries share a command name")
#: AT-TIMEOUT's table: the commands whose final has a limit of its own (the rest:
#: `limits.DEFAULT_COMMAND`).
COMMAND_LIMITS: dict[str, Limit] = {
    name: c.limit for name, c in COMMANDS.items() if c.limit is not limits.DEFAULT_COMMAND
}


def command(line: str) -> Command[Any] | None:
    """The entry of a command line (`AT+QIACT` → QIACT, `ATE0` → ATE), or None."""
    return COMMANDS.get(command_name(line))


def limit_for(line: str) -> Limit:
    """The documented limit for the final answer to `line` (AT-TIMEOUT)."""
    return COMMAND_LIMITS.get(command_name(line), limits.DEFAULT_COMMAND)


def kind_of(name: str) -> Kind:
    """The framing of the execute/set form of the command `name` (BASIC if not listed)."""
    entry = COMMANDS.get(name)
    return entry.kind if entry is not None else Kind.BASIC
