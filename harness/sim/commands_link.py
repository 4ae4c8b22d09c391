"""Session commands: QIOPEN (and the connect that follows it), QICLOSE, QISACK, QIRD
(PROTOCOL §5, §7, §8, §9; the seeds, chapters 3, 4, 5, 7)."""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from harness.sim import receive
from harness.sim.cmdline import Arg, Command
from harness.sim.commands_ip import MAX_LINKS, activation_fails
from harness.sim.ipstack import OPEN_ALLOWED, IpState
from harness.sim.net import Route, is_dotted_ip
from harness.sim.session import Session
from harness.sim.transparent import Transparent

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware, Handler

Result = Generator[Any, None, str | None]
FOREVER = 3600.0  # a "never" wait is this, repeated


# -- AT+QIOPEN ----------------------------------------------------------------------------------
def qiopen(fw: Firmware, cmd: Command) -> str | None:
    if cmd.kind == "test":
        fw.out.info('+QIOPEN: ("TCP","UDP"),"IP ADDRESS/DOMAIN NAME","PORT"')
        return "OK"
    if cmd.kind != "set" or len(cmd.args) not in (3, 4):
        return "ERROR"
    mux = fw.v.mux
    args = list(cmd.args)
    if len(args) == 4:
        if not mux or not args[0].text.isdigit() or int(args[0].text) >= MAX_LINKS:
            return "ERROR"
        link = int(args.pop(0).text)
    elif mux and not fw.mutated.qiopen_mux1_accepted:
        return "ERROR"  # OPEN-ERR-MUX: the single-connection form under QIMUX=1
    else:
        link = 0
    proto, host, port = args
    if not _well_formed(fw, proto, host, port):
        if not fw.mutated.qiopen_bad_format_ok:
            return "ERROR"  # OPEN-ERR-FORMAT
        fw.out.final("OK")
        fw.spawn(_fail_later(fw, link), "qiopen-bad")
        return None
    state = fw.v.ip_state
    existing = fw.sessions.get(link)
    if existing is not None and existing.state == "CONNECTED":
        _already(fw, link)
        return None
    if not mux and state == IpState.CONNECT_OK:
        _already(fw, link)
        return None
    open_states = OPEN_ALLOWED | ({IpState.CONNECT_OK} if mux else set())
    busy = existing is not None and existing.state != "CLOSED"
    if (state not in open_states or busy) and not fw.mutated.qiopen_any_state:
        return "ERROR"  # OPEN-ERR-STATE
    if existing is not None:
        existing.close()
    fw.out.final("OK")
    route = Route(host.text, int(port.text), None)
    on_event = functools.partial(receive.on_session, fw)
    session = Session(link, proto.text.upper(), route, fw.clock, fw.loop, on_event)
    fw.sessions[link] = session
    session.task = fw.spawn(_connect(fw, session, host.text, state), f"connect-{link}")
    return None


def _well_formed(fw: Firmware, proto: Arg, host: Arg, port: Arg) -> bool:
    if proto.text.upper() not in ("TCP", "UDP") or not host.text:
        return False
    if not port.text.isdigit() or not 0 < int(port.text) < 65536:
        return False
    by_name = fw.v.dnsip and not fw.mutated.qidnsip_ignored
    return is_dotted_ip(host.text) or bool(by_name)


def _already(fw: Firmware, link: int) -> None:
    """OPEN-ALREADY: ALREADY CONNECT, then (an M95, §14) a separate ERROR."""
    if fw.mutated.ok_before_already_connect:
        fw.out.final("OK")
    index = fw.v.mux and fw.p.already_connect_index
    fw.out.final(f"{link}, ALREADY CONNECT" if index else "ALREADY CONNECT")
    if fw.p.already_connect_error:
        fw.out.final("ERROR")
    return None


def _fail_later(fw: Firmware, link: int) -> Generator[Any, None, None]:
    yield fw.lat("lat_connect_tcp")
    fw.out.urc(f"{link}, CONNECT FAIL" if fw.v.mux else "CONNECT FAIL")


