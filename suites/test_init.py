"""Chapter 2 of the GSM TCPIP Recommended Process: start-up and configuration.

Power-on timing (INIT-SYNC, INIT-IPR, INIT-CPIN, INIT-CREG, INIT-CGREG) is measured from a
power cycle the test makes itself; the configuration commands (INIT-CGATT, INIT-FGCNT,
INIT-APN) and the options (OPT-*) are set on a running module and then shown to work: data
pushed by the peer, a session opened by name, a transparent session batching its input.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from harness import limits
from harness.at import ATChannel, ATError, ATTimeout, UrcKind
from harness.clock import Clock, Deadline, stamp
from harness.limits import LimitExceeded, Timing, Verdict
from harness.modem import Modem, OpenResult, ResultCode, SyncError, sync
from harness.peer import sha256_hex as sha

T = TypeVar("T")

#: Module seconds between two SIM/registration/attach polls: a measurement resolution, not a
#: documented limit (the document gives no poll interval before the first registration).
POLL = 0.5
#: Waiting for something that is no timed verdict (pushed data reaching the UART) never gives
#: up sooner than this many wall seconds: a loaded machine can stall a thread for long.
PATIENCE_WALL = 3.0
#: The smallest time difference a test can resolve, in wall seconds (thread scheduling on a
#: loaded 2-core machine); at small time scales it dominates the OPT-TCFG window.
RESOLUTION_WALL = 0.015
#: When INIT-SYNC failed on purpose, the clean-up tries this many ATs to find the module again.
RESTORE_TRIES = 3 * limits.SYNC_TRIES
#: 36 bytes, the length of the document's `IPD36TCP:` example (RECV-DIRECT).
PUSHED = bytes(range(ord("A"), ord("Z") + 1)) + b"0123456789"
#: Data held for AT+QIRD (OPT-INDI): shorter than one AT+QIRD may return.
HELD = b"modemcert OPT-INDI: announced by +QIRDI, fetched with AT+QIRD " * 2
#: Transparent-mode traffic (OPT-MODE): echoed back by the peer.
ECHOED = b"modemcert OPT-MODE transparent round trip"
#: +QIRDI: <id>,<sc>,<sid> for context 0, client, link 0 (PROTOCOL.md §8; the space is [U]).
QIRDI_0_1_0 = re.compile(r"^\+QIRDI:\s?0,1,0$")


# -- power-on, as the host does it ------------------------------------------------------------
def power_cycle(station, timings) -> int:
    """PWR-OFF, then PWR-ON and INIT-SYNC; returns the power-on stamp (just before PWRKEY)."""
    station.power.power_off()
    on = stamp()
    station.power.power_on()
    sync_now(station, timings)
    return on


def sync_now(station, timings):
    """INIT-SYNC at the rig's rate (harness.modem.sync), every step recorded in this test."""
    serial = station.rig.serial
    return sync(
        station.channel,
        serial.baud,
        station.clock,
        search=serial.search_rates,
        record=timings.record,
    )


@contextlib.contextmanager
def no_rdy_wait(station) -> Iterator[None]:
    """PWR-ON without waiting for RDY: the test watches for it itself (or knows it won't come)."""
    power = station.power
    before, power.expect_rdy = power.expect_rdy, False
    try:
        yield
    finally:
        power.expect_rdy = before


def poll(
    clock: Clock, since_ns: int, seconds: float, ask: Callable[[], tuple[bool, T]]
) -> tuple[bool, T | None, float]:
    """Call `ask()` every POLL until it says done or `seconds` after `since_ns` have passed
    (strictly, so a wait that gives up is judged FAIL); (done, last value, seconds taken)."""
    deadline = Deadline(clock, seconds, since_ns)
    value: T | None = None
    while True:
        done, value = ask()
        taken = clock.since(since_ns)
        if done or taken > seconds:
            return done, value, taken
        clock.sleep(min(POLL, (deadline.remaining() or 0.0) + POLL / 10))


def cpin_ready(modem: Modem) -> tuple[bool, str]:
    """One AT+CPIN?: (READY?, what it said); boot noise (+CME ERROR: 14) is an answer too."""
    try:
        status = modem.cpin()
    except ATError as e:
        return False, str(e.reply.final)
    return status.ready, f"+CPIN: {status}"


