"""What one simulated module is like: identity, every uncertain [U] behaviour, and its timings.

Each field that PROTOCOL.md marks [U] is a setting here, never a silent choice; the presets
`Profile.m95()` (the default), `Profile.mc60()` and `Profile.m66()` differ in identity only;
`Profile.rough()` is the M95 with only its framing and timing made rough (see sim/README.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

#: (low, high) module seconds; every latency is drawn uniformly from its span.
Span = tuple[float, float]

_D = TypeVar("_D", bound="DataclassInstance")


def _replaced(profile: _D, changes: Mapping[str, object]) -> _D:
    """`dataclasses.replace` with fields named at run time (a preset's keywords, the command
    line): an unknown name is a TypeError, a bad choice or span __post_init__'s ValueError."""
    return dataclasses.replace(profile, **changes)


#: Rates AT+IPR accepts (M35MAN p.36); 0 is autobaud.
IPR_RATES = (0, 300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115200)

#: Standard 27.007 verbose texts for AT+CMEE=2; Quectel's own strings are [U] (PROTOCOL §2).
CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    13: "SIM failure",
    14: "SIM busy",
    22: "not found",
    30: "no network service",
    100: "unknown",
}


_STATES = (
    "IP INITIAL",
    "IP START",
    "IP CONFIG",
    "IP IND",
    "IP GPRSACT",
    "IP STATUS",
    "TCP CONNECTING",
    "IP CLOSE",
    "PDP DEACT",
)
#: Settings that take one of a few words.
_CHOICES: dict[str, tuple[str, ...]] = {
    "autobaud_early_urcs": ("drop", "replay"),
    "baud_mismatch": ("garbage", "silence"),
    "input_while_busy": ("queue", "drop"),
    "qistat_mux_form": ("manual", "spaced"),
    "udp_qisack_zero": ("last", "middle"),
    "send_full_reply": ("SEND FAIL", "ERROR"),
    "dns_fail_reply": ("CONNECT FAIL", "ERROR"),
    "qiact_fail_state": _STATES,
    "refused_state": _STATES,
}


