"""Every documented limit and typical time, each citing its clause.

The one source of truth for every time the document sets: other files name these constants,
never their values. Times are module seconds. `Limit.check(measured)` turns a measurement into
a `Timing` with its verdict. Which command waits which limit is the command registry's
(harness/commands): `limit_for()`.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from enum import StrEnum

from harness.clauses import clause as _clause
from harness.errors import LimitFault


class Verdict(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"  # inside the limit, but above the typical range or near the limit
    FAIL = "fail"


#: Inside the limit but above this fraction of it counts as marginal.
MARGINAL_FRACTION = 0.8


@dataclass(frozen=True)
class Limit:
    """A documented time limit: what it bounds, from which clause, and what to do past it."""

    name: str
    seconds: float
    clause: str
    typical: tuple[float, float] | None = None
    action: str = ""  # the document's reaction when it is exceeded: reboot, deactivate, ...
    source: str = "GSM TCPIP Recommended Process V1.1"

    def __post_init__(self) -> None:
        _clause(self.clause)  # a limit must cite a real clause

    def judge(self, measured: float) -> Verdict:
        # NaN compares false with everything: a measurement we cannot read never passes.
        if math.isnan(measured) or measured > self.seconds:
            return Verdict.FAIL
        if self.typical and measured > self.typical[1]:
            return Verdict.MARGINAL
        if measured > MARGINAL_FRACTION * self.seconds:
            return Verdict.MARGINAL
        return Verdict.PASS

    def check(self, measured: float, command: str | None = None, note: str = "") -> Timing:
        return Timing(
            clause=self.clause,
            command=command or self.name,
            measured=measured,
            limit=self.seconds,
            typical=self.typical,
            verdict=self.judge(measured),
            note=note,
        )


@dataclass(frozen=True)
class Timing:
    """One measured step: clause, command, module seconds measured, limit, verdict."""

    clause: str
    command: str
    measured: float
    limit: float | None
    typical: tuple[float, float] | None
    verdict: Verdict
    note: str = ""

    @property
    def margin(self) -> float | None:
        """Fraction of the limit left (1.0 = instant, 0 = at the limit, <0 = exceeded)."""
        if not self.limit:
            return None
        return 1.0 - self.measured / self.limit

    def describe(self) -> str:
        lim = "no limit" if self.limit is None else f"limit {self.limit:g} s"
        return f"{self.clause} {self.command}: {self.measured:.3f} s ({lim}) → {self.verdict}"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["verdict"] = str(self.verdict)
        d["typical"] = list(self.typical) if self.typical else None
        return d


class LimitExceeded(LimitFault, AssertionError):
    """A measured step took longer than the document allows; the message names each one."""


# -- AT-TIMEOUT: every command's final answer (doc ch. 9 notes 2 and 3) ----------------------
DEFAULT_COMMAND = Limit("AT command", 60.0, "AT-TIMEOUT", action="reboot")
CGATT = Limit("AT+CGATT", 180.0, "INIT-CGATT", action="reboot")  # Chinese edition only
QIACT = Limit("AT+QIACT", 180.0, "PDP-ACT", action="reboot")
QIDEACT = Limit("AT+QIDEACT", 90.0, "PDP-DEACT", typical=(2.0, 5.0), action="reboot")
QICLOSE = Limit("AT+QICLOSE", 90.0, "CLOSE", action="reboot")
#: Both stages of AT+QIOPEN (OK, then CONNECT OK/FAIL) within 90 s, else QIDEACT (OPEN-RETRY).
QIOPEN = Limit("AT+QIOPEN", 90.0, "OPEN-TCP", action="deactivate")

# Which command waits which of these is the command registry's (harness/commands/registry.py:
# each entry names its limit from here; `COMMAND_LIMITS` there is AT-TIMEOUT's table).

# -- INIT -----------------------------------------------------------------------------------
SYNC_TRIES = 15  # INIT-SYNC: AT up to 15 times...
SYNC_INTERVAL = Limit("AT sync interval", 0.5, "INIT-SYNC")  # ...500 ms apart
SYNC = Limit(
    "baud synchronisation", SYNC_TRIES * SYNC_INTERVAL.seconds, "INIT-SYNC", action="reboot"
)
IPR_DEFAULT_RATE = 115200
CPIN_READY = Limit("SIM ready after power-on", 10.0, "INIT-CPIN", action="reboot")
CREG_REGISTERED = Limit("GSM registration", 30.0, "INIT-CREG", action="reboot")
CGREG_REGISTERED = Limit("GPRS registration", 30.0, "INIT-CGREG", action="continue")
REGISTERED_STATS = (1, 5)  # <stat> home, roaming
DEFAULT_APN = "CMNET"

# -- PDP ------------------------------------------------------------------------------------
QIACT_FAILURES = 3  # PDP-ACT-RETRY: 3 failures in a row → reboot
QIDEACT_FAILURES = 3  # PDP-DEACT: failing 3 times → reboot
QIDEACT_WORST = 150.0  # "about 2.5 minutes" when the network is bad
QIDEACT_RECOMMENDED = 60.0  # "a timeout of 1 minute or less" for the application

# -- OPEN -----------------------------------------------------------------------------------
QIOPEN_FAILURES = 5  # OPEN-RETRY: 5 failures in a row → QIDEACT and try again
QIOPEN_WORST = (150.0, 210.0)  # OPEN-SLOW: 2.5–3.5 min in theory
QIOPEN_HOST_TIMEOUT = 120.0  # OPEN-SLOW: the application may give up "under 2 min"
OPEN_ALLOWED_STATES = ("IP INITIAL", "IP STATUS", "IP CLOSE")  # OPEN-ERR-STATE
DOC_PEER_PORT = 7007  # the port of every example in the document

# -- SEND -----------------------------------------------------------------------------------
SEND_MAX = 1460  # SEND-MAX: bytes in one input
SOCKET_SEND_BUFFER = 7300  # SEND-WINDOW: the module's socket send buffer
TCP_MAX_PACKET = 1448  # SEND-WINDOW: one TCP packet at most
SEND_WINDOW_BYTES = 3000  # SEND-WINDOW: keep sending while nAcked < 3000
QISACK_POLL = Limit("AT+QISACK poll interval", 5.0, "SEND-WINDOW")
SEND_WINDOW_POLLS = 20  # 20 polls × 5 s = 100 s, then the connection is broken
ACK = Limit("data acknowledged by the peer", 90.0, "SEND-ACK", action="close and reopen")
CTRL_Z, ESC, BACKSPACE = 0x1A, 0x1B, 0x08  # SEND-SPECIAL

# -- RECV -----------------------------------------------------------------------------------
QIRD_MAX = 1024  # RECV-QIRD: bytes per AT+QIRD in the document's example

# -- KEEP -----------------------------------------------------------------------------------
HEARTBEAT = Limit("heartbeat interval", 600.0, "KEEP-HEARTBEAT")
KEEP_CHECK_POLLS = 24  # KEEP-CHECK: 24 × 5 s = 2 min

# -- TRANS ----------------------------------------------------------------------------------
TCFG = (3, 2, 512, 1)  # AT+QITCFG=3,2,512,1 as in the document
TCFG_WAIT = Limit("transparent batch wait", 0.2, "OPT-TCFG")  # WaitTm 2 × 100 ms
TCFG_SIZE = 512  # bytes per packet
ESCAPE_GUARD = 1.0  # silence before and after "+++" (PROTOCOL.md §12, ARD/M72)

# -- PWR ------------------------------------------------------------------------------------
PWRKEY_ON = Limit("PWRKEY on sequence", 2.0, "PWR-ON")
PWRKEY_ON_MIN = 1.0  # hold at least 1 s if STATUS is not read (M95 hardware design p.31)
PWRKEY_OFF = Limit("PWRKEY off pulse", 1.0, "PWR-OFF")
PWRKEY_OFF_WINDOW = (0.6, 1.0)  # 0.6 s < t < 1 s (M95 hardware design p.32)
POWER_CUT_AFTER = Limit("supply cut after power-off", 12.0, "PWR-OFF")
BACKOFF = (0.0, 600.0, 1800.0, 3600.0)  # PWR-BACKOFF: at once, 10 min, 30 min, 1 h


_COMMAND_NAME = re.compile(r"^AT([+&]?[A-Z]*)", re.IGNORECASE)


def command_name(command: str) -> str:
    """`AT+QIACT` → `+QIACT`; `at+cgatt?` → `+CGATT`; `ATE0` → `E`."""
    m = _COMMAND_NAME.match(command.strip())
    return m.group(1).upper() if m else command.strip().upper()


#: VBAT must be stable at least 30 ms before PWRKEY is pressed (PROTOCOL.md §3, M95HD p.31).
VBAT_SETTLE = 0.03
#: EMERG_OFF: the M80/M85 guides give "low over 20 ms (40 ms in a later M85 revision), then
#: release" (§3.4.2.4, `profile_for("M85")["EMERG_OFF_MIN"]`); the M95's gives no width (its
#: diagram shows 54/250/800 ms labels, PROTOCOL.md §3 [U]). Hold it this long, far above every
#: documented minimum, then on until STATUS drops where wired, at most EMERG_OFF_MAX
#: (OpenTracker pulses its KILL pin until STATUS drops, ≤ 5 s).
EMERG_OFF_PULSE = 0.8
EMERG_OFF_MAX = 5.0

#: pytest-timeout's last resort per certification test, above every documented limit a test
#: can meet in a row (bring-up + QIACT + QIOPEN worst case + QIDEACT …), in module seconds,
#: plus a wall-clock allowance for the harness itself.
TEST_BUDGET = 900.0
TEST_BUDGET_WALL = 30.0


# -- per-model power limits (the hardware design guide of each module) ----------------------
@dataclass(frozen=True)
class Documented:
    """One number (or window) and the page of the document that gives it."""

    value: float | tuple[float, float] | bool | None
    source: str


@dataclass(frozen=True)
class ModelProfile:
    """The power-pin limits of one module model: the M95's, except where the model's own
    hardware design guide says otherwise (`own` lists those keys)."""

    name: str
    values: dict[str, Documented]
    own: frozenset[str] = frozenset()
    default: bool = False  # the rig names no model: the M95's numbers

    def __getitem__(self, key: str):
        return self.values[key].value

    def source(self, key: str) -> str:
        return self.values[key].source

    def describe(self) -> str:
        if self.default:
            return f"{self.name} (the rig names no model)"
        return self.name if not self.own or self.name == "M95" else f"{self.name} (over M95)"

    def provenance(self) -> dict:
        """For the run header: the profile and, per limit, its value and where it comes from."""
        return {
            "limits_profile": self.describe(),
            "limits_sources": {
                key: {
                    "value": list(d.value) if isinstance(d.value, tuple) else d.value,
                    "source": d.source,
                    "model": self.name if key in self.own else "M95",
                }
                for key, d in self.values.items()
            },
        }


_M95HD = "Quectel M95 Hardware Design V1.0"
M95_POWER = {
    # "pull the PWRKEY pin to low level for more than 1 second" when STATUS is ignored.
    "PWRKEY_ON_MIN": Documented(PWRKEY_ON_MIN, f"{_M95HD} p.31 (fig. 8 and note)"),
    "PWRKEY_OFF_WINDOW": Documented(PWRKEY_OFF_WINDOW, f"{_M95HD} p.32 (fig. 9: 0.6 s < t < 1 s)"),
    "VBAT_SETTLE": Documented(VBAT_SETTLE, f"{_M95HD} p.31 (VBAT stable 30 ms before PWRKEY)"),
    "LOGOUT_MAX": Documented(POWER_CUT_AFTER.seconds, f"{_M95HD} p.32 (logout 2 s to 12 s)"),
    "EMERG_OFF_PIN": Documented(True, f"{_M95HD} §3.4.2 (EMERG_OFF is a power-down procedure)"),
    # [U]: the M95 guide shows EMERG_OFF only in the power-on diagram, with no pulse width.
    "EMERG_OFF_MIN": Documented(None, f"{_M95HD}: no EMERG_OFF pulse width (PROTOCOL.md §3 [U])"),
}
#: Only what each model's own guide says differently from the M95's (docs/rigs.md "model").
MODEL_OVERRIDES: dict[str, dict[str, Documented]] = {
    "M95": {},
    "M66": {
        "PWRKEY_OFF_WINDOW": Documented(
            (0.7, 1.0), "Quectel M66 Hardware Design §3.4.2.1 (fig. 9: 0.7 s < t < 1 s)"
        ),
        "EMERG_OFF_PIN": Documented(
            False, "Quectel M66 Hardware Design §3.4.2 (no EMERG_OFF power-down procedure)"
        ),
    },
    "M85": {
        "PWRKEY_OFF_WINDOW": Documented(
            (0.7, 1.0), "Quectel M85 Hardware Design §3.4.2.1 (fig. 9: 0.7 s < t < 1 s)"
        ),
        "VBAT_SETTLE": Documented(
            0.1, "Quectel M85 Hardware Design §3.4.1 note 1 (T1 recommended 100 ms)"
        ),
        # One revision says "over 20 ms", a later one "over 40 ms": the longer serves both.
        "EMERG_OFF_MIN": Documented(
            0.04, "Quectel M85 Hardware Design §3.4.2.4 (low over 20 ms / 40 ms, then release)"
        ),
    },
    "M80": {
        "EMERG_OFF_MIN": Documented(
            0.02, "Quectel M80 Hardware Design §3.4.2.4 (low over 20 ms, then release)"
        ),
    },
    "MC60": {
        "VBAT_SETTLE": Documented(
            0.1, "Quectel MC60 Hardware Design §3.5.1 note (T1 recommended 100 ms)"
        ),
        "EMERG_OFF_PIN": Documented(
            False, "Quectel MC60 Hardware Design §3.5.2 (no EMERG_OFF power-down procedure)"
        ),
    },
}
MODELS = tuple(MODEL_OVERRIDES)


def model_key(model: str | None) -> str | None:
    """`Quectel_M66`, `m66`, `M66FAR02A07` → `M66`; None if no profile matches."""
    if not model:
        return None
    text = model.strip().upper().removeprefix("QUECTEL_").removeprefix("QUECTEL ")
    for name in sorted(MODELS, key=len, reverse=True):  # MC60 before M…
        if text == name or (text.startswith(name) and not text[len(name)].isdigit()):
            return name
    return None


def profile_for(model: str | None = None) -> ModelProfile:
    """The power-limit profile of `model` (a rig's `model`; None: the M95's, marked default).
    Raises KeyError for a model with no documented profile (rig.py turns it into a RigError)."""
    if model is None:
        return ModelProfile("M95", dict(M95_POWER), default=True)
    key = model_key(model)
    if key is None:
        raise KeyError(model)
    own = MODEL_OVERRIDES[key]
    return ModelProfile(key, {**M95_POWER, **own}, frozenset(own))


def provenance(model: str | None = None) -> dict:
    """The run header's `limits_profile` and `limits_sources` for a rig's model (call it
    when the run starts; `timings.json` and environment.properties take it as it is)."""
    return profile_for(model).provenance()