def creg_registered(modem: Modem, kind: str) -> tuple[bool, Any]:
    try:
        reg = modem.creg() if kind == "CREG" else modem.cgreg()
    except ATError as e:  # boot noise: ask again
        return False, e.reply.final
    return reg.registered, reg


def wait_sim_ready(modem: Modem, clock: Clock, on: int, timings, note: str = "") -> str:
    """INIT-CPIN: AT+CPIN? until +CPIN: READY, judged from power-on; the last answer."""
    ready, said, taken = poll(clock, on, limits.CPIN_READY.seconds, lambda: cpin_ready(modem))
    timings.record(limits.CPIN_READY.check(taken, "AT+CPIN? until READY", note=note or str(said)))
    if not ready:
        raise LimitExceeded(
            f"INIT-CPIN: no +CPIN: READY within {limits.CPIN_READY.seconds:g} s of power-on "
            f"(last answer {said!r}); the document says: reboot"
        )
    return str(said)


def wait_registered(modem: Modem, clock: Clock, since: int, kind: str, timings) -> Any:
    """INIT-CREG / INIT-CGREG: AT+CREG? (AT+CGREG?) until stat 1 or 5, judged from `since`."""
    limit = limits.CREG_REGISTERED if kind == "CREG" else limits.CGREG_REGISTERED
    done, reg, taken = poll(clock, since, limit.seconds, lambda: creg_registered(modem, kind))
    timings.record(limit.check(taken, f"AT+{kind}? until registered", note=str(reg)))
    if not done:
        raise LimitExceeded(
            f"INIT-{kind}: not registered within {limit.seconds:g} s (last answer {reg}); "
            f"the document says: {limit.action}"
        )
    assert reg.stat in limits.REGISTERED_STATS, f"INIT-{kind}: registered with stat {reg.stat}"
    return reg


def expect_ok(at: ATChannel, command: str, clause: str, timings, what: str = "") -> None:
    """`command` answers exactly OK; its time is also recorded under `clause`."""
    reply = at.command(command)
    timings.record(reply.timing(clause))
    assert reply.code is ResultCode.OK, (
        f"{clause}: {command} answered {reply.final!r}; the document expects OK{what}"
    )


def read_setting(at: ATChannel, command: str, clause: str) -> str:
    """The value of a read command's `+NAME: <value>` line (`AT+QIMODE?` → "1")."""
    reply = at.command(command)
    name = command[2:].rstrip("?")
    line = next((ln for ln in reply.lines if ln.startswith(f"{name}:")), None)
    assert reply.ok and line is not None, (
        f"{clause}: {command} answered {reply.lines} {reply.final!r}; "
        f"expected {name}: <value> then OK"
    )
    return line.split(":", 1)[1].strip()


# -- sessions ---------------------------------------------------------------------------------
def activate(modem: Modem, at: ATChannel, station, timings) -> str:
    """INIT-FGCNT, INIT-APN, then PDP-ACT (QIREGAPP, QIACT, QILOCIP); the local IP."""
    expect_ok(at, "AT+QIFGCNT=0", "INIT-FGCNT", timings)
    reply = modem.qicsgp(*station.rig.network.credentials())
    timings.record(reply.timing("INIT-APN"))
    return modem.activate()


def open_tcp(modem: Modem, peer, host: str | None = None) -> tuple[OpenResult, Any]:
    """AT+QIOPEN="TCP" to the peer (by `host` if given); the result and the peer's connection."""
    mark = peer.mark()
    result = modem.qiopen("TCP", host or peer.host, peer.port)
    if result.timed_out:
        raise LimitExceeded(
            f"AT+QIOPEN TCP: no final answer within {limits.QIOPEN.seconds:g} s "
            f"(stages {[s.text for s in result.reply.stages]})"
        )
    conn = None
    if result.connected:
        conn = peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark)
    return result, conn


def patience(clock: Clock) -> float:
    return clock.to_module(PATIENCE_WALL)


