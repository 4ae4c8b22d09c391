"""The module's command table: every AT command name the simulated firmware knows."""

from __future__ import annotations

from harness.sim import commands_basic, commands_ip, commands_link, payload, transparent
from harness.sim.firmware import Handler


def table() -> dict[str, Handler]:
    """Name (`+QIOPEN`, `E`, `&W`) → handler; anything else answers ERROR."""
    out: dict[str, Handler] = {}
    out.update(commands_basic.COMMANDS)
    out.update(commands_ip.COMMANDS)
    out.update(commands_link.COMMANDS)
    out["+QISEND"] = payload.qisend
    out["+QISDE"] = payload.qisde
    out["O"] = transparent.ato
    return out
