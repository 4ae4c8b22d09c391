"""Mutations: documented behaviours broken on purpose, each tied to the PROCESS.md clause it breaks.

A certification test of a clause must fail against the mutant that breaks it. Each mutation is a
one-line check where the behaviour lives in the simulator (no second code path); `shows` says
which exchange reveals it to a host that follows the document.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def _m(name: str, clause: str, description: str, shows: str, *also: str) -> Mutation:
    return Mutation(name, clause, description, shows, tuple(also))


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        # -- INIT ---------------------------------------------------------------------------------
        _m(
            "autobaud_needs_20_at",
            "INIT-SYNC",
            "autobaud chosen with AT+IPR=0&W locks only on the 20th AT (factory-fresh: at once)",
            "AT+IPR=0&W, power cycle: 15 ATs 500 ms apart get no OK",
        ),
        _m(
            "ipr_not_stored",
            "INIT-IPR",
            "AT&W does not store the rate",
            "AT+IPR=115200&W, power cycle: AT+IPR? says 0 and no RDY before the first AT",
        ),
        _m(
            "cpin_ready_after_12s",
            "INIT-CPIN",
            "the SIM is busy for 12 s after power-on",
            "AT+CPIN? answers +CME ERROR: 14 until 12 s after power-on (limit 10 s)",
        ),
        _m(
            "creg_after_40s",
            "INIT-CREG",
            "GSM registration takes 40 s",
            "AT+CREG? shows stat 2 until 40 s after power-on (limit 30 s)",
        ),
        _m(
            "cgreg_after_40s",
            "INIT-CGREG",
            "GPRS registration takes 40 s",
            "AT+CGREG? shows stat 2 until 40 s after power-on (limit 30 s)",
        ),
        _m(
            "cgatt_answer_200s",
            "INIT-CGATT",
            "AT+CGATT? and AT+CGATT=1 answer after 200 s",
            "no final to AT+CGATT? within 180 s",
        ),
        _m(
            "qifgcnt_error",
            "INIT-FGCNT",
            "AT+QIFGCNT=0 answers ERROR",
            "AT+QIFGCNT=0 → ERROR",
        ),
        _m(
            "qicsgp_error",
            "INIT-APN",
            'AT+QICSGP=1,"CMNET" answers ERROR',
            'AT+QICSGP=1,"CMNET" → ERROR',
        ),
        _m(
            "qidnsip_ignored",
            "OPT-DNSIP",
            "AT+QIDNSIP=1 answers OK but QIOPEN still wants a dotted address",
            'AT+QIDNSIP=1, AT+QIOPEN="TCP","localhost",<port> → ERROR',
        ),
        _m(
            "qindi_ignored",
            "OPT-INDI",
            "AT+QINDI=1 answers OK but received data is pushed raw, no +QIRDI",
            "QINDI=1, peer sends: raw bytes on the UART instead of +QIRDI: 0,1,0",
            "RECV-QIRD",
        ),
        _m(
            "qihead_ignored",
            "OPT-HEAD",
            "AT+QIHEAD=1 answers OK but no IPD<len>: header is added",
            "QIHEAD=1, peer sends: the payload without IPD<len>:",
        ),
        _m(
            "qishowra_ignored",
            "OPT-SHOWRA",
            "AT+QISHOWRA=1 answers OK but no RECV FROM line is printed",
            "QISHOWRA=1, peer sends: no RECV FROM:<ip>:<port>",
            "RECV-DIRECT",
        ),
        _m(
            "qishowpt_ignored",
            "OPT-SHOWPT",
            "AT+QISHOWPT=1 answers OK but the header has no protocol",
            "QIHEAD=1, QISHOWPT=1, peer sends: IPD<len>: instead of IPD<len>TCP:",
        ),
        _m(
            "qimode_ignored",
            "OPT-MODE",
            "AT+QIMODE=1 answers OK but sessions stay non-transparent",
            "QIMODE=1, QIOPEN: CONNECT OK and command mode instead of CONNECT",
            "TRANS-OPEN",
        ),
        _m(
            "tcfg_wait_ignored",
            "OPT-TCFG",
            "transparent mode waits ten times the QITCFG WaitTm before sending a short batch",
            "QITCFG=3,2,512,1, 10 bytes in data mode reach the peer after 2 s, not 0.2 s",
            "TRANS-DATA",
        ),
        # -- PDP ----------------------------------------------------------------------------------
        _m(
            "qiact_200s",
            "PDP-ACT",
            "AT+QIACT answers OK after 200 s",
            "no final to AT+QIACT within 180 s",
            "AT-TIMEOUT",
        ),
        _m(
            "qilocip_with_ok",
            "PDP-ACT",
            "AT+QILOCIP prints OK after the address",
            "AT+QILOCIP → <ip> then a stray OK",
        ),
        _m(
            "qiact_retry_needs_reboot",
            "PDP-ACT-RETRY",
            "after one AT+QIACT failure every retry fails until the module is rebooted",
            "qiact_fail count=1: the second QIREGAPP/QIACT still answers ERROR",
        ),
        _m(
            "qideact_100s",
            "PDP-DEACT",
            "AT+QIDEACT answers DEACT OK after 100 s",
            "no DEACT OK within 90 s",
            "CLOSE-DEACT",
        ),
        _m(
            "pdp_deact_urc_missing",
            "PDP-LOST",
            "the network drops the context without a +PDP DEACT URC",
            "inject pdp_deact: no +PDP DEACT line (QISTAT says PDP DEACT)",
        ),
        # -- OPEN ---------------------------------------------------------------------------------
        _m(
            "connect_ok_after_100s",
            "OPEN-TCP",
            "CONNECT OK for TCP comes 100 s after OK",
            'AT+QIOPEN="TCP",...: no CONNECT OK within 90 s',
        ),
        _m(
            "udp_connect_fail",
            "OPEN-UDP",
            "AT+QIOPEN with UDP ends in CONNECT FAIL",
            'AT+QIOPEN="UDP",...: OK then CONNECT FAIL',
        ),
        _m(
            "qiopen_bad_format_ok",
            "OPEN-ERR-FORMAT",
            "a malformed AT+QIOPEN answers OK (then CONNECT FAIL) instead of ERROR",
            'AT+QIOPEN="TCPX","127.0.0.1",70000 → OK',
        ),
        _m(
            "qiopen_mux1_accepted",
            "OPEN-ERR-MUX",
            "with AT+QIMUX=1 the single-connection AT+QIOPEN is accepted",
            'QIMUX=1, AT+QIOPEN="TCP",... → OK instead of ERROR',
        ),
        _m(
            "qiopen_any_state",
            "OPEN-ERR-STATE",
            "AT+QIOPEN is accepted in every state",
            "in IP GPRSACT (before QILOCIP) AT+QIOPEN → OK instead of ERROR",
        ),
        _m(
            "ok_before_already_connect",
            "OPEN-ALREADY",
            "a second AT+QIOPEN answers OK before ALREADY CONNECT",
            "with a session up, AT+QIOPEN → OK, ALREADY CONNECT",
        ),
        _m(
            "qiclose_after_fail_drops_context",
            "OPEN-FAIL",
            "AT+QICLOSE after CONNECT FAIL in TCP CONNECTING also drops the GPRS context",
            "unreachable peer, CONNECT FAIL, AT+QICLOSE: QISTAT says IP INITIAL, not IP CLOSE",
        ),
        _m(
            "qiopen_never_answers",
            "OPEN-SLOW",
            "an open to an unreachable peer never ends (no CONNECT FAIL, ever)",
            "unreachable peer: no final after OK even past 3.5 min",
        ),
        _m(
            "qideact_refused_while_connecting",
            "OPEN-RETRY",
            "AT+QIDEACT answers ERROR while a connect hangs, so 'QIDEACT and try again' fails",
            "qiopen_hang, AT+QIOPEN → OK, AT+QIDEACT → ERROR instead of DEACT OK",
        ),
        # -- SEND ---------------------------------------------------------------------------------
        _m(
            "ctrlz_sent_as_data",
            "SEND-VAR",
            "the Ctrl+Z that ends a variable-length send is sent to the peer as well",
            "AT+QISEND, TEST<1A>: the peer receives TEST<1A>, QISACK counts 5",
        ),
        _m(
            "qisend_limit_1000",
            "SEND-MAX",
            "AT+QISEND refuses inputs above 1000 bytes",
            "AT+QISEND=1460 → ERROR",
        ),
        _m(
            "esc_does_not_cancel",
            "SEND-SPECIAL",
            "0x1B in a variable-length send sends the input instead of abandoning it",
            "AT+QISEND, abc<1B>: SEND OK and the peer receives abc",
        ),
        _m(
            "backspace_sent_as_data",
            "SEND-SPECIAL",
            "0x08 in a variable-length send is data instead of deleting a byte",
            "AT+QISEND, abX<08>c<1A>: the peer receives abX<08>c, not abc",
        ),
        _m(
            "fixed_stops_at_ctrlz",
            "SEND-FIXED",
            "a fixed-length send ends early at 0x1A",
            "AT+QISEND=3, 08 1A 1B: SEND OK after two bytes, the peer receives 08 only",
        ),
        _m(
            "qisack_never_acks",
            "SEND-ACK",
            "AT+QISACK never reports data as acknowledged",
            "after SEND OK to an echo peer, +QISACK: n, 0, n forever",
            "KEEP-CHECK",
        ),
        _m(
            "send_buffer_1000",
            "SEND-WINDOW",
            "the socket send buffer is 1000 bytes, not 7300",
            "peer not reading: AT+QISEND fails (SEND FAIL) while nAcked < 3000",
        ),
        # -- RECV ---------------------------------------------------------------------------------
        _m(
            "recv_drops_last_byte",
            "RECV-DIRECT",
            "pushed data loses its last byte",
            "peer sends 36 bytes: 35 reach the UART",
        ),
        _m(
            "recv_inside_reply",
            "RECV-INTERLEAVE",
            "data arriving during a command is printed inside its response line",
            "peer sends while AT+CSQ runs: +CS<data>Q: 25,0",
        ),
        _m(
            "qird_over_len",
            "RECV-QIRD",
            "AT+QIRD returns everything buffered, ignoring <len>",
            "2000 bytes buffered, AT+QIRD=0,1,0,1024 returns 2000",
        ),
        # -- KEEP ---------------------------------------------------------------------------------
        _m(
            "nat_drop_after_60s",
            "KEEP-HEARTBEAT",
            "the simulated gateway reclaims any session idle for 60 s (the document saw > 10 min)",
            "idle 61 s, send: the peer receives nothing, nAcked stays",
        ),
        _m(
            "nat_drop_fake_acks",
            "KEEP-CHECK",
            "after a NAT drop the module reports the lost data as acknowledged",
            "nat_drop idle, send: +QISACK: n, n, 0 though the peer received nothing",
        ),
        # -- CLOSE --------------------------------------------------------------------------------
        _m(
            "qiclose_100s",
            "CLOSE",
            "AT+QICLOSE answers CLOSE OK after 100 s",
            "no CLOSE OK within 90 s",
        ),
        _m(
            "qideact_keeps_context",
            "CLOSE-DEACT",
            "AT+QIDEACT answers DEACT OK but the context stays up",
            "AT+QIDEACT, AT+QISTAT: STATE: IP STATUS instead of IP INITIAL",
        ),
        _m(
            "info_after_final",
            "ORDER",
            "information lines come after the final result",
            "AT+CSQ → OK, then +CSQ: 25,0 (taken for the next command's answer)",
        ),
        # -- TRANS --------------------------------------------------------------------------------
        _m(
            "trans_connect_ok",
            "TRANS-OPEN",
            "a transparent open prints CONNECT OK instead of CONNECT",
            "QIMODE=1, AT+QIOPEN → OK, CONNECT OK (still data mode)",
        ),
        _m(
            "trans_echoes_data",
            "TRANS-DATA",
            "bytes typed in data mode are echoed to the UART",
            "data mode, write hello: hello comes back on the UART",
        ),
        _m(
            "escape_ignored",
            "TRANS-ESC",
            "+++ with guard times is sent to the peer instead of leaving data mode",
            "data mode, 1 s, +++, 1 s: no OK; the peer receives +++",
        ),
        _m(
            "closed_stays_in_data_mode",
            "TRANS-CLOSED",
            "after a real remote close the module prints CLOSED but stays in data mode",
            "peer closes: CLOSED, then +++ answers OK (the host takes CLOSED for data)",
        ),
        # -- PWR ----------------------------------------------------------------------------------
        _m(
            "pwrkey_on_2500ms",
            "PWR-ON",
            "once it has run, the module boots only after a 2.5 s PWRKEY press (first boot: 1 s)",
            "power on, off, then a 1.2 s PWRKEY press leaves STATUS low",
        ),
        _m(
            "power_down_after_20s",
            "PWR-OFF",
            "the network logout after a PWRKEY off pulse takes 20 s",
            "PWRKEY 0.8 s: no NORMAL POWER DOWN and STATUS still high 12 s later",
        ),
        _m(
            "emerg_off_ignored",
            "PWR-EMERG",
            "EMERG_OFF does not switch the module off",
            "EMERG_OFF pulse: STATUS stays high, AT still answers",
        ),
        _m(
            "csq_70s",
            "AT-TIMEOUT",
            "AT+CSQ answers after 70 s",
            "no final to AT+CSQ within the 60 s default",
        ),
        _m(
            "reboot_too_soon_wedges",
            "PWR-BACKOFF",
            "a boot less than 10 min after a previous boot that itself came less than 10 min "
            "after the one before wedges the module (silent); back-off 0, 10, 30, 60 min avoids it",
            "power on, reboot at once twice: the third boot answers nothing",
        ),
        # -- FLOW ---------------------------------------------------------------------------------
        _m(
            "deact_ok_as_ok",
            "FLOW-HAPPY",
            "AT+QIDEACT answers OK instead of DEACT OK",
            "AT+QIDEACT → OK",
            "PDP-DEACT",
        ),
        _m(
            "qiact_fault_survives_reboot",
            "FLOW-RECOVER",
            "once AT+QIACT has failed, it keeps failing after every reboot",
            "qiact_fail count=1, reboot: AT+QIACT still answers ERROR",
            "PDP-ACT-RETRY",
        ),
    )
}


def mutation(name: str) -> Mutation:
    """The catalogue entry; UnknownMutation lists the names."""
    try:
        return MUTATIONS[name]
    except KeyError:
        raise UnknownMutation(
            f"unknown mutation {name!r}; known: {', '.join(sorted(MUTATIONS))}"
        ) from None