# == INIT-SYNC ================================================================================
@pytest.mark.clause("INIT-SYNC")
@pytest.mark.requires("power")
def test_sync_after_power_on_in_autobaud(at, station, timings):
    """After power-on the host synchronises: AT, 500 ms apart, up to 15 times, until OK, then
    fixes the rate with AT+IPR=<rate>&W. Walked with the module in autobaud (AT+IPR=0&W and a
    power cycle: it prints no RDY and locks on the first AT it can read); the rate is fixed
    again at the end, so AT+IPR? says it."""
    rate = station.rig.serial.baud
    expect_ok(at, "AT+IPR=0&W", "INIT-SYNC", timings, " (autobaud stored)")
    failure: SyncError | None = None
    try:
        station.power.power_off()
        with no_rdy_wait(station):
            station.power.power_on()
        try:
            result = sync_now(station, timings)
        except SyncError as e:
            failure = e
        if failure is not None:
            raise LimitExceeded(
                f"INIT-SYNC: the module in autobaud answered none of {limits.SYNC_TRIES} ATs "
                f"{limits.SYNC_INTERVAL.seconds:g} s apart after power-on: {failure}"
            )
        assert result.found_at is None, (
            f"INIT-SYNC: the module answered only at {result.found_at} baud, not {rate}"
        )
        assert read_setting(at, "AT+IPR?", "INIT-SYNC") == str(rate), (
            f"INIT-SYNC: after AT+IPR={rate}&W the module must report that rate"
        )
    finally:
        if failure is not None:  # clean-up, not judged: find the module, store the fixed rate
            with contextlib.suppress(SyncError):
                sync(station.channel, rate, station.clock, tries=RESTORE_TRIES)
    assert timings.for_clause("INIT-SYNC"), "INIT-SYNC: the synchronisation was not timed"


# == INIT-IPR =================================================================================
@pytest.mark.clause("INIT-IPR")
@pytest.mark.requires("power")
def test_ipr_with_w_survives_a_power_cycle(modem, at, station, timings):
    """AT+IPR=115200&W answers OK and the rate survives a reboot: after a power cycle the
    module prints RDY at that rate by itself (no AT needed to find it), and AT+IPR? says it."""
    rate = limits.IPR_DEFAULT_RATE
    if station.rig.serial.baud != rate:
        pytest.skip(f"the rig runs at {station.rig.serial.baud} baud; INIT-IPR names {rate}")
    reply = modem.ipr(rate, store=True)
    timings.record(reply.timing("INIT-IPR"))
    assert reply.code is ResultCode.OK, f"INIT-IPR: AT+IPR={rate}&W answered {reply.final!r}"
    station.power.power_off()
    at.urcs()  # forget URCs of the old boot: the RDY looked for is the new one
    on = stamp()
    with no_rdy_wait(station):
        station.power.power_on()
    try:
        rdy = at.wait_urc(UrcKind.RDY, limits.CPIN_READY.seconds - station.clock.since(on))
    except ATTimeout:
        rdy = None
    try:
        assert rdy is not None, (
            f"INIT-IPR: no RDY at {rate} baud within {limits.CPIN_READY.seconds:g} s of "
            "power-on: the rate stored with AT&W did not survive the reboot (a module in "
            "autobaud prints RDY only after the first AT)"
        )
        after = station.clock.module_between(on, rdy.t_ns)
        timings.record(
            Timing("INIT-IPR", f"RDY at {rate} after power-on", after, None, None, Verdict.PASS)
        )
        assert read_setting(at, "AT+IPR?", "INIT-IPR") == str(rate), (
            f"INIT-IPR: AT+IPR? after the reboot must say {rate}"
        )
    finally:
        sync_now(station, timings)  # leave it answering at the rig's rate, stored


# == INIT-CPIN ================================================================================
@pytest.mark.clause("INIT-CPIN")
@pytest.mark.requires("power")
def test_sim_ready_within_10s_of_power_on(modem, station, timings):
    """AT+CPIN? answers +CPIN: READY within 10 s of power-on (asked again while the SIM is busy:
    +CME ERROR: 14 is boot noise); AT+QINISTAT, the alternative query, answers its counter
    (0–3) and reaches 3 (ready) within the same 10 s."""
    on = power_cycle(station, timings)
    wait_sim_ready(modem, station.clock, on, timings)
    done, count, taken = poll(station.clock, on, limits.CPIN_READY.seconds, lambda: qinistat(modem))
    timings.record(limits.CPIN_READY.check(taken, "AT+QINISTAT until 3", note=f"{count}"))
    if not done:
        raise LimitExceeded(
            f"INIT-CPIN: AT+QINISTAT said {count}, not 3, {limits.CPIN_READY.seconds:g} s "
            "after power-on"
        )


