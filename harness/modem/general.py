"""The general commands: echo, errors, rate, identity, SIM, registration, attach, signal, and
the chapter 2 options (QIMUX, QIMODE, QIDNSIP, QINDI, QIHEAD, QISHOWRA, QISHOWPT, QITCFG).

A refusal of any of them raises `ATError`: the document gives none of them a reaction.
"""

from __future__ import annotations

from harness import limits
from harness.commands import registry as c
from harness.modem.base import ModemBase
from harness.modem.identity import Identity, identify
from harness.modem.results import Registration, Result, Signal, SimStatus


class GeneralCommands(ModemBase):
    """Commands outside the TCP/IP stack, each returning a typed value."""

    # -- basic --------------------------------------------------------------------------------
    def at(self) -> Result:
        """`AT` → OK."""
        return self._result(c.AT)

    def ate(self, on: bool) -> Result:
        """`ATE1` / `ATE0`: echo on or off."""
        return self._result(c.ATE, "1" if on else "0")

    def cmee(self, n: int) -> Result:
        """`AT+CMEE=<n>`: 0 plain ERROR, 1 numeric `+CME ERROR: <n>`, 2 verbose."""
        return self._result(c.CMEE, f"={int(n)}")

    def ipr(self, rate: int, store: bool = True) -> Result:
        """`AT+IPR=<rate>&W` (INIT-IPR); the host port follows the module to the new rate."""
        result = self._result(c.IPR, f"={int(rate)}{'&W' if store else ''}")
        transport = self.channel.transport
        if rate and transport.baudrate != rate:
            transport.baudrate = int(rate)  # the OK came at the old rate; the next byte is new
        return result

    def identify(self) -> Identity:
        """Model, revision, firmware, IMEI, ICCID (ATI, AT+CGMM, AT+GMR, AT+QGMR, …)."""
        return identify(self.channel)

    def qpowd(self) -> Result:
        """`AT+QPOWD=1` → `NORMAL POWER DOWN`; no command is accepted after it."""
        return self._result(c.QPOWD, "=1")

    # -- SIM and network ----------------------------------------------------------------------
    def cpin(self) -> SimStatus:
        """`AT+CPIN?` → SimStatus (`.ready`); `+CME ERROR: 14` (SIM busy) raises ATError."""
        return self._ask(c.CPIN, "?")

    def qinistat(self) -> int:
        """`AT+QINISTAT` → the SIM initialisation counter (3 = ready on M95/MC60)."""
        return self._ask(c.QINISTAT)

    def creg(self) -> Registration:
        """`AT+CREG?` → Registration (INIT-CREG)."""
        return self._ask(c.CREG, "?")

    def cgreg(self) -> Registration:
        """`AT+CGREG?` → Registration (INIT-CGREG)."""
        return self._ask(c.CGREG, "?")

    def cgatt(self) -> int:
        """`AT+CGATT?` → 1 attached, 0 detached (INIT-CGATT, Chinese edition)."""
        return self._ask(c.CGATT, "?")

    def csq(self) -> Signal:
        """`AT+CSQ` → Signal(rssi, ber), which unpacks as the pair."""
        return self._ask(c.CSQ)

    # -- options ------------------------------------------------------------------------------
    def qimux(self, on: bool | None = None) -> bool:
        """`AT+QIMUX?` (on=None) → the setting; `AT+QIMUX=<0|1>` → the setting made."""
        if on is not None:
            self._send(c.QIMUX, f"={int(bool(on))}")
            return bool(on)
        return self._ask(c.QIMUX, "?")

    def qimode(self, n: int) -> Result:
        """`AT+QIMODE=<n>`: 1 transparent, 0 not (OPT-MODE)."""
        return self._result(c.QIMODE, f"={int(n)}")

    def qidnsip(self, n: int) -> Result:
        """`AT+QIDNSIP=<n>`: 1 = QIOPEN takes a domain name (OPT-DNSIP)."""
        return self._result(c.QIDNSIP, f"={int(n)}")

    def qindi(self, n: int) -> Result:
        """`AT+QINDI=<n>`: 1 = announce data with +QIRDI, fetch with AT+QIRD (OPT-INDI)."""
        return self._result(c.QINDI, f"={int(n)}")

    def qihead(self, n: int) -> Result:
        """`AT+QIHEAD=<n>`: 1 = `IPD<len>:` before received data (OPT-HEAD)."""
        return self._result(c.QIHEAD, f"={int(n)}")

    def qishowra(self, n: int) -> Result:
        """`AT+QISHOWRA=<n>`: 1 = a `RECV FROM:<ip>:<port>` line first (OPT-SHOWRA)."""
        return self._result(c.QISHOWRA, f"={int(n)}")

    def qishowpt(self, n: int) -> Result:
        """`AT+QISHOWPT=<n>`: 1 = the protocol in the header, `IPD36TCP:` (OPT-SHOWPT)."""
        return self._result(c.QISHOWPT, f"={int(n)}")

    def qitcfg(
        self,
        count: int = limits.TCFG[0],
        wait: int = limits.TCFG[1],
        size: int = limits.TCFG[2],
        escape: int = limits.TCFG[3],
    ) -> Result:
        """`AT+QITCFG=<NmRetry>,<WaitTm>,<SendSz>,<esc>` for transparent mode (OPT-TCFG)."""
        return self._result(c.QITCFG, f"={int(count)},{int(wait)},{int(size)},{int(escape)}")
