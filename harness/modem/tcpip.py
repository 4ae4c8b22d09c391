"""The TCP/IP stack's commands: context (QIFGCNT, QICSGP, QIREGAPP, QIACT, QILOCIP, QIDEACT,
QISTAT) and session (QIOPEN, QISEND, QISACK, QIRD, QICLOSE).

Refusals the document reacts to (PDP-ACT-RETRY, PDP-DEACT, OPEN-*, SEND-*, CLOSE) come back as
values: a `Result` whose `code` is a `ResultCode`, an `OpenResult`, a `SendResult`.
"""

from __future__ import annotations

import re

from harness import limits
from harness.at import ATError, ATTimeout
from harness.limits import Limit
from harness.modem.base import ModemBase
from harness.modem.results import (
    Ack,
    CommandArgumentError,
    IpState,
    OpenResult,
    QirdResult,
    Result,
    ResultCode,
    SendResult,
    ip_state,
    result_code,
)

_SACK = re.compile(r"^\+QISACK:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


class TcpipCommands(ModemBase):
    """The AT+QI… commands of the document, each returning a typed value."""

    # -- context ------------------------------------------------------------------------------
    def qifgcnt(self, ctx: int = 0) -> Result:
        """`AT+QIFGCNT=<ctx>`: the foreground context the following commands act on."""
        result = self._done(f"AT+QIFGCNT={int(ctx)}")
        self.context = int(ctx)
        return result

    def qicsgp(self, apn: str, user: str = "", password: str = "") -> Result:
        """`AT+QICSGP=1,"<apn>"[,"<user>","<password>"]`: GPRS bearer and APN (INIT-APN)."""
        for what, value in (("APN", apn), ("user", user), ("password", password)):
            if '"' in value or not value.isascii() or "\r" in value:
                raise CommandArgumentError(
                    f"the {what} cannot be sent in AT+QICSGP: it must be ASCII "
                    "without quotes or line breaks; fix [network] in the rig file"
                )
        extra = f',"{user}","{password}"' if user or password else ""
        return self._done(f'AT+QICSGP=1,"{apn}"{extra}')

    def qiregapp(self) -> Result:
        """`AT+QIREGAPP`: IP INITIAL → IP START (PDP-ACT); ERROR is returned, not raised."""
        return self._answer("AT+QIREGAPP")

    def qiact(self) -> Result:
        """`AT+QIACT` (PDP-ACT, 180 s); ERROR is returned: PDP-ACT-RETRY counts it."""
        return self._answer("AT+QIACT")

    def qilocip(self) -> str:
        """`AT+QILOCIP` → the local address, which is the final (no OK, PROTOCOL.md §4)."""
        reply = self._ask("AT+QILOCIP")
        address = (reply.final or "").strip()
        if not _IPV4.match(address):
            raise self._deviation(reply, reply.final, "the bare local IP address", "PDP-ACT")
        return address

    def qideact(self) -> Result:
        """`AT+QIDEACT` → `DEACT OK` (PDP-DEACT, 90 s); ERROR is returned."""
        return self._answer("AT+QIDEACT")

    def qistat(self) -> IpState:
        """`AT+QISTAT` (QIMUX=0): `OK`, then `STATE: <state>` (PROTOCOL.md §10)."""
        if self.channel.mux:
            raise ValueError(
                "qistat() reads the single-connection form; with AT+QIMUX=1 the module lists "
                "links instead (set AT+QIMUX=0 first)"
            )
        reply = self._ask("AT+QISTAT")
        state = ip_state(reply.final or "")
        if state is None:
            raise self._deviation(
                reply, reply.final, "OK, then STATE: <one of PROTOCOL.md §1>", "OPEN-ERR-STATE"
            )
        return state

    # -- sessions -----------------------------------------------------------------------------
    def qiopen(
        self, proto: str, host: str, port: int | str, timeout: float | None = None
    ) -> OpenResult:
        """`AT+QIOPEN="<proto>","<host>","<port>"`, waiting for both stages (OPEN-TCP/UDP).

        CONNECT FAIL, ALREADY CONNECT and ERROR are outcomes, never raised; no final within
        `timeout` (default the QIOPEN limit) gives `timed_out=True` (OPEN-RETRY).
        """
        proto = str(proto).upper()
        seconds = limits.QIOPEN.seconds if timeout is None else float(timeout)
        cmd = f'AT+QIOPEN="{proto}","{host}","{port}"'
        try:
            reply = self.channel.command(cmd, seconds)
        except ATTimeout as e:
            partial = e.reply
            if partial is None:
                raise
            first_ok = any(s.text == "OK" for s in partial.stages)
            return OpenResult(partial, None, first_ok, partial.elapsed, timed_out=True)
        outcome = result_code(reply.final)
        first_ok = any(s.text == "OK" for s in reply.stages[:-1])
        elapsed = reply.stages[-1].elapsed if reply.stages else reply.elapsed
        result = OpenResult(reply, outcome, first_ok, elapsed)
        if result.connected:
            ok_at = next((s.elapsed for s in reply.stages if s.text == "OK"), None)
            when = f"OK after {ok_at:.3f} s" if ok_at is not None else "no OK stage"
            limit = _relabel(limits.QIOPEN, "OPEN-UDP" if proto == "UDP" else "OPEN-TCP")
            self.note(limit.check(elapsed, f"AT+QIOPEN {proto} → {outcome}", note=when))
        return result

    def qisend(self, data: bytes, fixed: bool = False) -> SendResult:
        """`AT+QISEND` + Ctrl+Z (SEND-VAR), or `AT+QISEND=<n>` with `fixed` (SEND-FIXED)."""
        reply = self.channel.send_data(bytes(data), fixed=fixed)
        outcome = result_code(reply.final)
        return SendResult(reply, outcome, len(data) if outcome is ResultCode.SEND_OK else 0)

    def qisack(self) -> Ack:
        """`AT+QISACK` → Ack(sent, acked, nacked) (SEND-ACK)."""
        reply = self._ask("AT+QISACK")
        text = next((ln for ln in reply.lines if ln.startswith("+QISACK:")), None)
        m = _SACK.match(text) if text is not None else None
        if m is None:
            raise self._deviation(
                reply, text or reply.lines, "+QISACK: <sent>, <acked>, <nAcked> then OK", "SEND-ACK"
            )
        ack = Ack(*(int(g) for g in m.groups()))
        if ack.acked > ack.sent or ack.nacked > ack.sent:
            raise self._deviation(
                reply, text, "acknowledged and unacknowledged are parts of the total", "SEND-ACK"
            )
        return ack

    def qird(self, max_len: int = limits.QIRD_MAX) -> QirdResult:
        """`AT+QIRD=<ctx>,1,0,<max_len>` → the buffered data (RECV-QIRD); ERROR = closed."""
        reply = self.channel.command(f"AT+QIRD={self.context},1,0,{int(max_len)}")
        if not reply.ok and reply.final != ResultCode.ERROR:  # +CME ERROR: a refusal
            raise ATError(reply)
        short = [b for b in reply.blocks if not b.complete]
        if short:
            got = f"{len(short[0].payload)} of {short[0].length} announced bytes"
            raise self._deviation(reply, got, "+QIRD: <len> then exactly <len> bytes", "RECV-QIRD")
        if len(reply.data) > max_len:
            raise self._deviation(
                reply, f"{len(reply.data)} bytes", f"at most {max_len} bytes per call", "RECV-QIRD"
            )
        return QirdResult(reply.data, list(reply.blocks), reply)

    def qiclose(self) -> Result:
        """`AT+QICLOSE` → `CLOSE OK` (CLOSE, 90 s); ERROR is returned."""
        return self._answer("AT+QICLOSE")


def _relabel(limit: Limit, clause: str) -> Limit:
    """The same documented number cited by another clause (QIOPEN's 90 s for OPEN-UDP)."""
    if limit.clause == clause:
        return limit
    return Limit(limit.name, limit.seconds, clause, limit.typical, limit.action, limit.source)