def qinistat(modem: Modem) -> tuple[bool, int]:
    count = modem.qinistat()
    assert 0 <= count <= 3, f"INIT-CPIN: AT+QINISTAT answered {count}; it counts 0 to 3"
    return count == 3, count


@pytest.mark.clause("INIT-CPIN")
@pytest.mark.requires("power", "sim.faults")
def test_no_sim_within_10s_means_reboot(modem, at, station, sim, timings):
    """No SIM found within 10 s of power-on: reboot. Caused for real (the simulated SIM is
    missing at one boot): AT+CPIN? never says READY and answers an error, the host reboots, and
    after the reboot +CPIN: READY comes within 10 s."""
    sim.inject("no_sim")
    with timings.provoked("fault injected: no_sim"):
        on = power_cycle(station, timings)
        ready, said, _ = poll(
            station.clock, on, limits.CPIN_READY.seconds, lambda: cpin_ready(modem)
        )
    assert not ready, "INIT-CPIN: AT+CPIN? said READY with no SIM in the module"
    assert said.startswith(("+CME ERROR", "ERROR")), (
        f"INIT-CPIN: with no SIM AT+CPIN? answered {said!r}; expected an error"
    )
    on = power_cycle(station, timings)  # the document's reaction: reboot
    said = wait_sim_ready(modem, station.clock, on, timings, note="after the reboot")
    assert said == "+CPIN: READY"


# == INIT-CREG / INIT-CGREG ===================================================================
@pytest.mark.clause("INIT-CREG")
@pytest.mark.requires("power")
def test_creg_registered_within_30s_of_power_on(modem, at, station, timings):
    """AT+CREG? gives <stat> 1 (home) or 5 (roaming) within 30 s of power-on. AT+CREG=1 is set
    at once as well: if the module was not yet registered when first asked, the +CREG: 1 / 5
    URC (the document's alternative) must have announced the registration."""
    on = power_cycle(station, timings)
    expect_ok(at, "AT+CREG=1", "INIT-CREG", timings, " (registration URCs on)")
    first = creg_registered(modem, "CREG")
    reg = wait_registered(modem, station.clock, on, "CREG", timings)
    assert reg.n == 1, f"INIT-CREG: AT+CREG? says <n> {reg.n} after AT+CREG=1"
    if not first[0]:
        try:
            urc = at.wait_urc(r"^\+CREG:\s*[15]\b", patience(station.clock))
        except ATTimeout:
            urc = None
        assert urc is not None, (
            f"INIT-CREG: registered (stat {reg.stat}) after AT+CREG=1 with no +CREG: "
            f"{reg.stat} URC; first answer was {first[1]}"
        )
    at.command("AT+CREG=0")


@pytest.mark.clause("INIT-CREG")
@pytest.mark.requires("power", "sim.faults")
def test_creg_not_registered_within_30s_means_reboot(modem, station, sim, timings):
    """Not registered within 30 s: reboot. Caused for real (registration denied at one boot:
    <stat> 3): AT+CREG? never gives 1 or 5, the host reboots, and after the reboot the module
    registers within 30 s."""
    sim.inject("reg_denied")
    with timings.provoked("fault injected: reg_denied"):
        on = power_cycle(station, timings)
        done, reg, _ = poll(
            station.clock,
            on,
            limits.CREG_REGISTERED.seconds,
            lambda: creg_registered(modem, "CREG"),
        )
    assert not done, f"INIT-CREG: registered ({reg}) though registration was denied"
    on = power_cycle(station, timings)  # the document's reaction: reboot
    wait_registered(modem, station.clock, on, "CREG", timings)


@pytest.mark.clause("INIT-CGREG")
@pytest.mark.requires("power")
def test_cgreg_registered_within_30s(modem, station, timings):
    """After GSM registration, AT+CGREG? gives 1 or 5 for GPRS within 30 s (not registered in
    time: the document goes on anyway, so it is a limit, not a reboot). Walked after a power
    cycle, so the module really has to register."""
    on = power_cycle(station, timings)
    wait_registered(modem, station.clock, on, "CREG", timings)
    wait_registered(modem, station.clock, stamp(), "CGREG", timings)


