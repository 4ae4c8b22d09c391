"""Power states and the boot: power-on, the start-up URCs and network registration as planned at
power-on, NORMAL POWER DOWN, and power-off, which forgets everything volatile (PROTOCOL §2, §3,
§14)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.sim.profile import Profile

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware

#: PWR-BACKOFF mutation: boots closer together than this (module seconds) count as "at once".
BACKOFF_WINDOW = 600.0


@dataclass(frozen=True)
class BootPlan:
    """When, in module seconds after power-on, each start-up event happens."""

    uart_ready: float
    sim_ready: float
    call_ready: float
    creg: float
    cgreg: float
    no_sim: bool
    denied: bool


def cpin_text(p: Profile, code: str) -> str:
    return f"+CPIN: {code}" if p.cpin_space else f"+CPIN:{code}"


def cell_suffix(p: Profile, stat: int) -> str:
    """The `,"<lac>","<ci>"` of +CREG/+CGREG with <n>=2, present while registered."""
    return f',"{p.lac}","{p.ci}"' if stat in (1, 5) else ""


class Boot:
    """Switches the firmware on and off (runs on the module's loop)."""

    def __init__(self, fw: Firmware) -> None:
        self.fw = fw

    def power_on(self) -> bool:
        """Boot now (PWRKEY press reached, or power_on_now); False if already on."""
        fw = self.fw
        if fw.powered:
            return False
        now = fw.clock.now()
        boots = fw.boots
        wedge = (
            fw.mutated.reboot_too_soon_wedges
            and len(boots) >= 2
            and now - boots[-1] < BACKOFF_WINDOW
            and boots[-1] - boots[-2] < BACKOFF_WINDOW
        )
        boots.append(now)
        fw.boot_count += 1
        fw.powered = True
        fw.powering_down = False
        fw.reset_volatile()
        silent = fw.faults.active("silent")
        fw.v.silent = wedge or (silent is not None and silent.persistent)
        fw.status_pin(True)
        plan = self._plan()
        fw.spawn(self._boot(plan), "boot")
        fw.spawn(self._register(plan), "register")
        return True

    def power_off(self) -> None:
        """Off at once: no URC, every session forgotten (the peer sees nothing)."""
        fw = self.fw
        if not fw.powered:
            return
        fw.powered = False
        fw.powering_down = False
        fw.cancel_tasks()
        for session in fw.sessions.values():
            sock = session.abandon()
            if sock is not None:
                fw.orphans.append(sock)
        fw.reset_volatile()
        fw.status_pin(False)

    def normal_power_down(self, logout: float) -> None:
        """PWRKEY off pulse or AT+QPOWD=1: NORMAL POWER DOWN, then off."""
        fw = self.fw
        if not fw.powered or fw.powering_down:
            return
        fw.powering_down = True
        fw.spawn(self._power_down(logout), "power-down")

    def _power_down(self, logout: float) -> Generator[Any, None, None]:
        yield logout
        self.fw.out.urc("NORMAL POWER DOWN")
        self.fw.v.shutting_down = True
        self.fw.loop.post(self.power_off)

    def _plan(self) -> BootPlan:
        fw = self.fw
        ready = fw.lat("lat_uart_ready")
        sim = max(ready, fw.lat("lat_sim_ready"))
        busy = fw.faults.take("sim_busy")
        if busy is not None:
            sim = max(sim, busy.num("seconds"))
        if fw.mutated.cpin_ready_after_12s:
            sim = max(sim, 12.0)
        call = max(sim, fw.lat("lat_call_ready"))
        creg = max(sim, fw.lat("lat_creg"))
        slow = fw.faults.take("reg_slow")
        if slow is not None:
            creg = max(creg, slow.num("seconds"))
        if fw.mutated.creg_after_40s:
            creg = max(creg, 40.0)
        cgreg = creg + fw.lat("lat_cgreg")
        if fw.mutated.cgreg_after_40s:
            cgreg = max(cgreg, 40.0)
        no_sim = fw.faults.take("no_sim") is not None
        denied = fw.faults.take("reg_denied") is not None
        return BootPlan(ready, sim, call, creg, cgreg, no_sim, denied)

    def _boot(self, plan: BootPlan) -> Generator[Any, None, None]:
        fw = self.fw
        out, v = fw.out, fw.v
        yield plan.uart_ready
        v.uart_ready = True
        if fw.spots is not None:
            out.emit(fw.spots.garbage())
        for text in fw.p.boot_urcs:
            out.urc(text)
        yield plan.sim_ready - plan.uart_ready
        v.cpin_reported = True
        if plan.no_sim:
            v.sim = "absent"
            out.urc(fw.p.no_sim_urc)
            return
        v.sim = "ready"
        v.inistat = 1
        out.urc(cpin_text(fw.p, "READY"))
        yield (plan.call_ready - plan.sim_ready) / 2
        v.inistat = 2
        yield (plan.call_ready - plan.sim_ready) / 2
        v.inistat = 3
        out.urc("Call Ready")
        fw.said["call_ready"] = v.qiurc
        if fw.p.sms_ready:
            out.urc("SMS Ready")

    def _register(self, plan: BootPlan) -> Generator[Any, None, None]:
        fw = self.fw
        yield plan.sim_ready
        if plan.no_sim:
            return
        self.set_reg("creg", 2)
        self.set_reg("cgreg", 2)
        if plan.denied:
            yield max(0.0, plan.creg - plan.sim_ready)
            self.set_reg("creg", 3)
            self.set_reg("cgreg", 3)
            return
        yield max(0.0, plan.creg - plan.sim_ready)
        self.set_reg("creg", fw.p.creg_registered)
        yield plan.cgreg - plan.creg
        self.set_reg("cgreg", fw.p.creg_registered)
        if fw.faults.take("cgatt_fail") is None:
            fw.v.cgatt = True

    # -- registration ---------------------------------------------------------------------------
    def set_reg(self, which: str, stat: int) -> None:
        """Set +CREG/+CGREG <stat> and print the URC the host asked for with <n>."""
        fw = self.fw
        setattr(fw.v, f"{which}_stat", stat)
        text = self.reg_urc(which)
        if text is not None:
            fw.out.urc(text)
            fw.said[which] = stat
        else:
            fw.said.pop(which, None)

    def reg_urc(self, which: str) -> str | None:
        """The +CREG/+CGREG URC for the <stat> now, as <n> asks (None: n=0, no URC)."""
        v = self.fw.v
        stat = getattr(v, f"{which}_stat")
        n = getattr(v, f"{which}_n")
        name = "+CREG" if which == "creg" else "+CGREG"
        if n == 1:
            return f"{name}: {stat}"
        if n == 2:
            return f"{name}: {stat}" + cell_suffix(self.fw.p, stat)
        return None