def _connect(fw: Firmware, session: Session, host: str, was: IpState) -> Generator[Any, None, None]:
    if not fw.v.mux:
        fw.set_state(IpState.TCP_CONNECTING if session.proto == "TCP" else IpState.UDP_CONNECTING)
    if was == IpState.IP_INITIAL:  # QIOPEN activates the context itself
        yield fw.lat("lat_qiregapp") + fw.lat("lat_qiact")
        if activation_fails(fw):
            return _failed(fw, session, IpState(fw.p.qiact_fail_state))
        fw.v.local_ip = fw.v.local_ip or fw.p.local_ip or "10.0.0.2"
    ip = host
    if not is_dotted_ip(host):
        yield fw.lat("lat_dns")
        found = fw.resolver.lookup(host)
        if found is None:
            if fw.p.dns_fail_reply == "ERROR":
                fw.out.final("ERROR")
                return _forget(fw, session, IpState(fw.p.refused_state))
            return _failed(fw, session, IpState(fw.p.refused_state))
        ip = found
    route = fw.resolver.route(ip, session.route.port)
    if fw.faults.take("peer_unreachable") is not None:
        route = Route(route.ip, route.port, None)
    session.route = route
    hang = fw.faults.take("qiopen_hang")
    if hang is not None:
        if hang.num("seconds") <= 0:
            while True:
                yield FOREVER
        yield hang.num("seconds")
        return _timed_out(fw, session)
    if session.proto == "UDP":
        yield fw.lat("lat_connect_udp")
        if fw.mutated.udp_connect_fail:
            return _failed(fw, session, IpState(fw.p.refused_state))
        if route.target is not None:
            yield session.dial(read=False)  # UDP to loopback: only sets the destination
        return _connected(fw, session)
    if route.target is None:  # simulated unreachable: never dialled
        if fw.mutated.qiopen_never_answers:
            while True:
                yield FOREVER
        yield fw.p.qiopen_timeout
        return _timed_out(fw, session)
    yield 100.0 if fw.mutated.connect_ok_after_100s else fw.lat("lat_connect_tcp")
    dialled = session.dial(read=False)
    yield dialled
    if dialled.value != "ok":
        return _failed(fw, session, IpState(fw.p.refused_state))
    _connected(fw, session)


def _connected(fw: Firmware, session: Session) -> None:
    _report_connected(fw, session)
    # Data or a close that came with the handshake is posted only now, after CONNECT OK:
    # a module reports the connection before anything received on it (PROTOCOL §5, §8).
    session.start_reading()


def _report_connected(fw: Firmware, session: Session) -> None:
    session.state = "CONNECTED"
    session.last_activity = fw.clock.now()
    if fw.faults.active("nat_drop") is not None or fw.mutated.nat_drop_after_60s:
        receive.arm_nat(fw, session)
    if fw.v.mux:
        fw.out.urc(f"{session.link}, CONNECT OK")
        return
    fw.set_state(IpState.CONNECT_OK)
    if fw.v.qimode and not fw.mutated.qimode_ignored:
        fw.out.urc("CONNECT OK" if fw.mutated.trans_connect_ok else "CONNECT")
        fw.transparent = Transparent(fw, session)
        fw.mode = "data"
        return
    fw.out.urc("CONNECT OK")


def _failed(fw: Firmware, session: Session, state: IpState) -> None:
    fw.out.urc(f"{session.link}, CONNECT FAIL" if fw.v.mux else "CONNECT FAIL")
    _forget(fw, session, state)


def _forget(fw: Firmware, session: Session, state: IpState) -> None:
    session.close()
    if fw.sessions.get(session.link) is session:
        del fw.sessions[session.link]
    if not fw.v.mux:
        fw.set_state(state)


def _timed_out(fw: Firmware, session: Session) -> None:
    """The module's own connect timeout: CONNECT FAIL, the link stays TCP CONNECTING (OPEN-FAIL)."""
    fw.out.urc(f"{session.link}, CONNECT FAIL" if fw.v.mux else "CONNECT FAIL")


# -- AT+QICLOSE ---------------------------------------------------------------------------------
def _link_of(fw: Firmware, cmd: Command) -> int | None:
    """The link a QICLOSE/QISACK means: `=<id>` under QIMUX=1, the bare form otherwise."""
    if fw.v.mux:
        if cmd.kind != "set" or len(cmd.args) != 1 or not cmd.args[0].text.isdigit():
            return None
        link = int(cmd.args[0].text)
        return link if link < MAX_LINKS else None
    return 0 if cmd.kind == "exec" else None