# == INIT-CGATT ===============================================================================
@pytest.mark.clause("INIT-CGATT")
def test_cgatt_attached(modem, at, network, station, timings):
    """(Chinese edition) AT+CGATT? gives +CGATT: 1: polled until attached, each answer within
    the 180 s AT+CGATT limit; AT+CGATT=1 (attach) then answers OK and it stays attached."""
    start = stamp()
    done, state, taken = poll(station.clock, start, limits.CGATT.seconds, lambda: cgatt(modem))
    timings.record(limits.CGATT.check(taken, "AT+CGATT? until attached", note=f"+CGATT: {state}"))
    if not done:
        raise LimitExceeded(
            f"INIT-CGATT: +CGATT: {state} for {limits.CGATT.seconds:g} s; the document reboots"
        )
    reply = at.command("AT+CGATT=1")
    assert reply.code is ResultCode.OK, f"INIT-CGATT: AT+CGATT=1 answered {reply.final!r}"
    assert modem.cgatt() == 1, "INIT-CGATT: AT+CGATT? after AT+CGATT=1 must say 1"


def cgatt(modem: Modem) -> tuple[bool, int]:
    state = modem.cgatt()
    assert state in (0, 1), f"INIT-CGATT: AT+CGATT? answered {state}; it is 0 or 1"
    return state == 1, state


# == INIT-FGCNT / INIT-APN ====================================================================
@pytest.mark.clause("INIT-FGCNT")
def test_qifgcnt_selects_context_0(modem, at, network, timings):
    """AT+QIFGCNT=0 selects context 0 as the foreground context: OK, and AT+QIFGCNT? says
    context 0."""
    expect_ok(at, "AT+QIFGCNT=0", "INIT-FGCNT", timings)
    value = read_setting(at, "AT+QIFGCNT?", "INIT-FGCNT")
    assert value.split(",")[0].strip() == "0", (
        f"INIT-FGCNT: AT+QIFGCNT? says {value!r}; after AT+QIFGCNT=0 the context is 0"
    )


@pytest.mark.clause("INIT-APN")
def test_qicsgp_sets_gprs_and_the_apn(modem, at, network, station, timings):
    """AT+QICSGP=1,"<APN>" (the rig's APN; CMNET in the document) sets GPRS as the bearer: OK,
    AT+QICSGP? says 1, and the context then comes up with it (QIREGAPP, QIACT, QILOCIP)."""
    apn, user, password = station.rig.network.credentials()
    expect_ok(at, "AT+QIFGCNT=0", "INIT-FGCNT", timings)
    extra = f',"{user}","{password}"' if user or password else ""
    reply = at.command(f'AT+QICSGP=1,"{apn}"{extra}')
    timings.record(reply.timing("INIT-APN"))
    assert reply.code is ResultCode.OK, (
        f'INIT-APN: AT+QICSGP=1,"{apn}" answered {reply.final!r}; the document expects OK'
    )
    mode = read_setting(at, "AT+QICSGP?", "INIT-APN")
    assert mode.split(",")[0].strip() == "1", f"INIT-APN: AT+QICSGP? says {mode!r}, not GPRS"
    modem.activate()  # the context comes up with the APN just set


# == OPT-DNSIP ================================================================================
@pytest.mark.clause("OPT-DNSIP")
def test_qidnsip_1_opens_by_domain_name(modem, at, network, peer, station, timings):
    """AT+QIDNSIP=1 makes AT+QIOPEN take a domain name instead of a dotted IP: OK, AT+QIDNSIP?
    says 1, and AT+QIOPEN="TCP","<name>","<port>" answers OK then CONNECT OK at the peer."""
    name = domain_name(station)
    expect_ok(at, "AT+QIDNSIP=1", "OPT-DNSIP", timings)
    assert read_setting(at, "AT+QIDNSIP?", "OPT-DNSIP") == "1", "OPT-DNSIP: AT+QIDNSIP? is not 1"
    activate(modem, at, station, timings)
    result, conn = open_tcp(modem, peer, host=name)
    stages = [s.text for s in result.reply.stages]
    assert result.outcome is ResultCode.CONNECT_OK and result.first_ok, (
        f'OPT-DNSIP: AT+QIOPEN="TCP","{name}",… with AT+QIDNSIP=1 answered {stages}; '
        "the document expects OK, then CONNECT OK"
    )
    assert conn is not None and conn.open, f"OPT-DNSIP: the peer's connection {conn}"
    reply = modem.qiclose()
    assert reply.code is ResultCode.CLOSE_OK, f"AT+QICLOSE answered {reply.final!r}"


