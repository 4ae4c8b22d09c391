"""Basic and GSM commands: E, V, I, Z, &F, &W, identity, IPR, CMEE, CPIN, QINISTAT, CREG, CGREG,
CGATT, CSQ, CFUN, QPOWD, QIURC (PROTOCOL §0, §2, §3)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from harness.sim.boot import cell_suffix, cpin_text
from harness.sim.cmdline import Command
from harness.sim.ipstack import CONTEXT_UP, IpState
from harness.sim.profile import IPR_RATES
from harness.sim.settings import factory

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware, Handler

Result = Generator[Any, None, str | None]


def _one(cmd: Command, allowed: range | tuple[int, ...]) -> int | None:
    """The single numeric argument of a set command if it is allowed, else None."""
    if cmd.kind == "exec":
        return 0 if 0 in allowed else None
    if cmd.kind != "set" or len(cmd.args) != 1 or cmd.args[0].quoted:
        return None
    try:
        value = int(cmd.args[0].text)
    except ValueError:
        return None
    return value if value in allowed else None


def sim_gate(fw: Firmware) -> str | None:
    """The error a SIM-dependent command gets before the SIM is ready (boot noise, §14)."""
    if fw.v.sim == "absent":
        return fw.cme(fw.p.no_sim_error)
    if fw.v.sim != "ready":
        return fw.cme(14)
    return None


# -- V.25ter ------------------------------------------------------------------------------------
def echo(fw: Firmware, cmd: Command) -> str:
    value = _one(cmd, (0, 1))
    if value is None:
        return "ERROR"
    fw.v.echo = bool(value)
    return "OK"


def verbose(fw: Firmware, cmd: Command) -> str:
    value = _one(cmd, (0, 1))
    if value is None:
        return "ERROR"
    fw.v.verbose = bool(value)
    return "OK"


def ati(fw: Firmware, cmd: Command) -> str:
    if _one(cmd, (0,)) is None:
        return "ERROR"
    fw.out.block([fw.p.manufacturer, fw.p.model, f"Revision: {fw.p.revision}"])
    return "OK"


def atz(fw: Firmware, cmd: Command) -> str:
    """ATZ: back to what AT&W stored."""
    stored = fw.settings.values
    fw.v.echo, fw.v.verbose = bool(stored["echo"]), bool(stored["verbose"])
    fw.v.cmee, fw.v.qiurc = int(stored["cmee"]), int(stored["qiurc"])
    return "OK"


def factory_defaults(fw: Firmware, cmd: Command) -> str:
    """AT&F: factory line settings; the rate is not reset (M35MAN p.36)."""
    values = factory(fw.p)
    fw.v.echo, fw.v.verbose = bool(values["echo"]), bool(values["verbose"])
    fw.v.cmee, fw.v.qiurc = int(values["cmee"]), int(values["qiurc"])
    return "OK"


def store(fw: Firmware, cmd: Command) -> str:
    """AT&W: keep the profile's stored settings (INIT-IPR: the rate survives a reboot)."""
    keys = fw.p.stored_with_w
    if fw.mutated.ipr_not_stored:
        keys = tuple(k for k in keys if k != "ipr")
    v = fw.v
    current = {"ipr": v.ipr, "echo": v.echo, "verbose": v.verbose, "cmee": v.cmee, "qiurc": v.qiurc}
    fw.settings.store(current, keys)
    return "OK"


# -- identity -----------------------------------------------------------------------------------
def _text(value: str) -> Handler:
    def handler(fw: Firmware, cmd: Command) -> str:
        if cmd.kind == "test":
            return "OK"
        if cmd.kind != "exec":
            return "ERROR"
        fw.out.info(value)
        return "OK"

    return handler


def gmr(fw: Firmware, cmd: Command) -> str:
    revision = f"Revision: {fw.p.revision}" if fw.p.gmr_prefix else fw.p.revision
    return _text(revision)(fw, cmd)


def identity(field: str) -> Handler:
    def handler(fw: Firmware, cmd: Command) -> str:
        return _text(getattr(fw.p, field))(fw, cmd)

    return handler


