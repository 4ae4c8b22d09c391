"""Mutations: documented behaviours broken on purpose, each tied to the PROCESS.md clause it breaks.

A certification test of a clause must fail against the mutant that breaks it. `Mutated` is the
catalogue *and* the switches: one flag per mutation, read where the behaviour lives in the
simulator (`if fw.mutated.csq_70s:`, no second code path), so a misspelled mutation is a type
error. `shows` says which exchange reveals it to a host that follows the document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mutation:
    name: str
    clause: str  # the clause it breaks first
    description: str  # what the mutant does instead
    shows: str = ""  # the exchange that reveals it
    also: tuple[str, ...] = ()  # further clauses it breaks

    @property
    def clauses(self) -> tuple[str, ...]:
        return (self.clause, *self.also)


class UnknownMutation(ValueError):
    """A mutation name the catalogue does not have."""


def _m(clause: str, description: str, shows: str, *also: str) -> Any:
    """One flag of `Mutated`: off by default, its catalogue entry kept in the field's metadata."""
    about = {"clause": clause, "description": description, "shows": shows, "also": also}
    return dataclasses.field(default=False, metadata=about)


@dataclass(frozen=True)
class Mutated:
    """Which documented behaviours this simulator breaks (all off: the faithful module)."""

    # -- INIT ---------------------------------------------------------------------------------
    autobaud_needs_20_at: bool = _m(
        "INIT-SYNC",
        "autobaud chosen with AT+IPR=0&W locks only on the 20th AT (factory-fresh: at once)",
        "AT+IPR=0&W, power cycle: 15 ATs 500 ms apart get no OK",
    )
    ipr_not_stored: bool = _m(
        "INIT-IPR",
        "AT&W does not store the rate",
        "AT+IPR=115200&W, power cycle: AT+IPR? says 0 and no RDY before the first AT",
    )
    cpin_ready_after_12s: bool = _m(
        "INIT-CPIN",
        "the SIM is busy for 12 s after power-on",
        "AT+CPIN? answers +CME ERROR: 14 until 12 s after power-on (limit 10 s)",
    )
    creg_after_40s: bool = _m(
        "INIT-CREG",
        "GSM registration takes 40 s",
        "AT+CREG? shows stat 2 until 40 s after power-on (limit 30 s)",
    )
    cgreg_after_40s: bool = _m(
        "INIT-CGREG",
        "GPRS registration takes 40 s",
        "AT+CGREG? shows stat 2 until 40 s after power-on (limit 30 s)",
    )
    cgatt_answer_200s: bool = _m(
        "INIT-CGATT",
        "AT+CGATT? and AT+CGATT=1 answer after 200 s",
        "no final to AT+CGATT? within 180 s",
    )
    qifgcnt_error: bool = _m("INIT-FGCNT", "AT+QIFGCNT=0 answers ERROR", "AT+QIFGCNT=0 → ERROR")
    qicsgp_error: bool = _m(
        "INIT-APN",
        'AT+QICSGP=1,"CMNET" answers ERROR',
        'AT+QICSGP=1,"CMNET" → ERROR',
    )
    qidnsip_ignored: bool = _m(
        "OPT-DNSIP",
        "AT+QIDNSIP=1 answers OK but QIOPEN still wants a dotted address",
        'AT+QIDNSIP=1, AT+QIOPEN="TCP","localhost",<port> → ERROR',
    )
    qindi_ignored: bool = _m(
        "OPT-INDI",
        "AT+QINDI=1 answers OK but received data is pushed raw, no +QIRDI",
        "QINDI=1, peer sends: raw bytes on the UART instead of +QIRDI: 0,1,0",
        "RECV-QIRD",
    )
    qihead_ignored: bool = _m(
        "OPT-HEAD",
        "AT+QIHEAD=1 answers OK but no IPD<len>: header is added",
        "QIHEAD=1, peer sends: the payload without IPD<len>:",
    )
    qishowra_ignored: bool = _m(
        "OPT-SHOWRA",
        "AT+QISHOWRA=1 answers OK but no RECV FROM line is printed",
        "QISHOWRA=1, peer sends: no RECV FROM:<ip>:<port>",
        "RECV-DIRECT",
    )
    qishowpt_ignored: bool = _m(
        "OPT-SHOWPT",
        "AT+QISHOWPT=1 answers OK but the header has no protocol",
        "QIHEAD=1, QISHOWPT=1, peer sends: IPD<len>: instead of IPD<len>TCP:",
    )
    qimode_ignored: bool = _m(
        "OPT-MODE",
        "AT+QIMODE=1 answers OK but sessions stay non-transparent",
        "QIMODE=1, QIOPEN: CONNECT OK and command mode instead of CONNECT",
        "TRANS-OPEN",
    )
    tcfg_wait_ignored: bool = _m(
        "OPT-TCFG",
        "transparent mode waits ten times the QITCFG WaitTm before sending a short batch",
        "QITCFG=3,2,512,1, 10 bytes in data mode reach the peer after 2 s, not 0.2 s",
        "TRANS-DATA",
    )
    # -- PDP ----------------------------------------------------------------------------------
    qiact_200s: bool = _m(
        "PDP-ACT",
        "AT+QIACT answers OK after 200 s",
        "no final to AT+QIACT within 180 s",
        "AT-TIMEOUT",
    )
    qilocip_with_ok: bool = _m(
        "PDP-ACT",
        "AT+QILOCIP prints OK after the address",
        "AT+QILOCIP → <ip> then a stray OK",
    )
    qiact_retry_needs_reboot: bool = _m(
        "PDP-ACT-RETRY",
        "after one AT+QIACT failure every retry fails until the module is rebooted",
        "qiact_fail count=1: the second QIREGAPP/QIACT still answers ERROR",
    )
    qideact_100s: bool = _m(
        "PDP-DEACT",
        "AT+QIDEACT answers DEACT OK after 100 s",
        "no DEACT OK within 90 s",
        "CLOSE-DEACT",
    )
    pdp_deact_urc_missing: bool = _m(
        "PDP-LOST",
        "the network drops the context without a +PDP DEACT URC",
        "inject pdp_deact: no +PDP DEACT line (QISTAT says PDP DEACT)",
    )
    # -- OPEN ---------------------------------------------------------------------------------
    connect_ok_after_100s: bool = _m(
        "OPEN-TCP",
        "CONNECT OK for TCP comes 100 s after OK",
        'AT+QIOPEN="TCP",...: no CONNECT OK within 90 s',
    )
    udp_connect_fail: bool = _m(
        "OPEN-UDP",
        "AT+QIOPEN with UDP ends in CONNECT FAIL",
        'AT+QIOPEN="UDP",...: OK then CONNECT FAIL',
    )
    qiopen_bad_format_ok: bool = _m(
        "OPEN-ERR-FORMAT",
        "a malformed AT+QIOPEN answers OK (then CONNECT FAIL) instead of ERROR",
        'AT+QIOPEN="TCPX","127.0.0.1",70000 → OK',
    )
    qiopen_mux1_accepted: bool = _m(
        "OPEN-ERR-MUX",
        "with AT+QIMUX=1 the single-connection AT+QIOPEN is accepted",
        'QIMUX=1, AT+QIOPEN="TCP",... → OK instead of ERROR',
    )
    qiopen_any_state: bool = _m(
        "OPEN-ERR-STATE",
        "AT+QIOPEN is accepted in every state",
        "in IP GPRSACT (before QILOCIP) AT+QIOPEN → OK instead of ERROR",
    )
    ok_before_already_connect: bool = _m(
        "OPEN-ALREADY",
        "a second AT+QIOPEN answers OK before ALREADY CONNECT",
        "with a session up, AT+QIOPEN → OK, ALREADY CONNECT",
    )
    qiclose_after_fail_drops_context: bool = _m(
        "OPEN-FAIL",
        "AT+QICLOSE after CONNECT FAIL in TCP CONNECTING also drops the GPRS context",
        "unreachable peer, CONNECT FAIL, AT+QICLOSE: QISTAT says IP INITIAL, not IP CLOSE",
    )
    qiopen_never_answers: bool = _m(
        "OPEN-SLOW",
        "an open to an unreachable peer never ends (no CONNECT FAIL, ever)",
        "unreachable peer: no final after OK even past 3.5 min",
    )
    qideact_refused_while_connecting: bool = _m(
        "OPEN-RETRY",
        "AT+QIDEACT answers ERROR while a connect hangs, so 'QIDEACT and try again' fails",
        "qiopen_hang, AT+QIOPEN → OK, AT+QIDEACT → ERROR instead of DEACT OK",
    )
    # -- SEND ---------------------------------------------------------------------------------
    ctrlz_sent_as_data: bool = _m(
        "SEND-VAR",
        "the Ctrl+Z that ends a variable-length send is sent to the peer as well",
        "AT+QISEND, TEST<1A>: the peer receives TEST<1A>, QISACK counts 5",
    )
    qisend_limit_1000: bool = _m(
        "SEND-MAX",
        "AT+QISEND refuses inputs above 1000 bytes",
        "AT+QISEND=1460 → ERROR",
    )
    esc_does_not_cancel: bool = _m(
        "SEND-SPECIAL",
        "0x1B in a variable-length send sends the input instead of abandoning it",
        "AT+QISEND, abc<1B>: SEND OK and the peer receives abc",
    )
    backspace_sent_as_data: bool = _m(
        "SEND-SPECIAL",
        "0x08 in a variable-length send is data instead of deleting a byte",
        "AT+QISEND, abX<08>c<1A>: the peer receives abX<08>c, not abc",
    )
    fixed_stops_at_ctrlz: bool = _m(
        "SEND-FIXED",
        "a fixed-length send ends early at 0x1A",
        "AT+QISEND=3, 08 1A 1B: SEND OK after two bytes, the peer receives 08 only",
    )
    qisack_never_acks: bool = _m(
        "SEND-ACK",
        "AT+QISACK never reports data as acknowledged",
        "after SEND OK to an echo peer, +QISACK: n, 0, n forever",
        "KEEP-CHECK",
    )
    send_buffer_1000: bool = _m(
        "SEND-WINDOW",
        "the socket send buffer is 1000 bytes, not 7300",
        "peer not reading: AT+QISEND fails (SEND FAIL) while nAcked < 3000",
    )
    # -- RECV ---------------------------------------------------------------------------------
    recv_drops_last_byte: bool = _m(
        "RECV-DIRECT",
        "pushed data loses its last byte",
        "peer sends 36 bytes: 35 reach the UART",
    )
    recv_inside_reply: bool = _m(
        "RECV-INTERLEAVE",
        "data arriving during a command is printed inside its response line",
        "peer sends while AT+CSQ runs: +CS<data>Q: 25,0",
    )
    qird_over_len: bool = _m(
        "RECV-QIRD",
        "AT+QIRD returns everything buffered, ignoring <len>",
        "2000 bytes buffered, AT+QIRD=0,1,0,1024 returns 2000",
    )
    # -- KEEP ---------------------------------------------------------------------------------
    nat_drop_after_60s: bool = _m(
        "KEEP-HEARTBEAT",
        "the simulated gateway reclaims any session idle for 60 s (the document saw > 10 min)",
        "idle 61 s, send: the peer receives nothing, nAcked stays",
    )
    nat_drop_fake_acks: bool = _m(
        "KEEP-CHECK",
        "after a NAT drop the module reports the lost data as acknowledged",
        "nat_drop idle, send: +QISACK: n, n, 0 though the peer received nothing",
    )
    # -- CLOSE --------------------------------------------------------------------------------
    qiclose_100s: bool = _m(
        "CLOSE",
        "AT+QICLOSE answers CLOSE OK after 100 s",
        "no CLOSE OK within 90 s",
    )
    qideact_keeps_context: bool = _m(
        "CLOSE-DEACT",
        "AT+QIDEACT answers DEACT OK but the context stays up",
        "AT+QIDEACT, AT+QISTAT: STATE: IP STATUS instead of IP INITIAL",
    )
    info_after_final: bool = _m(
        "ORDER",
        "information lines come after the final result",
        "AT+CSQ → OK, then +CSQ: 25,0 (taken for the next command's answer)",
    )
    # -- TRANS --------------------------------------------------------------------------------
    trans_connect_ok: bool = _m(
        "TRANS-OPEN",
        "a transparent open prints CONNECT OK instead of CONNECT",
        "QIMODE=1, AT+QIOPEN → OK, CONNECT OK (still data mode)",
    )
    trans_echoes_data: bool = _m(
        "TRANS-DATA",
        "bytes typed in data mode are echoed to the UART",
        "data mode, write hello: hello comes back on the UART",
    )
    escape_ignored: bool = _m(
        "TRANS-ESC",
        "+++ with guard times is sent to the peer instead of leaving data mode",
        "data mode, 1 s, +++, 1 s: no OK; the peer receives +++",
    )
    closed_stays_in_data_mode: bool = _m(
        "TRANS-CLOSED",
        "after a real remote close the module prints CLOSED but stays in data mode",
        "peer closes: CLOSED, then +++ answers OK (the host takes CLOSED for data)",
    )
    # -- PWR ----------------------------------------------------------------------------------
    pwrkey_on_2500ms: bool = _m(
        "PWR-ON",
        "once it has run, the module boots only after a 2.5 s PWRKEY press (first boot: 1 s)",
        "power on, off, then a 1.2 s PWRKEY press leaves STATUS low",
    )
    power_down_after_20s: bool = _m(
        "PWR-OFF",
        "the network logout after a PWRKEY off pulse takes 20 s",
        "PWRKEY 0.8 s: no NORMAL POWER DOWN and STATUS still high 12 s later",
    )
    emerg_off_ignored: bool = _m(
        "PWR-EMERG",
        "EMERG_OFF does not switch the module off",
        "EMERG_OFF pulse: STATUS stays high, AT still answers",
    )
    csq_70s: bool = _m(
        "AT-TIMEOUT",
        "AT+CSQ answers after 70 s",
        "no final to AT+CSQ within the 60 s default",
    )
    reboot_too_soon_wedges: bool = _m(
        "PWR-BACKOFF",
        "a boot less than 10 min after a previous boot that itself came less than 10 min "
        "after the one before wedges the module (silent); back-off 0, 10, 30, 60 min avoids it",
        "power on, reboot at once twice: the third boot answers nothing",
    )
    # -- FLOW ---------------------------------------------------------------------------------
    deact_ok_as_ok: bool = _m(
        "FLOW-HAPPY",
        "AT+QIDEACT answers OK instead of DEACT OK",
        "AT+QIDEACT → OK",
        "PDP-DEACT",
    )
    qiact_fault_survives_reboot: bool = _m(
        "FLOW-RECOVER",
        "once AT+QIACT has failed, it keeps failing after every reboot",
        "qiact_fail count=1, reboot: AT+QIACT still answers ERROR",
        "PDP-ACT-RETRY",
    )

    def with_on(self, name: str) -> Mutated:
        """These flags and `name` (UnknownMutation lists the names)."""
        mutation(name)
        return dataclasses.replace(self, **{name: True})

    def names(self) -> tuple[str, ...]:
        """The mutations switched on, sorted."""
        return tuple(sorted(n for n in MUTATIONS if getattr(self, n)))


#: The catalogue, by name (`--sim-mutation NAME`, `MUTATIONS[name].clause`).
MUTATIONS: dict[str, Mutation] = {
    f.name: Mutation(f.name, **f.metadata) for f in dataclasses.fields(Mutated)
}


def mutation(name: str) -> Mutation:
    """The catalogue entry; UnknownMutation lists the names."""
    try:
        return MUTATIONS[name]
    except KeyError:
        raise UnknownMutation(
            f"unknown mutation {name!r}; known: {', '.join(sorted(MUTATIONS))}"
        ) from None