def qiclose(fw: Firmware, cmd: Command) -> Result:
    if cmd.kind == "test":
        return "OK"
    link = _link_of(fw, cmd)
    session = fw.sessions.get(link) if link is not None else None
    if session is None or fw.v.srvc == 2:
        return "ERROR"
    failed_open = session.state == "CONNECTING"
    yield 100.0 if fw.mutated.qiclose_100s else fw.lat("lat_qiclose")
    if session.task is not None:
        session.task.cancel()
    session.close()
    fw.sessions.pop(session.link, None)
    if fw.transparent is not None and fw.transparent.session is session:
        fw.transparent.stop()
        fw.transparent = None
    if not fw.v.mux:
        if failed_open and fw.mutated.qiclose_after_fail_drops_context:
            fw.set_state(IpState.IP_INITIAL)
            fw.v.local_ip = ""
        else:
            fw.set_state(IpState.IP_CLOSE)
    fw.out.final(f"{session.link}, CLOSE OK" if fw.v.mux else "CLOSE OK")
    return None


# -- AT+QISACK ----------------------------------------------------------------------------------
def qisack(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "test":
        return "OK"
    link = _link_of(fw, cmd)
    if link is None:
        return "ERROR"  # TG60: without the id under QIMUX=1
    session = fw.sessions.get(link)
    sent = acked = nacked = 0
    if session is not None and session.state == "CONNECTED":
        sent = session.sent
        if session.proto == "UDP":  # "moot for UDP": which field stays 0 is [U]
            acked = 0 if fw.p.udp_qisack_zero == "middle" else sent
        else:
            nacked = session.unacked()
            if session.nat_dropped and fw.mutated.nat_drop_fake_acks:
                nacked = max(0, nacked - len(session.held))
            if fw.mutated.qisack_never_acks:
                nacked = sent
            acked = sent - nacked
    sep = fw.p.qisack_sep
    fw.out.info(f"+QISACK: {sent}{sep}{acked}{sep}{nacked}")
    return "OK"


# -- AT+QIRD ------------------------------------------------------------------------------------
def qird(fw: Firmware, cmd: Command) -> str:
    if cmd.kind == "test":
        fw.out.info(f"+QIRD: (0,1),(1,2),(0-{MAX_LINKS - 1}),(1-{fw.p.qird_max})")
        return "OK"
    if cmd.kind != "set" or len(cmd.args) != 4:
        return "ERROR"
    context, role, link, length = cmd.ints()
    if context != fw.v.fgcnt or role != 1 or not 1 <= length <= fw.p.qird_max:
        return "ERROR"  # role 2 (server) is not simulated
    session = fw.sessions.get(link)
    if session is None:
        return "ERROR"
    if not session.rx:
        if session.state == "CLOSED":
            del fw.sessions[link]
            return "ERROR"  # OT#14: the link closed and the buffer is empty
        return "OK"
    budget = session.rx_bytes if fw.mutated.qird_over_len else length
    sep = " " if fw.p.qird_space else ""
    where = f"{session.route.ip}:{session.route.port}"
    while session.rx and budget > 0:
        if session.proto == "TCP" or not fw.p.qird_udp_per_datagram:
            data = _take(session, budget)
        else:
            data = _take_datagram(session, budget)
        budget -= len(data)
        fw.out.info(f"+QIRD:{sep}{where},{session.proto},{len(data)}")
        fw.out.emit(data)
    if not session.rx:
        session.rx_announced = False
    if session.rx_bytes < fw.p.recv_buffer:
        session.set_room(True)
    return "OK"


def _take(session: Session, budget: int) -> bytes:
    out = bytearray()
    while session.rx and len(out) < budget:
        block = session.rx.popleft()
        need = budget - len(out)
        if len(block) > need:
            session.rx.appendleft(block[need:])
            block = block[:need]
        out += block
    session.rx_bytes -= len(out)
    return bytes(out)


def _take_datagram(session: Session, budget: int) -> bytes:
    block = session.rx.popleft()
    if len(block) > budget:
        session.rx.appendleft(block[budget:])
        block = block[:budget]
    session.rx_bytes -= len(block)
    return block


COMMANDS: dict[str, Handler] = {
    "+QIOPEN": qiopen,
    "+QICLOSE": qiclose,
    "+QISACK": qisack,
    "+QIRD": qird,
}
