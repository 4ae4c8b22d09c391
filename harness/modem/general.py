"""The general commands: echo, errors, rate, identity, SIM, registration, attach, signal, and
the chapter 2 options (QIMUX, QIMODE, QIDNSIP, QINDI, QIHEAD, QISHOWRA, QISHOWPT, QITCFG).

A refusal of any of them raises `ATError`: the document gives none of them a reaction.
"""

from __future__ import annotations

import re

from harness import limits
from harness.modem.base import ModemBase
from harness.modem.identity import Identity, identify
from harness.modem.results import Registration, Result

_INTS = re.compile(r"-?\d+")
_REG = re.compile(
    r'^\+C?G?REG:\s*(\d+)\s*,\s*(\d+)(?:\s*,\s*"?([0-9A-Fa-f]*)"?\s*,\s*"?([0-9A-Fa-f]*)"?)?'
)


class GeneralCommands(ModemBase):
    """Commands outside the TCP/IP stack, each returning a typed value."""

    # -- basic --------------------------------------------------------------------------------
    def at(self) -> Result:
        """`AT` → OK."""
        return self._done("AT")

    def ate(self, on: bool) -> Result:
        """`ATE1` / `ATE0`: echo on or off."""
        return self._done("ATE1" if on else "ATE0")

    def cmee(self, n: int) -> Result:
        """`AT+CMEE=<n>`: 0 plain ERROR, 1 numeric `+CME ERROR: <n>`, 2 verbose."""
        return self._done(f"AT+CMEE={int(n)}")

    def ipr(self, rate: int, store: bool = True) -> Result:
        """`AT+IPR=<rate>&W` (INIT-IPR); the host port follows the module to the new rate."""
        result = self._done(f"AT+IPR={int(rate)}{'&W' if store else ''}")
        transport = self.channel.transport
        if rate and transport.baudrate != rate:
            transport.baudrate = int(rate)  # the OK came at the old rate; the next byte is new
        return result

    def identify(self) -> Identity:
        """Model, revision, firmware, IMEI, ICCID (ATI, AT+CGMM, AT+GMR, AT+QGMR, …)."""
        return identify(self.channel)

    def qpowd(self) -> Result:
        """`AT+QPOWD=1` → `NORMAL POWER DOWN`; no command is accepted after it."""
        return self._done("AT+QPOWD=1")

    # -- SIM and network ----------------------------------------------------------------------
    def cpin(self) -> str:
        """`AT+CPIN?` → "READY", "SIM PIN", …; `+CME ERROR: 14` (SIM busy) raises ATError."""
        reply = self._ask("AT+CPIN?")
        return self._line(reply, "+CPIN:", "INIT-CPIN")

    def qinistat(self) -> int:
        """`AT+QINISTAT` → the SIM initialisation counter (3 = ready on M95/MC60)."""
        reply = self._ask("AT+QINISTAT")
        return self._int(reply, self._line(reply, "+QINISTAT:", "INIT-CPIN"), "INIT-CPIN")

    def creg(self) -> Registration:
        """`AT+CREG?` → Registration (INIT-CREG)."""
        return self._registration("+CREG", "INIT-CREG")

    def cgreg(self) -> Registration:
        """`AT+CGREG?` → Registration (INIT-CGREG)."""
        return self._registration("+CGREG", "INIT-CGREG")

    def _registration(self, name: str, clause: str) -> Registration:
        reply = self._ask(f"AT{name}?")
        for line in reply.lines:
            if line.startswith(f"{name}:"):
                m = _REG.match(line)
                if m is None:
                    break
                n, stat, lac, ci = m.groups()
                return Registration(int(n), int(stat), lac or None, ci or None)
        raise self._deviation(
            reply, reply.lines or reply.final, f"{name}: <n>,<stat>[,<lac>,<ci>] then OK", clause
        )

    def cgatt(self) -> int:
        """`AT+CGATT?` → 1 attached, 0 detached (INIT-CGATT, Chinese edition)."""
        reply = self._ask("AT+CGATT?")
        return self._int(reply, self._line(reply, "+CGATT:", "INIT-CGATT"), "INIT-CGATT")

    def csq(self) -> tuple[int, int]:
        """`AT+CSQ` → (rssi, ber)."""
        reply = self._ask("AT+CSQ")
        text = self._line(reply, "+CSQ:", "ORDER")
        numbers = _INTS.findall(text)
        if len(numbers) != 2:
            raise self._deviation(reply, text, "+CSQ: <rssi>,<ber>", "ORDER")
        return int(numbers[0]), int(numbers[1])

    # -- options ------------------------------------------------------------------------------
    def qimux(self, on: bool | None = None) -> bool:
        """`AT+QIMUX?` (on=None) → the setting; `AT+QIMUX=<0|1>` → the setting made."""
        if on is not None:
            self._ask(f"AT+QIMUX={int(bool(on))}")
            return bool(on)
        reply = self._ask("AT+QIMUX?")
        return self._int(reply, self._line(reply, "+QIMUX:", "OPEN-ERR-MUX"), "OPEN-ERR-MUX") == 1

    def qimode(self, n: int) -> Result:
        """`AT+QIMODE=<n>`: 1 transparent, 0 not (OPT-MODE)."""
        return self._done(f"AT+QIMODE={int(n)}")

    def qidnsip(self, n: int) -> Result:
        """`AT+QIDNSIP=<n>`: 1 = QIOPEN takes a domain name (OPT-DNSIP)."""
        return self._done(f"AT+QIDNSIP={int(n)}")

    def qindi(self, n: int) -> Result:
        """`AT+QINDI=<n>`: 1 = announce data with +QIRDI, fetch with AT+QIRD (OPT-INDI)."""
        return self._done(f"AT+QINDI={int(n)}")

    def qihead(self, n: int) -> Result:
        """`AT+QIHEAD=<n>`: 1 = `IPD<len>:` before received data (OPT-HEAD)."""
        return self._done(f"AT+QIHEAD={int(n)}")

    def qishowra(self, n: int) -> Result:
        """`AT+QISHOWRA=<n>`: 1 = a `RECV FROM:<ip>:<port>` line first (OPT-SHOWRA)."""
        return self._done(f"AT+QISHOWRA={int(n)}")

    def qishowpt(self, n: int) -> Result:
        """`AT+QISHOWPT=<n>`: 1 = the protocol in the header, `IPD36TCP:` (OPT-SHOWPT)."""
        return self._done(f"AT+QISHOWPT={int(n)}")

    def qitcfg(
        self,
        count: int = limits.TCFG[0],
        wait: int = limits.TCFG[1],
        size: int = limits.TCFG[2],
        escape: int = limits.TCFG[3],
    ) -> Result:
        """`AT+QITCFG=<NmRetry>,<WaitTm>,<SendSz>,<esc>` for transparent mode (OPT-TCFG)."""
        return self._done(f"AT+QITCFG={int(count)},{int(wait)},{int(size)},{int(escape)}")
