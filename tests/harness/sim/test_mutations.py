"""The mutation catalogue: every clause of PROCESS.md is broken by at least one mutation, and
every mutation changes what a host that follows the document observes.

Each reveal below is the exchange that shows one mutation; it runs against the faithful module
and against the mutant, and the two observations must differ.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from harness import limits
from harness.clauses import CLAUSES
from harness.sim import MUTATIONS, Mutated, Profile, UnknownMutation, Wiring

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}
W = Wiring()
UNREACHABLE = "203.0.113.5"
ANSWER = re.compile(rb"\r\n(OK|ERROR|ALREADY CONNECT|CONNECT OK|CONNECT FAIL|CONNECT|DEACT OK)\r\n")


@dataclass
class Ctx:
    """What a reveal gets: builders for the rig (faithful or mutant) and peers."""

    make_rig: Callable[..., object]
    make_peer: Callable[..., object]
    mutate: list[str]
    scale: float
    profile: dict[str, object]

    def rig(self, boot: bool = True):
        rig = self.make_rig(Profile(**{**QUICK, **self.profile}), self.scale, self.mutate)
        if boot:
            rig.boot()
        return rig

    def session(self, mode: str = "sink", settings: tuple[str, ...] = (), proto: str = "TCP"):
        peer = self.make_peer("udp" if proto == "UDP" else mode)
        rig = self.rig()
        for command in settings:
            rig.host.at(command)
        rig.activate()
        expect = b"\r\nCONNECT\r\n" if "AT+QIMODE=1" in settings else b"CONNECT OK\r\n"
        rig.open(proto, "127.0.0.1", peer.port, expect=expect)
        if proto == "TCP":
            assert peer.wait_accepted(rig.clock)
        return rig, peer


@dataclass
class Reveal:
    run: Callable[[Ctx], object]
    scale: float = 0.01
    profile: dict[str, object] = field(default_factory=dict)
    faithful: object = None  # what the faithful module shows, when it is worth pinning


REVEALS: dict[str, Reveal] = {}


def reveal(name: str, scale: float = 0.01, faithful: object = None, **profile: object):
    def register(fn: Callable[[Ctx], object]) -> Callable[[Ctx], object]:
        REVEALS[name] = Reveal(fn, scale, profile, faithful)
        return fn

    return register


def final(rig, command: str, timeout: float = 10.0) -> bytes:
    """The first result-like line after `command`."""
    rig.host.write(command + "\r")
    return ANSWER.search(rig.host.expect(ANSWER, timeout)).group(1)


def answered(rig, command: str, pattern: bytes, window: float) -> bool:
    rig.host.write(command + "\r")
    return rig.host.wait_for(pattern, window) is not None


def press(rig, pin: int, seconds: float) -> None:
    rig.pins.drive(pin, True)
    rig.clock.sleep(seconds)
    rig.pins.drive(pin, False)
    rig.sim.settle()


def qisend(rig, data: bytes, fixed: bool = False) -> bytes:
    """Send `data`; the outcome after the typed bytes (SEND OK, SEND FAIL, ERROR, or ESC's OK)."""
    rig.host.write(f"AT+QISEND={len(data)}\r" if fixed else "AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(data)
    return rig.host.expect(re.compile(rb"\r\n(SEND OK|SEND FAIL|ERROR|OK)\r\n"))


# -- INIT ---------------------------------------------------------------------------------------
@reveal("autobaud_needs_20_at", faithful=True)
def _(ctx):
    rig = ctx.rig()  # factory-fresh, the mutant still locks at once: the rig comes up
    rig.host.at("AT+IPR=0&W")
    rig.sim.power_off_now()
    rig.sim.power_on_now()
    rig.clock.sleep(0.3)
    return rig.host.sync(limits.SYNC_TRIES, limits.SYNC_INTERVAL.seconds) > 0


def test_autobaud_mutant_syncs_at_once_when_factory_fresh(make_rig):
    """A rig must come up on the INIT-SYNC mutant (its slow autobaud needs AT+IPR=0&W first),
    or the suites could only error in set-up instead of failing the clause's test."""
    rig = make_rig(Profile(**QUICK), mutate=["autobaud_needs_20_at"])
    rig.sim.power_on_now()
    rig.clock.sleep(0.3)
    assert rig.host.sync(limits.SYNC_TRIES, limits.SYNC_INTERVAL.seconds) == 1


@reveal("ipr_not_stored", faithful=True)
def _(ctx):
    rig = ctx.rig()
    rig.host.at("AT+IPR=115200&W")
    rig.sim.power_off_now()
    rig.sim.power_on_now()
    return rig.host.wait_for(b"RDY", 5.0) is not None


@reveal("cpin_ready_after_12s", faithful=True)
def _(ctx):
    rig = ctx.rig(boot=False)
    rig.sim.power_on_now()
    rig.clock.sleep(0.3)
    assert rig.host.sync() > 0
    rig.clock.sleep(4.0)
    return b"+CPIN: READY" in rig.host.at("AT+CPIN?")


@reveal("creg_after_40s", faithful=True)
def _(ctx):
    rig = ctx.rig(boot=False)
    rig.sim.power_on_now()
    rig.clock.sleep(0.3)
    rig.host.sync()
    rig.clock.sleep(20.0)
    return b"+CREG: 0,1" in rig.host.at("AT+CREG?")


@reveal("cgreg_after_40s", faithful=True)
def _(ctx):
    rig = ctx.rig(boot=False)
    rig.sim.power_on_now()
    rig.clock.sleep(0.3)
    rig.host.sync()
    rig.clock.sleep(20.0)
    return b"+CGREG: 0,1" in rig.host.at("AT+CGREG?")


@reveal("cgatt_answer_200s", faithful=True)
def _(ctx):
    return answered(ctx.rig(), "AT+CGATT?", b"OK\r\n", 20.0)


@reveal("qifgcnt_error", faithful=b"OK")
def _(ctx):
    return final(ctx.rig(), "AT+QIFGCNT=0")


@reveal("qicsgp_error", faithful=b"OK")
def _(ctx):
    return final(ctx.rig(), 'AT+QICSGP=1,"CMNET"')


@reveal("qidnsip_ignored", faithful=b"OK")
def _(ctx):
    rig = ctx.rig()
    rig.host.at("AT+QIDNSIP=1")
    rig.activate()
    return final(rig, 'AT+QIOPEN="TCP","localhost","7"')


@reveal("qindi_ignored", faithful=b"+QIRDI")
def _(ctx):
    rig, peer = ctx.session(settings=("AT+QINDI=1",))
    peer.send(b"hello")
    return re.search(rb"\+QIRDI|hello", rig.host.expect(re.compile(rb"\+QIRDI|hello"))).group()


@reveal("qihead_ignored", faithful=b"\r\nIPD5:hello")
def _(ctx):
    rig, peer = ctx.session(settings=("AT+QIHEAD=1",))
    peer.send(b"hello")
    return rig.host.expect(b"hello")


@reveal("qishowra_ignored")
def _(ctx):
    rig, peer = ctx.session(settings=("AT+QISHOWRA=1",))
    peer.send(b"hello")
    return b"RECV FROM:" in rig.host.expect(b"hello")


@reveal("qishowpt_ignored", faithful=b"\r\nIPD5TCP:hello")
def _(ctx):
    rig, peer = ctx.session(settings=("AT+QIHEAD=1", "AT+QISHOWPT=1"))
    peer.send(b"hello")
    return rig.host.expect(b"hello")


@reveal("qimode_ignored", faithful=b"CONNECT")
def _(ctx):
    peer = ctx.make_peer("sink")
    rig = ctx.rig()
    rig.host.at("AT+QIMODE=1")
    rig.activate()
    rig.host.at(f'AT+QIOPEN="TCP","127.0.0.1","{peer.port}"')
    return re.search(rb"CONNECT( OK)?", rig.host.expect(re.compile(rb"CONNECT( OK)?\r\n"))).group()


@reveal("tcfg_wait_ignored", scale=0.1, faithful=10)
def _(ctx):
    rig, peer = ctx.session(settings=("AT+QIMODE=1", "AT+QITCFG=3,2,512,1"))
    rig.host.write(b"0123456789")
    rig.clock.sleep(1.0)
    return len(peer.received)


# -- PDP ----------------------------------------------------------------------------------------
@reveal("qiact_200s", faithful=True)
def _(ctx):
    rig = ctx.rig()
    rig.host.at("AT+QIREGAPP")
    return answered(rig, "AT+QIACT", b"\r\nOK\r\n", 20.0)


@reveal("qilocip_with_ok", faithful=False)
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    return b"OK" in rig.host.collect(1.0)


@reveal("qiact_retry_needs_reboot", faithful=b"OK")
def _(ctx):
    rig = ctx.rig()
    rig.sim.inject("qiact_fail")
    rig.host.at("AT+QIREGAPP")
    assert final(rig, "AT+QIACT") == b"ERROR"
    rig.host.at("AT+QIREGAPP")
    return final(rig, "AT+QIACT")


@reveal("qideact_100s", faithful=True)
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    return answered(rig, "AT+QIDEACT", b"DEACT OK\r\n", 20.0)


@reveal("pdp_deact_urc_missing", faithful=True)
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    rig.sim.inject("pdp_deact")
    return rig.host.wait_for(b"+PDP DEACT", 50.0) is not None


# -- OPEN ---------------------------------------------------------------------------------------
@reveal("connect_ok_after_100s", faithful=True)
def _(ctx):
    peer = ctx.make_peer("sink")
    rig = ctx.rig()
    rig.activate()
    return answered(rig, f'AT+QIOPEN="TCP","127.0.0.1","{peer.port}"', b"CONNECT OK", 20.0)


@reveal("udp_connect_fail", faithful=b"CONNECT OK")
def _(ctx):
    peer = ctx.make_peer("udp")
    rig = ctx.rig()
    rig.activate()
    rig.host.at(f'AT+QIOPEN="UDP","127.0.0.1","{peer.port}"')
    return re.search(rb"CONNECT \w+", rig.host.expect(re.compile(rb"CONNECT \w+\r\n"))).group()


@reveal("qiopen_bad_format_ok", faithful=b"ERROR")
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    return final(rig, 'AT+QIOPEN="TCPX","127.0.0.1","70000"')


@reveal("qiopen_mux1_accepted", faithful=b"ERROR")
def _(ctx):
    rig = ctx.rig()
    rig.host.at("AT+QIMUX=1")
    rig.activate()
    return final(rig, 'AT+QIOPEN="TCP","127.0.0.1","7"')


@reveal("qiopen_any_state", faithful=b"ERROR")
def _(ctx):
    rig = ctx.rig()
    rig.host.at("AT+QIREGAPP")
    rig.host.at("AT+QIACT")
    return final(rig, 'AT+QIOPEN="TCP","127.0.0.1","7"')  # IP GPRSACT: QILOCIP not yet done


@reveal("ok_before_already_connect", faithful=b"ALREADY CONNECT")
def _(ctx):
    rig, peer = ctx.session()
    return final(rig, f'AT+QIOPEN="TCP","127.0.0.1","{peer.port}"')


@reveal("qiclose_after_fail_drops_context", scale=0.002, faithful="IP CLOSE", qiopen_timeout=20.0)
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    rig.open("TCP", UNREACHABLE, 7007, expect=b"\r\nCONNECT FAIL\r\n")
    rig.host.at("AT+QICLOSE")
    return rig.qistat()


@reveal("qiopen_never_answers", scale=0.002, faithful=True, qiopen_timeout=75.0)
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    rig.open("TCP", UNREACHABLE, 7007, expect=b"")
    return rig.host.wait_for(b"CONNECT FAIL", limits.QIOPEN_WORST[1] + 40) is not None


@reveal("qideact_refused_while_connecting", faithful=b"DEACT OK")
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    rig.sim.inject("qiopen_hang")
    rig.open("TCP", "127.0.0.1", 7, expect=b"")
    return final(rig, "AT+QIDEACT", 30.0)


# -- SEND ---------------------------------------------------------------------------------------
@reveal("ctrlz_sent_as_data", faithful=b"TEST")
def _(ctx):
    rig, peer = ctx.session()
    qisend(rig, b"TEST\x1a")
    peer.wait_received(4, rig.clock)
    rig.clock.sleep(0.5)
    return bytes(peer.received)


@reveal("qisend_limit_1000", faithful=b"> ")
def _(ctx):
    rig, _ = ctx.session()
    rig.host.write(f"AT+QISEND={limits.SEND_MAX}\r")
    return re.search(rb"> |ERROR", rig.host.expect(re.compile(rb"> |ERROR\r\n"))).group()


@reveal("esc_does_not_cancel", faithful=b"abc\r\nOK\r\n")
def _(ctx):
    rig, _ = ctx.session()
    return qisend(rig, b"abc\x1b")


@reveal("backspace_sent_as_data", faithful=b"abc")
def _(ctx):
    rig, peer = ctx.session()
    qisend(rig, b"abX\x08c\x1a")
    peer.wait_received(3, rig.clock)
    rig.clock.sleep(0.5)
    return bytes(peer.received)


@reveal("fixed_stops_at_ctrlz", faithful=b"\x08\x1a\x1b")
def _(ctx):
    rig, peer = ctx.session()
    qisend(rig, b"\x08\x1a\x1b", fixed=True)
    peer.wait_received(1, rig.clock)
    rig.clock.sleep(0.5)
    return bytes(peer.received)


@reveal("qisack_never_acks", faithful=b"+QISACK: 4, 4, 0")
def _(ctx):
    rig, peer = ctx.session()
    qisend(rig, b"ping", fixed=True)
    peer.wait_received(4, rig.clock)
    rig.clock.sleep(0.5)
    return re.search(rb"\+QISACK: [^\r]+", rig.host.at("AT+QISACK")).group()


@reveal("send_buffer_1000")
def _(ctx):
    rig, _ = ctx.session(mode="hold")
    return b"SEND OK" in qisend(rig, b"w" * 1400, fixed=True)


# -- RECV ---------------------------------------------------------------------------------------
@reveal("recv_drops_last_byte", faithful=b"hello")
def _(ctx):
    rig, peer = ctx.session()
    peer.send(b"hello")
    return rig.host.expect(b"hell") + rig.host.collect(1.0)


@reveal("recv_inside_reply", faithful=b"AT+CGATT=1\rDATA\r\nOK\r\n", lat_cgatt=(5.0, 5.0))
def _(ctx):
    rig, peer = ctx.session()
    rig.host.write("AT+CGATT=1\r")
    rig.host.expect(b"AT+CGATT=1\r")
    peer.send(b"DATA")
    return b"AT+CGATT=1\r" + rig.host.expect(b"K\r\n", 20)


@reveal("qird_over_len", faithful=b"1024")
def _(ctx):
    rig, peer = ctx.session(settings=("AT+QINDI=1",))
    peer.send(b"r" * 2000)
    rig.host.expect(b"+QIRDI: 0,1,0\r\n")
    rig.clock.sleep(0.5)
    return re.search(rb",TCP,(\d+)", rig.host.at("AT+QIRD=0,1,0,1024")).group(1)


# -- KEEP ---------------------------------------------------------------------------------------
@reveal("nat_drop_after_60s", scale=0.005, faithful=b"+QISACK: 2, 2, 0")
def _(ctx):
    rig, _ = ctx.session()
    rig.clock.sleep(1.5 * 60)  # idle past the mutant's 60 s NAT timeout
    qisend(rig, b"hb", fixed=True)
    return re.search(rb"\+QISACK: [^\r]+", rig.host.at("AT+QISACK")).group()


@reveal("nat_drop_fake_acks", scale=0.005, faithful=b"+QISACK: 9, 1, 8")
def _(ctx):
    rig, _ = ctx.session()
    rig.sim.inject("nat_drop", persistent=True, idle=10.0)
    qisend(rig, b"a", fixed=True)
    rig.clock.sleep(30.0)
    qisend(rig, b"heartbee", fixed=True)
    rig.clock.sleep(3.0)
    return re.search(rb"\+QISACK: [^\r]+", rig.host.at("AT+QISACK")).group()


# -- CLOSE --------------------------------------------------------------------------------------
@reveal("qiclose_100s", faithful=True)
def _(ctx):
    rig, _ = ctx.session()
    return answered(rig, "AT+QICLOSE", b"CLOSE OK\r\n", 20.0)


@reveal("qideact_keeps_context", faithful="IP INITIAL")
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    rig.host.at("AT+QIDEACT", 30)
    return rig.qistat()


@reveal("info_after_final", faithful=b"AT+CSQ\r\r\n+CSQ: 25,0\r\n\r\nOK\r\n")
def _(ctx):
    rig = ctx.rig()
    return rig.host.at("AT+CSQ") + rig.host.collect(0.5)


# -- TRANS --------------------------------------------------------------------------------------
@reveal("trans_connect_ok", faithful=b"CONNECT\r\n")
def _(ctx):
    peer = ctx.make_peer("sink")
    rig = ctx.rig()
    rig.host.at("AT+QIMODE=1")
    rig.activate()
    rig.host.at(f'AT+QIOPEN="TCP","127.0.0.1","{peer.port}"')
    return re.search(
        rb"CONNECT( OK)?\r\n", rig.host.expect(re.compile(rb"CONNECT( OK)?\r\n"))
    ).group()


@reveal("trans_echoes_data", faithful=False)
def _(ctx):
    rig, _ = ctx.session(settings=("AT+QIMODE=1",))
    rig.host.write(b"hello")
    return rig.host.wait_for(b"hello", 20.0) is not None


@reveal("escape_ignored", scale=0.1, faithful=True)
def _(ctx):
    rig, _ = ctx.session(settings=("AT+QIMODE=1",))
    rig.clock.sleep(1.0)
    rig.host.write(b"+++")
    return rig.host.wait_for(b"\r\nOK\r\n", 5.0) is not None


@reveal("closed_stays_in_data_mode", scale=0.1, faithful=False)
def _(ctx):
    rig, peer = ctx.session(settings=("AT+QIMODE=1",))
    peer.close_conn()
    rig.host.expect(b"CLOSED\r\n")
    rig.clock.sleep(1.0)
    rig.host.write(b"+++")
    return rig.host.wait_for(b"OK\r\n", 5.0) is not None  # OK only if still in data mode


# -- PWR ----------------------------------------------------------------------------------------
@reveal("pwrkey_on_2500ms", scale=0.05, faithful=True)
def _(ctx):
    rig = ctx.rig()
    rig.sim.power_off_now()
    press(rig, W.pwrkey, 1.2)
    return rig.pins.level(W.status)


def test_pwr_on_mutant_spares_the_first_boot(make_rig):
    """A rig must come up on the PWR-ON mutant (only later boots need 2.5 s), or the suites
    could only error in set-up instead of failing the clause's test."""
    rig = make_rig(Profile(**QUICK), 0.05, ["pwrkey_on_2500ms"])
    press(rig, W.pwrkey, 1.2)
    assert rig.pins.level(W.status)


@reveal("power_down_after_20s", faithful=False, lat_power_down=(2.0, 4.0))
def _(ctx):
    rig = ctx.rig()
    press(rig, W.pwrkey, 0.8)
    rig.clock.sleep(limits.POWER_CUT_AFTER.seconds)
    return rig.pins.level(W.status)


@reveal("emerg_off_ignored", faithful=False)
def _(ctx):
    rig = ctx.rig()
    press(rig, W.emerg_off, 0.1)
    return rig.pins.level(W.status)


@reveal("csq_70s", faithful=True)
def _(ctx):
    return answered(ctx.rig(), "AT+CSQ", b"OK\r\n", 20.0)


@reveal("reboot_too_soon_wedges", faithful=True)
def _(ctx):
    rig = ctx.rig()
    for _ in range(2):  # reboot at once, twice in a row
        rig.sim.power_off_now()
        rig.sim.power_on_now()
    rig.clock.sleep(0.3)
    return rig.host.sync(tries=5) > 0


# -- FLOW ---------------------------------------------------------------------------------------
@reveal("deact_ok_as_ok", faithful=b"DEACT OK")
def _(ctx):
    rig = ctx.rig()
    rig.activate()
    return final(rig, "AT+QIDEACT", 30.0)


@reveal("qiact_fault_survives_reboot", faithful=b"OK")
def _(ctx):
    rig = ctx.rig()
    rig.sim.inject("qiact_fail")
    rig.host.at("AT+QIREGAPP")
    assert final(rig, "AT+QIACT") == b"ERROR"
    rig.sim.power_off_now()
    rig.boot()
    rig.host.at("AT+QIREGAPP")
    return final(rig, "AT+QIACT")


# -- the tests ------------------------------------------------------------------------------------
def test_every_clause_is_broken_by_some_mutation():
    covered = {c for m in MUTATIONS.values() for c in m.clauses}
    assert set(CLAUSES) - covered == set()
    assert covered <= set(CLAUSES)  # no mutation cites a clause that does not exist


def test_the_catalogue_documents_each_mutation():
    for name, m in MUTATIONS.items():
        assert m.name == name and m.description and m.shows


def test_every_mutation_has_a_reveal():
    assert set(REVEALS) == set(MUTATIONS)


def test_the_flags_are_the_catalogue():
    """One flag per entry, off by default, in the catalogue's order; switching one on names it."""
    faithful = Mutated()
    assert [f.name for f in dataclasses.fields(Mutated)] == list(MUTATIONS)
    assert faithful.names() == () and not any(getattr(faithful, n) for n in MUTATIONS)
    broken = faithful.with_on("csq_70s").with_on("qird_over_len")
    assert broken.csq_70s and broken.qird_over_len and not faithful.csq_70s
    assert broken.names() == ("csq_70s", "qird_over_len")
    with pytest.raises(UnknownMutation, match="csq_71s"):
        faithful.with_on("csq_71s")


def test_a_mutation_switched_on_shows_in_the_status(make_rig):
    rig = make_rig(mutate=["qird_over_len", "csq_70s"])
    assert rig.sim.status().mutations == ("csq_70s", "qird_over_len")


def test_unknown_mutation_is_a_clear_error(make_rig):
    rig = make_rig()
    with pytest.raises(UnknownMutation, match="known: autobaud_needs_20_at"):
        rig.sim.mutate("break_everything")


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_changes_what_the_host_sees(name, make_rig, make_peer):
    r = REVEALS[name]

    def run(mutate: list[str]) -> object:
        return r.run(Ctx(make_rig, make_peer, mutate, r.scale, r.profile))

    faithful = run([])
    if r.faithful is not None:
        assert faithful == r.faithful
    assert run([name]) != faithful
