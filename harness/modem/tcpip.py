"""The TCP/IP stack's commands: context (QIFGCNT, QICSGP, QIREGAPP, QIACT, QILOCIP, QIDEACT,
QISTAT) and session (QIOPEN, QISEND, QISACK, QIRD, QICLOSE).

Refusals the document reacts to (PDP-ACT-RETRY, PDP-DEACT, OPEN-*, SEND-*, CLOSE) come back as
values: a `Result` whose `code` is a `ResultCode`, an `OpenResult`, a `SendResult`.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from harness import limits
from harness.at import ATError, ATTimeout
from harness.commands import registry as c
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
)


class TcpipCommands(ModemBase):
    """The AT+QI… commands of the document, each returning a typed value."""

    # -- context ------------------------------------------------------------------------------
    def qifgcnt(self, ctx: int = 0) -> Result:
        """`AT+QIFGCNT=<ctx>`: the foreground context the following commands act on."""
        result = self._result(c.QIFGCNT, f"={int(ctx)}")
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
        return self._result(c.QICSGP, f'=1,"{apn}"{extra}')

    def qiregapp(self) -> Result:
        """`AT+QIREGAPP`: IP INITIAL → IP START (PDP-ACT); ERROR is returned, not raised."""
        return self._result(c.QIREGAPP)

    def qiact(self) -> Result:
        """`AT+QIACT` (PDP-ACT, its limit); ERROR is returned: PDP-ACT-RETRY counts it."""
        return self._result(c.QIACT)

    def qilocip(self) -> IPv4Address:
        """`AT+QILOCIP` → the local address, which is the final (no OK, PROTOCOL.md §4)."""
        return self._ask(c.QILOCIP)

    def qideact(self) -> Result:
        """`AT+QIDEACT` → `DEACT OK` (PDP-DEACT, its limit); ERROR is returned."""
        return self._result(c.QIDEACT)

    def qistat(self) -> IpState:
        """`AT+QISTAT` (QIMUX=0): `OK`, then `STATE: <state>` (PROTOCOL.md §10)."""
        if self.channel.mux:
            raise ValueError(
                "qistat() reads the single-connection form; with AT+QIMUX=1 the module lists "
                "links instead (set AT+QIMUX=0 first)"
            )
        return self._ask(c.QISTAT)

    # -- sessions -----------------------------------------------------------------------------
    def qiopen(
        self, proto: str, host: str, port: int | str, timeout: float | None = None
    ) -> OpenResult:
        """`AT+QIOPEN="<proto>","<host>","<port>"`, waiting for both stages (OPEN-TCP/UDP).

        CONNECT FAIL, ALREADY CONNECT and ERROR are outcomes, never raised; no final within
        `timeout` (default the QIOPEN limit) gives `timed_out=True` (OPEN-RETRY).
        """
        proto = str(proto).upper()
        try:
            reply = self._send(c.QIOPEN, f'="{proto}","{host}","{port}"', timeout)
        except ATTimeout as e:
            partial = e.reply
            if partial is None:
                raise
            first_ok = any(s.text == ResultCode.OK for s in partial.stages)
            return OpenResult(partial, None, first_ok, partial.elapsed, timed_out=True)
        outcome = self._parse(c.QIOPEN, reply)
        first_ok = any(s.text == ResultCode.OK for s in reply.stages[:-1])
        elapsed = reply.stages[-1].elapsed if reply.stages else reply.elapsed
        result = OpenResult(reply, outcome, first_ok, elapsed)
        if result.connected:
            ok_at = next((s.elapsed for s in reply.stages if s.text == ResultCode.OK), None)
            when = f"OK after {ok_at:.3f} s" if ok_at is not None else "no OK stage"
            limit = _relabel(c.QIOPEN.limit, "OPEN-UDP" if proto == "UDP" else "OPEN-TCP")
            self.note(limit.check(elapsed, f"AT+QIOPEN {proto} → {outcome}", note=when))
        return result

    def qisend(self, data: bytes, fixed: bool = False) -> SendResult:
        """`AT+QISEND` + Ctrl+Z (SEND-VAR), or `AT+QISEND=<n>` with `fixed` (SEND-FIXED)."""
        reply = self.channel.send_data(bytes(data), fixed=fixed)
        outcome = self._parse(c.QISEND, reply)
        return SendResult(reply, outcome, len(data) if outcome is ResultCode.SEND_OK else 0)

    def qisack(self) -> Ack:
        """`AT+QISACK` → Ack(sent, acked, nacked) (SEND-ACK)."""
        return self._ask(c.QISACK)

    def qird(self, max_len: int = limits.QIRD_MAX) -> QirdResult:
        """`AT+QIRD=<ctx>,1,0,<max_len>` → the buffered data (RECV-QIRD); ERROR = closed."""
        reply = self._send(c.QIRD, f"={self.context},1,0,{int(max_len)}")
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
        """`AT+QICLOSE` → `CLOSE OK` (CLOSE, its limit); ERROR is returned."""
        return self._result(c.QICLOSE)


def _relabel(limit: Limit, clause: str) -> Limit:
    """The same documented number cited by another clause (QIOPEN's limit, cited by OPEN-UDP)."""
    if limit.clause == clause:
        return limit
    return Limit(limit.name, limit.seconds, clause, limit.typical, limit.action, limit.source)