def domain_name(station) -> str:
    """The peer by name: "localhost" on the sim rig, the rig's peer host if it is a name."""
    if station.sim is not None:
        return "localhost"
    host = station.peer_host
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", host) or ":" in host:
        pytest.skip(
            f"rig {station.rig.name!r} ({station.rig.file}) names its peer by address "
            f"({host}); give [peer] host as a domain name to certify OPT-DNSIP"
        )
    return host


# == OPT-INDI =================================================================================
@pytest.mark.clause("OPT-INDI")
@pytest.mark.requires("peer.push")
def test_qindi_1_announces_data_for_qird(modem, at, network, peer, station, timings):
    """AT+QINDI=1 (set before opening): data from the peer is not printed; +QIRDI: 0,1,0
    announces it and AT+QIRD=0,1,0,1024 returns `+QIRD: <ip>:<port>,TCP,<len>` and exactly the
    bytes the peer sent; a second AT+QIRD finds the buffer empty (OK only)."""
    expect_ok(at, "AT+QINDI=1", "OPT-INDI", timings)
    activate(modem, at, station, timings)
    result, conn = open_tcp(modem, peer)
    assert result.outcome is ResultCode.CONNECT_OK, f"AT+QIOPEN answered {result.outcome!r}"
    mark = station.transcript.mark()
    at.urcs()
    peer.push(conn.id, HELD)
    try:
        urc = at.wait_urc(QIRDI_0_1_0, patience(station.clock))
    except ATTimeout:
        urc = None
    # Data printed by mistake would follow the announcement at once: give it the time a
    # pushed block takes to show (a loaded host included) before saying it did not come.
    printed = at.rx_since(mark, HELD[:16], station.clock.to_module(RESOLUTION_WALL * 10))
    assert urc is not None, (
        f"OPT-INDI: no +QIRDI: 0,1,0 after the peer sent {len(HELD)} bytes with AT+QINDI=1; "
        f"the UART showed {printed[-120:]!r}"
    )
    assert HELD[:16] not in printed, (
        "OPT-INDI: with AT+QINDI=1 the received data must not be printed, only announced"
    )
    data, blocks = fetch(modem, station.clock, len(HELD))
    assert data == HELD, f"OPT-INDI: AT+QIRD returned {data!r}, not the peer's bytes"
    address = f"{peer.host}:{peer.port}"
    headers = {(b.peer, b.proto) for b in blocks}
    assert headers == {(address, "TCP")} and sum(b.length for b in blocks) == len(HELD), (
        f"OPT-INDI: AT+QIRD blocks {[(b.peer, b.proto, b.length) for b in blocks]}; "
        f"expected +QIRD: {address},TCP,<len> for all {len(HELD)} bytes"
    )
    stats = peer.stats(conn.id)
    assert (stats.bytes_out, stats.sha256_out) == (len(data), sha(data)), (
        "OPT-INDI: the bytes fetched with AT+QIRD differ from what the peer sent"
    )
    again = modem.qird(limits.QIRD_MAX)
    assert again.reply.code is ResultCode.OK and again.data == b"", (
        f"OPT-INDI: AT+QIRD on an empty buffer answered {again.reply.final!r} with "
        f"{len(again.data)} bytes; expected OK only"
    )


def fetch(modem: Modem, clock: Clock, length: int) -> tuple[bytes, list]:
    """AT+QIRD=0,1,0,1024 until `length` bytes came (the network may split them); the data
    and every `+QIRD:` block."""
    data, blocks = b"", []
    deadline = Deadline(clock, patience(clock))
    while len(data) < length and not deadline.expired:
        got = modem.qird(limits.QIRD_MAX)
        data, blocks = data + got.data, blocks + got.blocks
        if not got.data:
            clock.sleep(clock.to_module(RESOLUTION_WALL))
    return data, blocks