@dataclass(frozen=True)
class Profile:
    """One module model's behaviour; `dataclasses.replace(Profile(), field=...)` varies it."""

    name: str = "m95"

    # -- identity (PROTOCOL §2, §14) -------------------------------------------------------------
    manufacturer: str = "Quectel_Ltd"
    model: str = "Quectel_M95"
    revision: str = "M95FAR02A08"  # ATI / AT+GMR
    firmware: str = "M95FAR03A04"  # AT+QGMR, the full revision
    imei: str = "861234050012345"
    iccid: str = "89860012345678901234"
    imsi: str = "460001234567890"
    gmr_prefix: bool = True  # [U] AT+GMR answers "Revision: <rev>" (False: the bare revision)

    # -- response spelling, every one [U] ---------------------------------------------------------
    cpin_space: bool = True  # "+CPIN: READY" (manual) / "+CPIN:READY" (the seeds)
    qirdi_space: bool = True  # "+QIRDI: 0,1,0" (OT#14) / "+QIRDI:0,1,0" (the seeds)
    qird_space: bool = True  # "+QIRD: ip:port,TCP,n" / "+QIRD:ip:port,TCP,n" (the seeds)
    qisack_sep: str = ", "  # "+QISACK: 4, 4, 0" / "+QISACK: 1484,1448,36" (both in the seeds)
    closed_index: bool = False  # "0, CLOSED" also in single-connection mode (§14, an M95)
    already_connect_error: bool = True  # a separate ERROR follows ALREADY CONNECT (§14)
    already_connect_index: bool = True  # QIMUX=1: "<id>, ALREADY CONNECT" (False: bare)
    push_leading_crlf: bool = True  # headed pushed data starts on its own line (§14)
    ipd_trailing_crlf: bool = False  # CR LF after the pushed payload (§14: none seen)
    qistat_mux_form: str = "manual"  # QIMUX=1 link lines: "manual" | "spaced" (M26FW)
    qistate_line: str = '+QISTATE: {link},"{proto}","{ip}",{port},"{state}"'  # [U] fields (§10)
    qistat_v0_codes: tuple[str, ...] = (  # ATV0 QISTAT codes; above 5 are [U] (§1)
        "IP INITIAL",
        "IP START",
        "IP CONFIG",
        "IP IND",
        "IP GPRSACT",
        "IP STATUS",
        "TCP CONNECTING",
        "UDP CONNECTING",
        "CONNECT OK",
        "IP CLOSE",
        "PDP DEACT",
    )
    cme_text: dict[int, str] = field(default_factory=lambda: dict(CME_TEXT))  # [U] verbose

    # -- start-up (PROTOCOL §2, §3) ---------------------------------------------------------------
    boot_urcs: tuple[str, ...] = ("RDY", "+CFUN: 1")  # at UART ready; +CPIN and Call Ready follow
    sms_ready: bool = False  # [U] a "SMS Ready" URC after "Call Ready" (SIM800-like)
    cmee_default: int = 1  # factory AT+CMEE; 1 shows the boot noise "+CME ERROR: 14" (§14)
    no_sim_urc: str = "+CPIN: NOT INSERTED"  # [U] what a boot without a SIM reports
    no_sim_error: int = 10  # AT+CPIN? without a SIM: +CME ERROR: 10
    cfun4_needs_cpin: bool = True  # AT+CFUN=4 is ERROR until the +CPIN URC (OFONO)
    qiurc_suppresses: tuple[str, ...] = ("Call Ready", "SMS Ready")  # [U] AT+QIURC=0 scope
    stored_with_w: tuple[str, ...] = ("ipr", "echo", "verbose", "cmee", "qiurc")  # AT&W profile

    # -- UART and baud (PROTOCOL §2, §3) ----------------------------------------------------------
    autobaud_ats: int = 1  # "AT"s the autobaud needs before it locks
    autobaud_early_urcs: str = "drop"  # [U] URCs due before sync: "drop" | "replay" after it
    baud_mismatch: str = "garbage"  # host at another rate sees "garbage" | "silence"
    pace_output: bool = False  # emit at rate/10 bytes per module second
    at_line_max: int = 556  # longest command line; longer ones answer ERROR
    input_while_busy: str = "queue"  # bytes typed during a command: "queue" | "drop"

    # -- power (PROTOCOL §3) ----------------------------------------------------------------------
    pwrkey_on_min: float = 1.0  # hold to boot; STATUS rises when it is reached (M95HD p.31)
    pwrkey_off_min: float = 0.6  # hold while on to power down (M95HD p.32: 0.6 < t < 1 s)
    emerg_off_min: float = 0.02  # [U] EMERG_OFF pulse that resets the module

    # -- IP stack (PROTOCOL §1, §4, §5) -----------------------------------------------------------
    qimux_initial_only: bool = True  # [U] AT+QIMUX=<n> only in IP INITIAL (TinyGSM #324)
    qimode_initial_only: bool = True  # [U] AT+QIMODE=<n> only in IP INITIAL
    qiregapp_initial_only: bool = True  # [U] AT+QIREGAPP only in IP INITIAL (PLUM)
    qiact_fail_state: str = "IP INITIAL"  # [U] state after AT+QIACT answers ERROR
    qilocip_no_context: str = "ERROR"  # [U] AT+QILOCIP without a context
    refused_state: str = "IP CLOSE"  # [U] QISTAT after CONNECT FAIL for a refused port
    qiopen_timeout: float = 75.0  # [U] the module's own connect timeout (drivers wait 75 s)
    dns_fail_reply: str = "CONNECT FAIL"  # [U] QIOPEN to an unknown name: after OK, or "ERROR"
    dnsgip_fail_reply: str = "ERROR"  # [U] AT+QIDNSGIP for an unknown name, after OK
    local_ip: str | None = None  # QILOCIP address; None: drawn from the seed as 10.x.x.x
    ato_reply: str = "CONNECT"  # [U] ATO with a live transparent session

    # -- sending (PROTOCOL §6, §7) ----------------------------------------------------------------
    send_max: int = 1460  # bytes in one AT+QISEND input
    send_max_inclusive: bool = True  # [U] "at most 1460" (True) / "less than 1460" (False)
    send_buffer: int = 7300  # the socket send buffer of the seeds' chapter 4
    send_full_reply: str = "SEND FAIL"  # QISEND that does not fit: "SEND FAIL" | "ERROR"
    qisend_esc_reply: str = "OK"  # [U] final after ESC abandons a variable-length send ("": none)
    qisend_backspace: bool = True  # [U] 0x08 deletes the previous byte (the seeds say so)
    echo_payload: bool = True  # AT+QISDE at power-on: payload echoed while echo is on (§14)
    echo_payload_drawn: bool = False  # AT+QISDE at power-on drawn from the seed at each boot
    udp_qisack_zero: str = "last"  # [U] UDP QISACK: "last" (English) / "middle" (Chinese)

    # -- receiving (PROTOCOL §8) ------------------------------------------------------------------
    qird_max: int = 1500  # largest <len> of AT+QIRD
    qird_udp_per_datagram: bool = True  # [U] one +QIRD header per UDP datagram
    qirdi_each_packet: bool = False  # [U] +QIRDI per packet (False: when the buffer fills)
    recv_buffer: int = 65536  # module receive buffer; the socket is not read past it
    push_chunk: int = 1460  # pushed data goes out in blocks of at most this many bytes

    # -- transparent mode (PROTOCOL §12) ----------------------------------------------------------
    tcfg_default: tuple[int, int, int, int] = (3, 2, 512, 1)
    tcfg_ranges: tuple[tuple[int, int], ...] = ((3, 8), (1, 10), (1, 1460), (0, 1))  # [U]
    tcfg_wait_unit: float = 0.1  # [U] WaitTm unit: 100 ms (the seeds) or 200 ms (SIMCom)
    escape_guard: float = 0.5  # [U] silence before and after "+++" (M72: 0.5 s)
    escape_gap_max: float = 0.5  # [U] longest pause between the three '+'

    # -- how the bytes leave the UART (framing and timing only; PROTOCOL §0, §13.5, §14) ----------
    out_chunk_max: int = 0  # each write leaves in random chunks of 1..n bytes (0: whole)
    lat_chunk_gap: Span = (0.0, 0.0)  # silence between two chunks of a write
    lat_crlf_gap: Span = (0.0, 0.0)  # silence between a CR and its LF (in different chunks)
    urc_spots: float = 0.0  # chance a URC already due is repeated after a final or before an echo
    boot_noise: bool = False  # a few garbage bytes when the UART comes up, before RDY (§13.7)

    # -- network (module seconds) -----------------------------------------------------------------
    creg_registered: int = 1  # 1 home, 5 roaming
    lac: str = "2842"
    ci: str = "0426"
    csq: tuple[int, int] = (25, 0)

    # -- latencies (module seconds; PROTOCOL §14 "observed times") ------------------------------
    lat_plain: Span = (0.015, 0.03)
    lat_uart_ready: Span = (1.0, 2.5)  # power-on to RDY: "wait 2–3 s before the first AT"
    lat_sim_ready: Span = (2.0, 4.0)  # power-on to +CPIN: READY
    lat_call_ready: Span = (4.0, 7.0)  # power-on to Call Ready
    lat_creg: Span = (2.0, 6.0)  # power-on to GSM registration
    lat_cgreg: Span = (0.5, 2.0)  # GSM to GPRS registration
    lat_cgatt: Span = (0.3, 1.5)
    lat_cfun: Span = (0.1, 0.5)
    lat_qiregapp: Span = (0.05, 0.5)  # "about 5 s or less" (UMOD)
    lat_qiact: Span = (0.5, 3.0)
    lat_qideact: Span = (2.0, 5.0)  # the seeds: "normally about 2-5 seconds"
    lat_qiclose: Span = (0.02, 0.2)
    lat_connect_tcp: Span = (0.5, 0.8)  # CONNECT OK after OK (MC60: 0.6 s)
    lat_connect_udp: Span = (0.01, 0.03)  # MC60: 16 ms
    lat_dns: Span = (0.5, 1.2)  # added when QIOPEN names a host (MC60: 1.5 s in all)
    lat_send_ok: Span = (0.02, 0.08)
    lat_power_down: Span = (2.0, 12.0)  # network logout before NORMAL POWER DOWN
    lat_qpowd_off: Span = (0.5, 2.0)  # NORMAL POWER DOWN to STATUS low after AT+QPOWD=1

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                choices = ", ".join(repr(a) for a in allowed)
                raise ValueError(f"profile {name}={getattr(self, name)!r}: choose one of {choices}")
        if self.out_chunk_max < 0 or not 0.0 <= self.urc_spots <= 1.0:
            raise ValueError(
                f"profile out_chunk_max={self.out_chunk_max}, urc_spots={self.urc_spots}: "
                "need out_chunk_max >= 0 and 0 <= urc_spots <= 1"
            )
        for f in dataclasses.fields(self):
            if f.name.startswith("lat_"):
                low, high = getattr(self, f.name)
                if not 0 <= low <= high:
                    raise ValueError(f"profile {f.name}=({low}, {high}): need 0 <= low <= high")

    # -- presets ----------------------------------------------------------------------------------
    @classmethod
    def m95(cls, **changes: object) -> Profile:
        """The Quectel M95 of PROTOCOL.md (the default)."""
        return _replaced(cls(), changes)

    @classmethod
    def mc60(cls, **changes: object) -> Profile:
        """A Quectel MC60 (AT+CGMM from OFONO; the revision strings are illustrative)."""
        base = cls(
            name="mc60",
            model="Quectel_MC60",
            revision="MC60CAR01A07",
            firmware="MC60CAR01A07",
            lat_qideact=(0.3, 0.6),  # §14: DEACT OK about 0.45 s on a live network
        )
        return _replaced(base, changes)

    @classmethod
    def m66(cls, **changes: object) -> Profile:
        """A Quectel M66 (the revision strings are illustrative)."""
        base = cls(name="m66", model="Quectel_M66", revision="M66FAR01A12", firmware="M66FAR01A12")
        return _replaced(base, changes)

    @classmethod
    def rough(cls, **changes: object) -> Profile:
        """The M95 on a rough line: every meaning kept, framing and timing as a real UART may
        deliver them (chunks, gaps, CR apart from LF, URCs after finals and before echoes,
        boot noise, payload echo per AT+QISDE drawn at each boot). Draws follow the seed."""
        base = cls(
            name="rough",
            out_chunk_max=16,  # one UART FIFO burst at most
            lat_chunk_gap=(0.0, 0.004),
            lat_crlf_gap=(0.005, 0.03),
            urc_spots=0.25,
            boot_noise=True,
            echo_payload_drawn=True,
        )
        return _replaced(base, changes)

    @classmethod
    def named(cls, name: str, **changes: object) -> Profile:
        """A preset by name: m95, mc60, m66, rough, seeds."""
        presets = {
            "m95": cls.m95,
            "mc60": cls.mc60,
            "m66": cls.m66,
            "rough": cls.rough,
            "seeds": cls.seeds,
        }
        if name not in presets:
            raise ValueError(f"unknown module profile {name!r}; choose one of {', '.join(presets)}")
        return presets[name](**changes)

    @classmethod
    def seeds(cls, **changes: object) -> Profile:
        """The M95 spelled as the seed documents print it (no space after +CPIN:, +QIRDI:)."""
        return cls.m95(cpin_space=False, qirdi_space=False, qird_space=False, **changes)


