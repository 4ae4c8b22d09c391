"""The vendor document as 53 clause IDs (shared PROCESS.md): the traceability matrix's rows.

Suites name these IDs with `@pytest.mark.clause(...)`; reports group them by `group` and
by `chapter` of "GSM TCPIP Recommended Process" V1.1 (and its Chinese edition).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import UsageFault

# Document chapters (English V1.1 numbering; the Chinese edition numbers them one lower
# from "Send data" on, and adds AT+CGATT? to chapter 2).
CH_INIT = "2 Initialization"
CH_OPEN = "3 Establish TCP session"
CH_SEND = "4 Send data"
CH_RECV = "5 Receive data"
CH_KEEP = "6 TCP connection maintenance and detection"
CH_CLOSE = "7 Close TCP session"
CH_TRANS = "8 Transparent session mode"
CH_FLOW = "9 TCPIP recommended process flow chart"

CHAPTERS = (CH_INIT, CH_OPEN, CH_SEND, CH_RECV, CH_KEEP, CH_CLOSE, CH_TRANS, CH_FLOW)

# Allure severities, from "a wrong verdict here bricks a product in the field" down.
BLOCKER, CRITICAL, NORMAL, MINOR = "blocker", "critical", "normal", "minor"


@dataclass(frozen=True)
class Clause:
    id: str
    group: str  # PROCESS.md section: INIT, PDP, OPEN, SEND, RECV, KEEP, CLOSE, TRANS, PWR, FLOW
    chapter: str
    title: str
    limit: str  # the documented limit as text ("" when the clause has none)
    severity: str


def _c(id_, group, chapter, title, limit, severity):
    return Clause(id_, group, chapter, title, limit, severity)


_ALL = (
    # INIT — start-up and configuration (ch. 2, ch. 9 notes)
    _c(
        "INIT-SYNC",
        "INIT",
        CH_INIT,
        "Synchronise with AT every 500 ms, up to 15 times, then AT+IPR=<rate>&W",
        "15 × 500 ms",
        BLOCKER,
    ),
    _c(
        "INIT-IPR",
        "INIT",
        CH_INIT,
        "AT+IPR=115200&W answers OK and the rate survives a reboot",
        "60 s",
        CRITICAL,
    ),
    _c(
        "INIT-CPIN",
        "INIT",
        CH_INIT,
        "AT+CPIN? answers +CPIN: READY (or AT+QINISTAT); no SIM in 10 s: reboot",
        "10 s from power-on",
        CRITICAL,
    ),
    _c(
        "INIT-CREG",
        "INIT",
        CH_INIT,
        "AT+CREG? stat 1 or 5 (or the +CREG URC); not registered in 30 s: reboot",
        "30 s",
        CRITICAL,
    ),
    _c(
        "INIT-CGREG",
        "INIT",
        CH_INIT,
        "AT+CGREG? stat 1 or 5; not registered in 30 s: go on anyway",
        "30 s",
        NORMAL,
    ),
    _c(
        "INIT-CGATT",
        "INIT",
        CH_INIT,
        "AT+CGATT? gives +CGATT: 1 (Chinese edition); no answer in 180 s: reboot",
        "180 s",
        CRITICAL,
    ),
    _c(
        "INIT-FGCNT",
        "INIT",
        CH_INIT,
        "AT+QIFGCNT=0 selects context 0 as the foreground context",
        "60 s",
        NORMAL,
    ),
    _c(
        "INIT-APN",
        "INIT",
        CH_INIT,
        'AT+QICSGP=1,"CMNET" sets GPRS as bearer and the APN',
        "60 s",
        NORMAL,
    ),
    _c("OPT-DNSIP", "INIT", CH_INIT, "AT+QIDNSIP=1: AT+QIOPEN takes a domain name", "", NORMAL),
    _c(
        "OPT-INDI",
        "INIT",
        CH_INIT,
        "AT+QINDI=1: data announced by +QIRDI and fetched with AT+QIRD",
        "",
        NORMAL,
    ),
    _c(
        "OPT-HEAD",
        "INIT",
        CH_INIT,
        "AT+QIHEAD=1: received data is preceded by IPD<len>:",
        "",
        NORMAL,
    ),
    _c(
        "OPT-SHOWRA",
        "INIT",
        CH_INIT,
        "AT+QISHOWRA=1: received data is preceded by RECV FROM:<ip>:<port>",
        "",
        MINOR,
    ),
    _c(
        "OPT-SHOWPT",
        "INIT",
        CH_INIT,
        "AT+QISHOWPT=1: the protocol is added to the header (IPD36TCP:)",
        "",
        MINOR,
    ),
    _c("OPT-MODE", "INIT", CH_INIT, "AT+QIMODE=1 selects transparent mode (default 0)", "", NORMAL),
    _c(
        "OPT-TCFG",
        "INIT",
        CH_INIT,
        "AT+QITCFG=3,2,512,1: below 512 B sent after 200 ms, else in 512 B blocks",
        "200 ms / 512 B",
        NORMAL,
    ),
    # PDP — bearer context (ch. 9 flow chart)
    _c(
        "PDP-ACT",
        "PDP",
        CH_FLOW,
        "AT+QIREGAPP, AT+QIACT, AT+QILOCIP together; QILOCIP returns the local IP",
        "AT+QIACT: 180 s, reboot on no answer",
        BLOCKER,
    ),
    _c(
        "PDP-ACT-RETRY",
        "PDP",
        CH_FLOW,
        "AT+QIACT failing 3 times in a row: reboot",
        "3 failures",
        CRITICAL,
    ),
    _c(
        "PDP-DEACT",
        "PDP",
        CH_FLOW,
        "AT+QIDEACT answers DEACT OK; typ 2–5 s; no answer in 90 s: reboot",
        "typ 2–5 s, 90 s",
        CRITICAL,
    ),
    _c(
        "PDP-LOST",
        "PDP",
        CH_FLOW,
        "+PDP DEACT URC: deactivate and start over from PDP-ACT",
        "",
        CRITICAL,
    ),
    # OPEN — establishing a session (ch. 3)
    _c(
        "OPEN-TCP",
        "OPEN",
        CH_OPEN,
        'AT+QIOPEN="TCP",... answers OK, then CONNECT OK',
        "90 s for an answer",
        BLOCKER,
    ),
    _c(
        "OPEN-UDP",
        "OPEN",
        CH_OPEN,
        'AT+QIOPEN="UDP",... answers OK, then CONNECT OK (no handshake)',
        "",
        CRITICAL,
    ),
    _c("OPEN-ERR-FORMAT", "OPEN", CH_OPEN, "ERROR: the command is malformed", "", NORMAL),
    _c(
        "OPEN-ERR-MUX",
        "OPEN",
        CH_OPEN,
        "ERROR because AT+QIMUX is 1: check AT+QIMUX?, set 0, retry",
        "",
        NORMAL,
    ),
    _c(
        "OPEN-ERR-STATE",
        "OPEN",
        CH_OPEN,
        "ERROR in a wrong state: QICLOSE in TCP CONNECTING, else QIDEACT",
        "",
        CRITICAL,
    ),
    _c(
        "OPEN-ALREADY",
        "OPEN",
        CH_OPEN,
        "ALREADY CONNECT: AT+QICLOSE the session before opening a new one",
        "",
        CRITICAL,
    ),
    _c(
        "OPEN-FAIL",
        "OPEN",
        CH_OPEN,
        "CONNECT FAIL: AT+QISTAT; TCP CONNECTING → QICLOSE, else QIDEACT",
        "",
        CRITICAL,
    ),
    _c(
        "OPEN-SLOW",
        "OPEN",
        CH_OPEN,
        "The final answer may take 2.5–3.5 min; the host may time out before 2 min",
        "2.5–3.5 min worst",
        NORMAL,
    ),
    _c(
        "OPEN-RETRY",
        "OPEN",
        CH_OPEN,
        "5 failures or no answer in 90 s: QIDEACT and retry; still failing: EMERG_OFF",
        "5 failures, 90 s",
        CRITICAL,
    ),
    # SEND — sending data (ch. 4)
    _c("SEND-VAR", "SEND", CH_SEND, "AT+QISEND, prompt '> ', data, Ctrl+Z → SEND OK", "", BLOCKER),
    _c("SEND-MAX", "SEND", CH_SEND, "At most 1460 bytes in one input", "1460 B", CRITICAL),
    _c(
        "SEND-SPECIAL",
        "SEND",
        CH_SEND,
        "Variable mode: 0x08 deletes, 0x1A sends, 0x1B abandons",
        "",
        NORMAL,
    ),
    _c(
        "SEND-FIXED",
        "SEND",
        CH_SEND,
        "AT+QISEND=<n> sends exactly n bytes, 0x08/0x1A/0x1B included",
        "",
        CRITICAL,
    ),
    _c(
        "SEND-ACK",
        "SEND",
        CH_SEND,
        "AT+QISACK → sent, acked, nAcked; nAcked 0 = all delivered; UDP stays 0",
        "ack within 90 s (flow chart)",
        BLOCKER,
    ),
    _c(
        "SEND-WINDOW",
        "SEND",
        CH_SEND,
        "Send while nAcked < 3000; else poll every 5 s, 20 polls → reopen and resend",
        "3000 B, 5 s × 20",
        BLOCKER,
    ),
    # RECV — receiving data (ch. 5)
    _c(
        "RECV-DIRECT",
        "RECV",
        CH_RECV,
        "Received data goes to the UART, with the optional RECV FROM/IPD headers",
        "",
        CRITICAL,
    ),
    _c(
        "RECV-INTERLEAVE",
        "RECV",
        CH_RECV,
        "Received data may appear between a command and its response",
        "",
        CRITICAL,
    ),
    _c(
        "RECV-QIRD",
        "RECV",
        CH_RECV,
        "+QIRDI: 0,1,0 then AT+QIRD=0,1,0,1024 returns +QIRD: <ip>:<port>,TCP,<len> and the data",
        "",
        CRITICAL,
    ),
    # KEEP — keeping the session alive (ch. 6)
    _c(
        "KEEP-HEARTBEAT",
        "KEEP",
        CH_KEEP,
        "Send a small heartbeat when idle; the document's interval is 10 min",
        "10 min",
        NORMAL,
    ),
    _c(
        "KEEP-CHECK",
        "KEEP",
        CH_KEEP,
        "Before a heartbeat, QISACK every 5 s up to 24 times; unacked: close, reopen, resend",
        "5 s × 24",
        CRITICAL,
    ),
    # CLOSE — ending a session (ch. 7)
    _c(
        "CLOSE",
        "CLOSE",
        CH_CLOSE,
        "AT+QICLOSE → CLOSE OK once all data is sent; no answer in 90 s: reboot",
        "90 s",
        CRITICAL,
    ),
    _c(
        "CLOSE-DEACT",
        "CLOSE",
        CH_CLOSE,
        "AT+QIDEACT when the context will idle for long",
        "",
        NORMAL,
    ),
    _c(
        "ORDER",
        "CLOSE",
        CH_CLOSE,
        "Wait for each command's final answer (or ERROR) before the next",
        "",
        CRITICAL,
    ),
    # TRANS — transparent mode (ch. 8)
    _c(
        "TRANS-OPEN",
        "TRANS",
        CH_TRANS,
        "With AT+QIMODE=1, AT+QIOPEN answers OK then CONNECT; the UART is in data mode",
        "",
        CRITICAL,
    ),
    _c(
        "TRANS-DATA",
        "TRANS",
        CH_TRANS,
        "In data mode bytes pass both ways unechoed, batched as in OPT-TCFG",
        "200 ms / 512 B",
        CRITICAL,
    ),
    _c(
        "TRANS-ESC",
        "TRANS",
        CH_TRANS,
        "+++ switches back to command mode and answers OK",
        "",
        CRITICAL,
    ),
    _c(
        "TRANS-CLOSED",
        "TRANS",
        CH_TRANS,
        "CLOSED/+PDP DEACT in data mode may be data: +++ with OK = data, no OK = dropped",
        "",
        CRITICAL,
    ),
    # PWR — power, timeouts and recovery (ch. 9 flow chart and notes)
    _c("PWR-ON", "PWR", CH_FLOW, "Power on: PWRKEY high, then low, within 2 s", "2 s", BLOCKER),
    _c(
        "PWR-OFF",
        "PWR",
        CH_FLOW,
        "Power off: PWRKEY low for 1 s, cut the supply after 12 s",
        "1 s, 12 s",
        CRITICAL,
    ),
    _c(
        "PWR-EMERG",
        "PWR",
        CH_FLOW,
        "A module that does not answer is restarted with EMERG_OFF",
        "",
        BLOCKER,
    ),
    _c(
        "AT-TIMEOUT",
        "PWR",
        CH_FLOW,
        "Every command waits for its final answer: the default limit, network commands their own",
        "60 s default",
        BLOCKER,
    ),
    _c(
        "PWR-BACKOFF",
        "PWR",
        CH_FLOW,
        "Do not reboot often: at once, then after 10 min, 30 min, 1 h",
        "0, 10, 30, 60 min",
        CRITICAL,
    ),
    # FLOW — the whole flow chart end to end (ch. 9)
    _c(
        "FLOW-HAPPY",
        "FLOW",
        CH_FLOW,
        "Power on to QIDEACT, every step inside its limit",
        "",
        BLOCKER,
    ),
    _c(
        "FLOW-RECOVER",
        "FLOW",
        CH_FLOW,
        "Every reboot/deactivate-and-retry edge ends back on the happy path, no data lost",
        "",
        BLOCKER,
    ),
)

#: Clause ID → Clause, in document order.
CLAUSES: dict[str, Clause] = {c.id: c for c in _ALL}

#: The groups in document order, as the report lists them.
GROUPS = ("INIT", "PDP", "OPEN", "SEND", "RECV", "KEEP", "CLOSE", "TRANS", "PWR", "FLOW")


class UnknownClause(UsageFault, KeyError):
    """A clause ID that PROCESS.md does not have."""

    def __str__(self) -> str:
        import difflib

        wanted = self.args[0]
        # IDs are upper case; `pdp-deact` should still be pointed at PDP-DEACT.
        near = difflib.get_close_matches(str(wanted).upper(), CLAUSES, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"unknown clause ID {wanted!r}{hint}; the IDs are listed in harness/clauses.py"


def clause(clause_id: str) -> Clause:
    """The clause with this ID, or UnknownClause naming the nearest real one."""
    try:
        return CLAUSES[clause_id]
    except KeyError:
        raise UnknownClause(clause_id) from None
