"""Data from the peer: pushed to the UART with the QIHEAD/QISHOWRA/QISHOWPT headers, or held for
AT+QIRD with a +QIRDI URC (QINDI), or passed raw in transparent mode (PROTOCOL §8, §11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sim.framing import CRLF
from harness.sim.ipstack import IpState

#: The nat_drop_after_60s mutation's gateway: idle sessions are reclaimed after this long.
MUTANT_NAT_IDLE = 60.0

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware
    from harness.sim.session import Session


def on_session(fw: Firmware, session: Session, kind: str, data: bytes) -> None:
    """A session's socket reported `kind` ("data" / "closed") on the module's loop."""
    if fw.sessions.get(session.link) is not session or not fw.powered:
        return
    if kind == "closed":
        _peer_closed(fw, session)
        return
    if session.nat_dropped:
        return  # the gateway forgot the port: the peer's packets never arrive
    session.last_activity = fw.clock.now()
    nat = fw.faults.active("nat_drop")
    if nat is not None or fw.mutated.nat_drop_after_60s:
        arm_nat(fw, session)
    if fw.mode == "data" and fw.transparent is not None:
        fw.transparent.received(data)
        return
    if fw.v.indi and not fw.mutated.qindi_ignored:
        _hold(fw, session, data)
        return
    for i in range(0, len(data), fw.p.push_chunk):
        fw.out.push(pushed(fw, session, data[i : i + fw.p.push_chunk]))


def pushed(fw: Firmware, session: Session, chunk: bytes) -> bytes:
    """One block of received data as QINDI=0 prints it."""
    if fw.mutated.recv_drops_last_byte:
        chunk = chunk[:-1]
    v = fw.v
    head = v.head and not fw.mutated.qihead_ignored
    showra = v.showra and not fw.mutated.qishowra_ignored
    showpt = v.showpt and not fw.mutated.qishowpt_ignored
    out = b""
    if v.mux:
        out += CRLF + f"+RECEIVE: {session.link}, {len(chunk)}".encode() + CRLF
    lead = CRLF if fw.p.push_leading_crlf and not v.mux else b""
    if showra:
        out += lead + f"RECV FROM:{session.route.ip}:{session.route.port}".encode() + CRLF
        lead = b""
    if head:
        proto = session.proto if showpt else ""
        out += lead + f"IPD{len(chunk)}{proto}:".encode()
    out += chunk
    if (head or showra) and fw.p.ipd_trailing_crlf:
        out += CRLF
    return out


def _hold(fw: Firmware, session: Session, data: bytes) -> None:
    """QINDI=1/2: keep the data for AT+QIRD and announce it (seeds ch. 5.2)."""
    if session.proto == "UDP" or not session.rx:
        session.rx.append(data)
    else:
        session.rx[-1] += data
    session.rx_bytes += len(data)
    if session.rx_bytes >= fw.p.recv_buffer:
        session.set_room(False)
    if session.rx_announced and not fw.p.qirdi_each_packet:
        return
    session.rx_announced = True
    fw.out.urc(qirdi(fw, session, len(data)))


def qirdi(fw: Firmware, session: Session, length: int) -> str:
    sep = " " if fw.p.qirdi_space else ""
    text = f"+QIRDI:{sep}{fw.v.fgcnt},1,{session.link}"
    if fw.v.indi == 2:
        text += f",{len(session.rx)},{length},{session.rx_bytes}"
    return text


def _peer_closed(fw: Firmware, session: Session) -> None:
    """The peer closed: CLOSED (with "<n>, " under QIMUX=1 or per profile), state IP CLOSE."""
    session.peer_closed = True
    session.close()
    text = f"{session.link}, CLOSED" if fw.v.mux or fw.p.closed_index else "CLOSED"
    if not session.rx:
        del fw.sessions[session.link]
    if not fw.v.mux:
        fw.set_state(IpState.IP_CLOSE)
    link = fw.transparent
    if link is not None and link.session is session:
        if fw.mode == "data":
            link.closed(text)
            return
        link.stop()
        fw.transparent = None
    fw.out.urc(text)


def arm_nat(fw: Firmware, session: Session) -> None:
    """(Re)start the idle timer after which the simulated gateway forgets this session."""
    nat = fw.faults.active("nat_drop")
    idle = nat.num("idle") if nat is not None else MUTANT_NAT_IDLE
    if session.nat_timer is not None:
        session.nat_timer.cancel()

    def expire() -> None:
        if session.state == "CLOSED" or session.nat_dropped:
            return
        if fw.clock.now() - session.last_activity < idle * 0.999:
            return
        if fw.mutated.nat_drop_after_60s or fw.faults.take("nat_drop") is not None:
            session.nat_dropped = True  # KEEP-HEARTBEAT: the port is gone, nobody is told

    session.nat_timer = fw.loop.call_later(idle, expire, "power")