def sim_identity(field: str) -> Handler:
    def handler(fw: Firmware, cmd: Command) -> str:
        gate = sim_gate(fw) if cmd.kind == "exec" else None
        return gate or _text(getattr(fw.p, field))(fw, cmd)

    return handler


# -- line rate ----------------------------------------------------------------------------------
def ipr(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "read":
        fw.out.info(f"+IPR: {fw.v.ipr}")
        return "OK"
    if cmd.kind == "test":
        fw.out.info("+IPR: (" + ",".join(str(r) for r in IPR_RATES) + ")")
        return "OK"
    rate = _one(cmd, IPR_RATES) if cmd.kind == "set" else None
    if rate is None:
        return "ERROR"
    fw.v.ipr = rate
    if rate:
        # the OK goes out at the old rate; the new one applies from the next byte (§2)
        fw.runner.after_final(lambda: setattr(fw.v, "rate", rate))
    return "OK"


def cmee(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "read":
        fw.out.info(f"+CMEE: {fw.v.cmee}")
        return "OK"
    if cmd.kind == "test":
        fw.out.info("+CMEE: (0-2)")
        return "OK"
    value = _one(cmd, range(3))
    if value is None:
        return "ERROR"
    fw.v.cmee = value
    return "OK"


# -- SIM ----------------------------------------------------------------------------------------
def cpin(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "test":
        return "OK"
    if cmd.kind not in ("read", "set"):
        return "ERROR"
    gate = sim_gate(fw)
    if gate:
        return gate
    if cmd.kind == "set":
        return fw.cme(3)  # no PIN is asked for: entering one is not allowed
    fw.out.info(cpin_text(fw.p, "READY"))
    return "OK"


def qinistat(fw: Firmware, cmd: Command) -> str:
    if cmd.kind not in ("exec", "test"):
        return "ERROR"
    if cmd.kind == "exec":
        fw.out.info(f"+QINISTAT: {fw.v.inistat}")
    return "OK"


# -- network ------------------------------------------------------------------------------------
def registration(which: str) -> Handler:
    name = "+CREG" if which == "creg" else "+CGREG"

    def handler(fw: Firmware, cmd: Command) -> str:
        if cmd.kind == "test":
            fw.out.info(f"{name}: (0-2)")
            return "OK"
        if cmd.kind == "read":
            n = getattr(fw.v, f"{which}_n")
            stat = getattr(fw.v, f"{which}_stat")
            suffix = cell_suffix(fw.p, stat) if n == 2 else ""
            fw.out.info(f"{name}: {n},{stat}{suffix}")
            return "OK"
        value = _one(cmd, range(3))
        if value is None or cmd.kind != "set":
            return "ERROR"
        setattr(fw.v, f"{which}_n", value)
        return "OK"

    return handler


def cgatt(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "test":
        fw.out.info("+CGATT: (0,1)")
        return "OK"
    if fw.mutated.cgatt_answer_200s and cmd.kind in ("read", "set"):
        yield 200.0
    if cmd.kind == "read":
        fw.out.info(f"+CGATT: {int(fw.v.cgatt)}")
        return "OK"
    value = _one(cmd, (0, 1)) if cmd.kind == "set" else None
    if value is None:
        return "ERROR"
    if value == 0:
        fw.v.cgatt = False
        if fw.v.ip_state in CONTEXT_UP or fw.v.ip_state == IpState.IP_CONFIG:
            lost_context(fw)  # ARD: +PDP DEACT, then OK
        return "OK"
    yield fw.lat("lat_cgatt")
    if fw.faults.take("cgatt_fail") is not None:
        return fw.cme(100)
    if fw.v.cgreg_stat not in (1, 5):
        return fw.cme(30)
    fw.v.cgatt = True
    return "OK"


def lost_context(fw: Firmware) -> None:
    """The network dropped the context (PDP-LOST): +PDP DEACT, sessions gone, PDP DEACT."""
    fw.drop_sessions(graceful=False)
    if not fw.mutated.pdp_deact_urc_missing:
        fw.out.urc("+PDP DEACT")
    fw.set_state(IpState.PDP_DEACT)


def csq(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "test":
        fw.out.info("+CSQ: (0-31,99),(0-7,99)")
        return "OK"
    if cmd.kind != "exec":
        return "ERROR"
    if fw.mutated.csq_70s:
        yield 70.0
    rssi, ber = fw.p.csq
    fw.out.info(f"+CSQ: {rssi},{ber}")
    return "OK"


def cfun(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "read":
        fw.out.info(f"+CFUN: {fw.v.cfun}")
        return "OK"
    if cmd.kind == "test":
        fw.out.info("+CFUN: (0,1,4),(0,1)")
        return "OK"
    if cmd.kind != "set" or not 1 <= len(cmd.args) <= 2:
        return "ERROR"
    values = cmd.ints()
    level, reset = values[0], (values[1] if len(values) > 1 else 0)
    if level not in (0, 1, 4) or reset not in (0, 1):
        return "ERROR"
    if level == 4 and fw.p.cfun4_needs_cpin and not fw.v.cpin_reported:
        return "ERROR"  # OFONO: CFUN=4 is refused until the +CPIN URC
    yield fw.lat("lat_cfun")
    if reset:

        def restart() -> None:
            fw.boot.power_off()
            fw.boot.power_on()

        fw.runner.after_final(restart)
        return "OK"
    was = fw.v.cfun
    fw.v.cfun = level
    if level != 1:
        fw.drop_sessions(graceful=False)
        fw.set_state(IpState.IP_INITIAL)
        fw.v.cgatt = False
        fw.boot.set_reg("creg", 0)
        fw.boot.set_reg("cgreg", 0)
    elif was != 1 and fw.v.sim == "ready":
        fw.spawn(_reregister(fw), "re-register")
    return "OK"


def _reregister(fw: Firmware) -> Generator[Any, None, None]:
    fw.boot.set_reg("creg", 2)
    yield fw.lat("lat_cgreg")
    fw.boot.set_reg("creg", fw.p.creg_registered)
    yield fw.lat("lat_cgreg")
    fw.boot.set_reg("cgreg", fw.p.creg_registered)
    if fw.faults.take("cgatt_fail") is None:
        fw.v.cgatt = True


def qpowd(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "test":
        fw.out.info("+QPOWD: (0,1)")
        return "OK"
    value = _one(cmd, (0, 1)) if cmd.kind == "set" else None
    if value is None:
        return "ERROR"
    if value == 0:
        fw.runner.after_final(fw.boot.power_off)  # urgent: off at once
        return "OK"
    fw.v.shutting_down = True  # "no more AT commands are accepted" (M66HD)
    fw.out.urc("NORMAL POWER DOWN")
    fw.spawn(_off_later(fw), "qpowd")
    return None
    yield


def _off_later(fw: Firmware) -> Generator[Any, None, None]:
    yield fw.lat("lat_qpowd_off")
    fw.loop.post(fw.boot.power_off)


def qiurc(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "read":
        fw.out.info(f"+QIURC: {fw.v.qiurc}")
        return "OK"
    if cmd.kind == "test":
        fw.out.info("+QIURC: (0,1)")
        return "OK"
    value = _one(cmd, (0, 1))
    if value is None or cmd.kind != "set":
        return "ERROR"
    fw.v.qiurc = value
    return "OK"


COMMANDS: dict[str, Handler] = {
    "E": echo,
    "V": verbose,
    "I": ati,
    "Z": atz,
    "&F": factory_defaults,
    "&W": store,
    "+GMR": gmr,
    "+QGMR": identity("firmware"),
    "+CGMM": identity("model"),
    "+GMM": identity("model"),
    "+CGMI": identity("manufacturer"),
    "+GMI": identity("manufacturer"),
    "+GSN": identity("imei"),
    "+CGSN": identity("imei"),
    "+QCCID": sim_identity("iccid"),
    "+CIMI": sim_identity("imsi"),
    "+IPR": ipr,
    "+CMEE": cmee,
    "+CPIN": cpin,
    "+QINISTAT": qinistat,
    "+CREG": registration("creg"),
    "+CGREG": registration("cgreg"),
    "+CGATT": cgatt,
    "+CSQ": csq,
    "+CFUN": cfun,
    "+QPOWD": qpowd,
    "+QIURC": qiurc,
}