# == OPT-HEAD / OPT-SHOWPT / OPT-SHOWRA =======================================================
HEADERS = [
    pytest.param(
        "OPT-HEAD",
        ("AT+QIHEAD=1",),
        lambda addr: b"IPD%d:" % len(PUSHED),
        marks=pytest.mark.clause("OPT-HEAD"),
        id="QIHEAD",
    ),
    pytest.param(
        "OPT-SHOWPT",
        ("AT+QIHEAD=1", "AT+QISHOWPT=1"),
        lambda addr: b"IPD%dTCP:" % len(PUSHED),
        marks=pytest.mark.clause("OPT-SHOWPT"),
        id="QIHEAD-QISHOWPT",
    ),
    pytest.param(
        "OPT-SHOWRA",
        ("AT+QIHEAD=1", "AT+QISHOWRA=1"),
        lambda addr: b"RECV FROM:%s\r\nIPD%d:" % (addr.encode(), len(PUSHED)),
        marks=pytest.mark.clause("OPT-SHOWRA"),
        id="QIHEAD-QISHOWRA",
    ),
]


@pytest.mark.requires("peer.push")
@pytest.mark.parametrize(("clause", "settings", "header"), HEADERS)
def test_received_data_header(modem, at, network, peer, station, timings, clause, settings, header):
    """AT+QIHEAD=1: received data is preceded by `IPD<len>:`; with AT+QISHOWPT=1 the protocol
    is added (`IPD36TCP:`); with AT+QISHOWRA=1 a `RECV FROM:<ip>:<port>` line comes first.
    The peer pushes 36 bytes and the UART shows exactly that header, then exactly those bytes,
    and nothing a setting left off."""
    for command in settings:
        expect_ok(at, command, clause, timings)
    activate(modem, at, station, timings)
    result, conn = open_tcp(modem, peer)
    assert result.outcome is ResultCode.CONNECT_OK, f"AT+QIOPEN answered {result.outcome!r}"
    address = f"{peer.host}:{peer.port}"
    mark = station.transcript.mark()
    peer.push(conn.id, PUSHED)
    printed = at.rx_since(mark, PUSHED, patience(station.clock))
    assert PUSHED in printed, f"{clause}: the peer's {len(PUSHED)} bytes never reached the UART"
    expected = header(address) + PUSHED
    assert expected in printed, (
        f"{clause}: with {', '.join(settings)} the UART showed {printed!r}; the document "
        f"expects {expected!r}"
    )
    showra, showpt = "AT+QISHOWRA=1" in settings, "AT+QISHOWPT=1" in settings
    assert showra or b"RECV FROM" not in printed, f"{clause}: RECV FROM without AT+QISHOWRA=1"
    assert showpt or b"IPD%dTCP:" % len(PUSHED) not in printed, (
        f"{clause}: the protocol is in the header without AT+QISHOWPT=1"
    )
    got = at.wait_received(patience(station.clock))
    framed = (got.payload, got.proto, got.peer)
    assert framed == (PUSHED, "TCP" if showpt else None, address if showra else None), (
        f"{clause}: the framed data read {got}"
    )
    stats = peer.stats(conn.id)
    assert stats.sha256_out == sha(got.payload), f"{clause}: the data differs from the peer's"


# == OPT-MODE / OPT-TCFG ======================================================================
def open_transparent(modem: Modem, at: ATChannel, peer, station, timings) -> Any:
    """AT+QIMODE=1 (in IP INITIAL), the context, AT+QIOPEN → OK, CONNECT: the peer's conn."""
    expect_ok(at, "AT+QIMODE=1", "OPT-MODE", timings)
    assert read_setting(at, "AT+QIMODE?", "OPT-MODE") == "1", "OPT-MODE: AT+QIMODE? is not 1"
    activate(modem, at, station, timings)
    result, conn = open_tcp(modem, peer)
    stages = [s.text for s in result.reply.stages]
    assert result.outcome is ResultCode.CONNECT and result.first_ok, (
        f"OPT-MODE: with AT+QIMODE=1 AT+QIOPEN answered {stages}; transparent mode answers "
        "OK, then CONNECT (not CONNECT OK)"
    )
    assert at.in_data_mode, "OPT-MODE: the channel did not take CONNECT as data mode"
    return conn


def leave_transparent(modem: Modem, at: ATChannel, clause: str) -> None:
    """+++ → OK (command mode), AT+QICLOSE → CLOSE OK."""
    escaped = at.escape()
    assert escaped.ok, f"{clause}: +++ after the transparent session answered {escaped}"
    reply = modem.qiclose()
    assert reply.code is ResultCode.CLOSE_OK, f"{clause}: AT+QICLOSE answered {reply.final!r}"


