"""The QISTAT states of PROTOCOL §1 and which commands each one admits.

The words are the module's own (`STATE: IP STATUS`); the simulator keeps its own copy rather than
sharing the harness's `IpState`, so a typo on either side shows up as a failing test.
"""

from __future__ import annotations

from enum import StrEnum


class IpState(StrEnum):
    IP_INITIAL = "IP INITIAL"
    IP_START = "IP START"
    IP_CONFIG = "IP CONFIG"
    IP_IND = "IP IND"
    IP_GPRSACT = "IP GPRSACT"
    IP_STATUS = "IP STATUS"
    TCP_CONNECTING = "TCP CONNECTING"
    UDP_CONNECTING = "UDP CONNECTING"
    CONNECT_OK = "CONNECT OK"
    IP_CLOSE = "IP CLOSE"
    PDP_DEACT = "PDP DEACT"


#: AT+QIOPEN is accepted only here (the seeds, chapter 3, error A.2).
OPEN_ALLOWED = frozenset({IpState.IP_INITIAL, IpState.IP_STATUS, IpState.IP_CLOSE})

#: A context is up: QILOCIP answers, QIDNSGIP may resolve.
CONTEXT_UP = frozenset(
    {
        IpState.IP_GPRSACT,
        IpState.IP_STATUS,
        IpState.TCP_CONNECTING,
        IpState.UDP_CONNECTING,
        IpState.CONNECT_OK,
        IpState.IP_CLOSE,
    }
)

#: A single-connection session exists (QICLOSE has something to close).
SESSION_STATES = frozenset({IpState.TCP_CONNECTING, IpState.UDP_CONNECTING, IpState.CONNECT_OK})

#: Per-link words of AT+QISTATE (OT parser).
LINK_WORDS = {"CONNECTING": "CONNECTING", "CONNECTED": "CONNECTED", "CLOSED": "CLOSE"}