def settable_fields() -> dict[str, type]:
    """Profile fields a person may set from the command line (scalars only), with their type."""
    out: dict[str, type] = {}
    for f in dataclasses.fields(Profile):
        default = getattr(Profile(), f.name)
        if isinstance(default, bool | int | float | str):
            out[f.name] = type(default)
        elif isinstance(default, tuple) and len(default) == 2 and f.name.startswith("lat_"):
            out[f.name] = tuple
    return out


def with_setting(profile: Profile, name: str, text: str) -> Profile:
    """`profile` with one field set from text ("lat_qiact=0.5,3"); ValueError says what is wrong."""
    kinds = settable_fields()
    if name not in kinds:
        raise ValueError(f"profile has no setting {name!r}; settable: {', '.join(sorted(kinds))}")
    kind = kinds[name]
    try:
        if kind is bool:
            if text.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(text)
            value: object = text.lower() in ("1", "true", "yes", "on")
        elif kind is tuple:
            low, high = (float(x) for x in text.split(","))
            value = (low, high)
        else:
            value = kind(text)
    except ValueError:
        hint = "two numbers as LOW,HIGH" if kind is tuple else f"a {kind.__name__}"
        raise ValueError(f"profile setting {name}={text!r}: expected {hint}") from None
    return _replaced(profile, {name: value})