@pytest.mark.clause("OPT-MODE")
def test_qimode_1_selects_transparent_mode(modem, at, network, peer, station, timings):
    """AT+QIMODE=1 selects transparent mode: AT+QIOPEN answers OK then CONNECT and the UART
    carries raw bytes both ways: what the host writes reaches the peer unchanged and the peer's
    echo comes back with no header; +++ returns to command mode."""
    conn = open_transparent(modem, at, peer, station, timings)
    at.write_data(ECHOED)
    back = b""
    deadline = Deadline(station.clock, patience(station.clock))
    while len(back) < len(ECHOED) and not deadline.expired:
        back += at.read_data(deadline.remaining() or 0.0)
    assert back == ECHOED, f"OPT-MODE: the peer's echo came back as {back!r}"
    stats = peer.wait_bytes(conn.id, len(ECHOED), patience(station.clock))
    assert (stats.bytes_in, stats.sha256_in) == (len(ECHOED), sha(ECHOED)), (
        "OPT-MODE: the peer did not receive exactly the bytes written in data mode"
    )
    leave_transparent(modem, at, "OPT-MODE")


@pytest.mark.clause("OPT-TCFG")
def test_qitcfg_batches_transparent_input(modem, at, network, peer, station, timings):
    """AT+QITCFG=3,2,512,1: in transparent mode 512 bytes go out at once as a block, and input
    below 512 bytes goes out after 200 ms (2 × 100 ms) of UART idle. Measured at the peer: the
    short batch arrives the wait later than a block written the same way (path time cancels)."""
    tcfg = ",".join(map(str, limits.TCFG))
    expect_ok(at, f"AT+QITCFG={tcfg}", "OPT-TCFG", timings)
    assert read_setting(at, "AT+QITCFG?", "OPT-TCFG") == tcfg, "OPT-TCFG: AT+QITCFG? differs"
    conn = open_transparent(modem, at, peer, station, timings)
    peer.set_mode("sink", conn=conn.id)
    clock = station.clock
    block = bytes(i % 251 for i in range(limits.TCFG_SIZE))
    short = b"0123456789"

    wrote_block = write_stamp(station, at, block)
    first = peer.wait_bytes(conn.id, len(block), patience(clock))
    wrote_short = write_stamp(station, at, short)
    both = peer.wait_bytes(conn.id, len(block) + len(short), patience(clock))
    assert (both.bytes_in, both.sha256_in) == (
        len(block) + len(short),
        sha(block + short),
    ), "OPT-TCFG: the peer did not receive exactly the bytes written in data mode"
    assert first.first_byte_module is not None and both.last_byte_module is not None, (
        "OPT-TCFG: the peer reports no arrival times"
    )
    wait = (both.last_byte_module - first.first_byte_module) - clock.module_between(
        wrote_block, wrote_short
    )
    timings.record(batch_timing(wait, clock))
    leave_transparent(modem, at, "OPT-TCFG")


def write_stamp(station, at: ATChannel, data: bytes) -> int:
    """Write in data mode; the stamp of the write (the transcript's, taken just before it)."""
    mark = station.transcript.mark()
    at.write_data(data)
    sent = [e for e in station.transcript.since(mark) if e.dir == "tx"]
    return sent[-1].t_ns


def batch_timing(measured: float, clock: Clock) -> Timing:
    """OPT-TCFG's wait is a target, not a ceiling (a module sends *after* it): inside the
    target ± the resolution (one WaitTm unit, or the wall resolution at small time scales)."""
    target = limits.TCFG_WAIT.seconds
    unit = target / limits.TCFG[1]
    tolerance = max(unit, clock.to_module(RESOLUTION_WALL))
    low, high = target - tolerance, target + tolerance
    inside = low <= measured <= high
    return Timing(
        "OPT-TCFG",
        f"short batch sent after UART idle (AT+QITCFG={','.join(map(str, limits.TCFG))})",
        measured,
        target,
        None,
        Verdict.PASS if inside else Verdict.FAIL,
        f"{'inside' if inside else 'outside'} {max(low, 0):.3f}–{high:.3f} s "
        "(block-relative, path time cancelled)",
    )
