"""TCP/IP configuration and context commands: QIFGCNT, QICSGP, QIREGAPP, QIACT, QILOCIP, QIDEACT,
QIDNSIP, QIDNSGIP, the receive-format flags, QIMODE, QITCFG, QIMUX, QISRVC, QISTAT, QISTATE
(PROTOCOL §1, §4, §10, §12)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from harness.sim.cmdline import Command
from harness.sim.ipstack import CONTEXT_UP, LINK_WORDS, IpState
from harness.sim.net import apn_known

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware, Handler

Result = Generator[Any, None, str | None]
MAX_LINKS = 6  # QIMUX=1 links 0..5


def flag(
    attr: str,
    name: str,
    values: tuple[int, ...] = (0, 1),
    initial_only: str | None = None,
) -> Handler:
    """A `+NAME=<n>` setting with read and test forms; `initial_only` names the Profile switch
    that allows setting it only in IP INITIAL."""

    def handler(fw: Firmware, cmd: Command) -> str:
        if cmd.kind == "read":
            fw.out.info(f"{name}: {getattr(fw.v, attr)}")
            return "OK"
        if cmd.kind == "test":
            fw.out.info(f"{name}: ({','.join(str(x) for x in values)})")
            return "OK"
        if cmd.kind != "set" or len(cmd.args) != 1 or not cmd.args[0].text.isdigit():
            return "ERROR"
        value = int(cmd.args[0].text)
        if value not in values:
            return "ERROR"
        if initial_only and getattr(fw.p, initial_only) and fw.v.ip_state != IpState.IP_INITIAL:
            return "ERROR"  # PROTOCOL §1 [U]: only in IP INITIAL
        setattr(fw.v, attr, value)
        return "OK"

    return handler


def qimux(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "set" and cmd.texts() == ["1"] and fw.v.qimode:
        return "ERROR"  # transparent mode needs single connection
    return flag("mux", "+QIMUX", initial_only="qimux_initial_only")(fw, cmd)


def qimode(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "set" and cmd.texts() == ["1"] and fw.v.mux:
        return "ERROR"
    return flag("qimode", "+QIMODE", initial_only="qimode_initial_only")(fw, cmd)


def qifgcnt(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "read":
        fw.out.info(f"+QIFGCNT: {fw.v.fgcnt},0")
        return "OK"
    if cmd.kind == "set" and fw.mutated.qifgcnt_error:
        return "ERROR"
    return flag("fgcnt", "+QIFGCNT")(fw, cmd)


def qicsgp(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "read":
        fw.out.info(f"+QICSGP: {fw.v.csgp_mode}")
        return "OK"
    if cmd.kind == "test":
        fw.out.info('+QICSGP: (0,1),"APN","USER","PWD"')
        return "OK"
    if cmd.kind != "set" or not 1 <= len(cmd.args) <= 4 or fw.mutated.qicsgp_error:
        return "ERROR"
    mode = cmd.args[0]
    if mode.quoted or mode.text not in ("0", "1") or any(not a.quoted for a in cmd.args[1:]):
        return "ERROR"
    texts = [*cmd.texts(), "", "", ""]
    fw.v.csgp_mode = int(mode.text)
    if len(cmd.args) > 1:
        fw.v.apn, fw.v.user, fw.v.password = texts[1], texts[2], texts[3]
    return "OK"


def qiregapp(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "read":
        fw.out.info(f'+QIREGAPP: "{fw.v.apn}","{fw.v.user}","{fw.v.password}"')
        return "OK"
    if cmd.kind == "test":
        return "OK"
    if cmd.kind == "set" and (len(cmd.args) > 3 or any(not a.quoted for a in cmd.args)):
        return "ERROR"
    state = fw.v.ip_state
    if state != IpState.IP_INITIAL and (fw.p.qiregapp_initial_only or state != IpState.IP_START):
        return "ERROR"  # PROTOCOL §1 [U]: only in IP INITIAL
    if cmd.kind == "set":
        texts = [*cmd.texts(), "", "", ""]
        fw.v.apn, fw.v.user, fw.v.password = texts[0], texts[1], texts[2]
    yield fw.lat("lat_qiregapp")
    fw.set_state(IpState.IP_START)
    return "OK"


def activation_fails(fw: Firmware) -> bool:
    """Does this AT+QIACT (or QIOPEN's own activation) fail? Uses up a one-shot fault."""
    failed = fw.faults.take("qiact_fail") is not None
    failed = failed or (fw.mutated.qiact_retry_needs_reboot and fw.v.qiact_failed)
    failed = failed or (fw.mutated.qiact_fault_survives_reboot and fw.qiact_ever_failed)
    failed = failed or not fw.v.cgatt or fw.v.csgp_mode != 1 or not apn_known(fw.v.apn)
    if failed:
        fw.v.qiact_failed = True
        fw.qiact_ever_failed = True
    return failed


def qiact(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "test":
        return "OK"
    if cmd.kind != "exec" or fw.v.ip_state != IpState.IP_START:
        return "ERROR"
    fw.set_state(IpState.IP_CONFIG)
    if fw.faults.take("qiact_hang") is not None:
        while True:
            yield 3600.0  # no answer, ever: only EMERG_OFF or a power cycle helps
    total = 200.0 if fw.mutated.qiact_200s else fw.lat("lat_qiact")
    yield total / 2
    fw.set_state(IpState.IP_IND)
    yield total / 2
    if activation_fails(fw):
        fw.set_state(IpState(fw.p.qiact_fail_state))
        return "ERROR"
    fw.v.local_ip = fw.p.local_ip or _local_ip(fw)
    fw.set_state(IpState.IP_GPRSACT)
    return "OK"


def _local_ip(fw: Firmware) -> str:
    return f"10.{fw.rng.randrange(1, 255)}.{fw.rng.randrange(0, 255)}.{fw.rng.randrange(1, 255)}"


def qilocip(fw: Firmware, cmd: Command) -> str | None:
    if cmd.kind == "test":
        return "OK"
    if cmd.kind != "exec":
        return "ERROR"
    if fw.v.ip_state not in CONTEXT_UP:
        return fw.p.qilocip_no_context
    fw.out.info(fw.v.local_ip)  # PROTOCOL §4: the address alone, no OK
    if fw.v.ip_state == IpState.IP_GPRSACT:
        fw.set_state(IpState.IP_STATUS)
    return "OK" if fw.mutated.qilocip_with_ok else None


def qideact(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "test":
        return "OK"
    if cmd.kind != "exec":
        return "ERROR"
    if fw.mutated.qideact_refused_while_connecting and fw.v.ip_state in (
        IpState.TCP_CONNECTING,
        IpState.UDP_CONNECTING,
    ):
        return "ERROR"
    if fw.faults.take("qideact_hang") is not None:
        while True:
            yield 3600.0
    slow = fw.faults.take("qideact_slow")
    if fw.mutated.qideact_100s:
        yield 100.0
    elif slow is not None:
        yield slow.num("seconds")
    else:
        yield fw.lat("lat_qideact")
    if not fw.mutated.qideact_keeps_context:
        fw.drop_sessions(graceful=True)
        fw.set_state(IpState.IP_INITIAL)
        fw.v.local_ip = ""
    fw.out.final("OK" if fw.mutated.deact_ok_as_ok else "DEACT OK")
    return None


def qidnsgip(fw: Firmware, cmd: Command) -> str | None:
    if cmd.kind == "test":
        return "OK"
    if cmd.kind != "set" or len(cmd.args) != 1 or not cmd.args[0].quoted:
        return "ERROR"
    if fw.v.ip_state not in CONTEXT_UP:
        return "ERROR"
    name = cmd.args[0].text
    fw.out.final("OK")
    fw.spawn(_resolve_later(fw, name), "qidnsgip")
    return None


def _resolve_later(fw: Firmware, name: str) -> Generator[Any, None, None]:
    yield fw.lat("lat_dns")
    ip = fw.resolver.lookup(name)
    fw.out.urc(ip if ip is not None else fw.p.dnsgip_fail_reply)


def qitcfg(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "read":
        fw.out.info("+QITCFG: " + ",".join(str(x) for x in fw.v.tcfg))
        return "OK"
    if cmd.kind == "test":
        fw.out.info("+QITCFG: " + ",".join(f"({lo}-{hi})" for lo, hi in fw.p.tcfg_ranges))
        return "OK"
    if cmd.kind != "set" or len(cmd.args) != 4:
        return "ERROR"
    values = cmd.ints()
    if any(not lo <= x <= hi for x, (lo, hi) in zip(values, fw.p.tcfg_ranges, strict=True)):
        return "ERROR"
    fw.v.tcfg = (values[0], values[1], values[2], values[3])
    return "OK"


def qistat(fw: Firmware, cmd: Command) -> str | None:
    if cmd.kind == "test":
        return "OK"
    if cmd.kind != "exec":
        return "ERROR"
    if fw.v.mux:
        for link in range(MAX_LINKS):
            fw.out.info(_mux_line(fw, link))
        return "OK"
    fw.out.final("OK")  # PROTOCOL §10: OK first, the state after it, no trailing OK
    fw.out.info(state_line(fw))
    return None


def state_line(fw: Firmware) -> str:
    state = fw.v.ip_state
    if not fw.v.verbose and state in fw.p.qistat_v0_codes:
        return str(fw.p.qistat_v0_codes.index(state))
    return f"STATE: {state}"


def _mux_line(fw: Firmware, link: int) -> str:
    session = fw.sessions.get(link)
    proto = session.proto if session else ""
    ip = session.route.ip if session else ""
    port = str(session.route.port) if session else ""
    if fw.p.qistat_mux_form == "spaced":
        return f'+QISTAT: {link}, "{proto}", "{ip}"'
    return f'+QISTAT: {link},"{proto}","{ip}","{port}"'


def qistate(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "test":
        return "OK"
    if cmd.kind != "exec":
        return "ERROR"
    fw.out.final("OK")
    fw.out.info(state_line(fw))
    links = range(MAX_LINKS) if fw.v.mux else range(1)
    for link in links:
        session = fw.sessions.get(link)
        if session is None:
            fields = {"link": link, "proto": "", "ip": "", "port": 0, "state": "INITIAL"}
        else:
            route = session.route
            word = LINK_WORDS[session.state]
            fields = {"link": link, "proto": session.proto, "ip": route.ip, "port": route.port}
            fields["state"] = word
        fw.out.info(fw.p.qistate_line.format(**fields))
    return "OK"


COMMANDS: dict[str, Handler] = {
    "+QIFGCNT": qifgcnt,
    "+QICSGP": qicsgp,
    "+QIREGAPP": qiregapp,
    "+QIACT": qiact,
    "+QILOCIP": qilocip,
    "+QIDEACT": qideact,
    "+QIDNSIP": flag("dnsip", "+QIDNSIP"),
    "+QIDNSGIP": qidnsgip,
    "+QINDI": flag("indi", "+QINDI", (0, 1, 2)),
    "+QIHEAD": flag("head", "+QIHEAD"),
    "+QISHOWRA": flag("showra", "+QISHOWRA"),
    "+QISHOWPT": flag("showpt", "+QISHOWPT"),
    "+QIMODE": qimode,
    "+QITCFG": qitcfg,
    "+QIMUX": qimux,
    "+QISRVC": flag("srvc", "+QISRVC", (1, 2)),
    "+QISTAT": qistat,
    "+QISTATE": qistate,
}
