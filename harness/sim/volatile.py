"""Everything a power-off forgets: line settings not stored with AT&W, SIM and network state,
the TCP/IP configuration and the QISTAT state (PROTOCOL §1–§4)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.sim.ipstack import IpState


@dataclass
class Volatile:
    # line (E, V, CMEE, QIURC and IPR start from what AT&W stored)
    echo: bool = True
    verbose: bool = True
    cmee: int = 1
    qiurc: int = 1
    qisde: bool = True  # AT+QISDE: QISEND payload echoed (while echo is on)
    ipr: int = 0
    rate: int | None = None  # the rate the module speaks now; None: autobaud not yet locked
    uart_ready: bool = False
    silent: bool = False
    shutting_down: bool = False  # after NORMAL POWER DOWN: no more commands
    # SIM and network
    sim: str = "starting"  # starting (busy), ready, absent
    cpin_reported: bool = False  # the +CPIN URC went out (AT+CFUN=4 waits for it)
    inistat: int = 0
    cfun: int = 1
    creg_n: int = 0
    cgreg_n: int = 0
    creg_stat: int = 0
    cgreg_stat: int = 0
    cgatt: bool = False
    # TCP/IP configuration
    fgcnt: int = 0
    csgp_mode: int = 1
    apn: str = "CMNET"
    user: str = ""
    password: str = ""
    dnsip: int = 0
    indi: int = 0
    head: int = 0
    showra: int = 0
    showpt: int = 0
    qimode: int = 0
    tcfg: tuple[int, int, int, int] = (3, 2, 512, 1)
    mux: int = 0
    srvc: int = 1
    ip_state: IpState = IpState.IP_INITIAL
    local_ip: str = ""
    qiact_failed: bool = False  # AT+QIACT failed in this power cycle
