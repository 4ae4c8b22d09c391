"""Chapter 9's flow chart end to end, driven by harness/process.py (the recommended process).

FLOW-HAPPY walks power-on to AT+QIDEACT with every step inside its limit and no detour;
FLOW-RECOVER causes "reboot" and "deactivate and retry" edges for real and checks, from the
process's decisions, that each ends back on the happy path with no data lost. Every decision is
kept in timings.json (`decisions`) and shown as a step of the test's Allure result.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence

import allure
import pytest

from harness import limits
from harness.clock import epoch
from harness.modem import IpState, Modem
from harness.power import BackOff, Power, StillOn
from harness.process import Decision, Process, ProcessError, ProcessRigError
from harness.station import Station

#: The happy path of the flow chart, as the clauses of the process's decisions, in order.
HAPPY = (
    "INIT-SYNC",
    "INIT-CPIN",
    "INIT-CREG",
    "INIT-CGREG",
    "INIT-CGATT",
    "INIT-APN",
    "PDP-ACT",
    "OPEN-TCP",
    "SEND-ACK",
    "CLOSE",
    "PDP-DEACT",
)
#: Decisions that leave the happy path: every recovery branch of the chart.
DETOURS = frozenset(
    {
        "AT-TIMEOUT",
        "PWR-EMERG",
        "PWR-OFF",
        "PWR-BACKOFF",
        "PDP-ACT-RETRY",
        "PDP-LOST",
        "OPEN-ERR-FORMAT",
        "OPEN-ERR-MUX",
        "OPEN-ERR-STATE",
        "OPEN-ALREADY",
        "OPEN-FAIL",
        "OPEN-RETRY",
        "SEND-WINDOW",
        "KEEP-CHECK",
    }
)
#: The stream each flow sends: more than two AT+QISEND inputs, every byte value.
PAYLOAD = bytes(range(256)) * ((2 * limits.SEND_MAX) // 256 + 1)


class Guard:
    """A Process observer: stops the flow (AssertionError) at the first decision it must not
    take, so a module that breaks the chart fails fast instead of rebooting on and on."""

    def __init__(self, why: str, stop: Callable[[Decision, int], bool]) -> None:
        self.why = why
        self.stop = stop
        self.reboots = 0
        self.hooks: list[Callable[[Decision], None]] = []
        self.last: Decision | None = None

    def __call__(self, d: Decision) -> None:
        if d.clause == "PWR-BACKOFF":  # every reboot asks the back-off first
            self.reboots += 1
        if self.stop(d, self.reboots):
            before = f" after {self.last.clause}: {self.last.what}" if self.last else ""
            raise AssertionError(f"{self.why}; the process decided {d.clause}: {d.what}{before}")
        self.last = d
        for hook in self.hooks:
            hook(d)


def recorded(timings) -> Callable[[Decision], None]:
    """A Process observer: each decision into timings.json's `decisions` (with this test) and
    into the test's Allure steps, so the report shows the path the process took."""

    def keep(d: Decision) -> None:
        recorder = timings.log.recorder
        recorder.add_decision(timings.nodeid, d.clause, d.what, epoch(), d.reaction.value)
        with allure.step(f"{d.title} [{d.reaction.value}]"):
            pass

    return keep


def make_process(station: Station, timings, tmp_path, guard: Guard) -> Process:
    """The recommended process on the rig's lines, with a back-off history of its own; its
    decisions are recorded first, then judged by `guard`."""
    lines = station.power
    power = Power(
        lines.backend,
        lines.lines,
        station.clock,
        station.channel,
        timings.record,
        expect_rdy=lines.expect_rdy,
    )
    apn, user, password = station.rig.network.credentials()
    process = Process(
        Modem(station.channel, station.clock, timings.record),
        station.clock,
        power,
        BackOff(tmp_path / "backoff", station.clock),
        apn=apn,
        user=user,
        password=password,
        rate=station.rig.serial.baud,
        observer=recorded(timings),
    )
    process.add_observer(guard)
    return process


@contextlib.contextmanager
def on_the_chart(clause: str) -> Iterator[None]:
    """A process that runs out of the document's recovery (ProcessError) fails `clause`: the
    module never got back to the happy path. A module that stays on through EMERG_OFF on a rig
    that has the line fails PWR-EMERG, as in suites/test_power.py; other rig errors stay the
    rig's."""
    try:
        yield
    except ProcessError as e:
        raise AssertionError(f"{clause}: the recommended process gave up: {e}") from None
    except ProcessRigError as e:
        if isinstance(e.power_error, StillOn):
            raise AssertionError(f"PWR-EMERG: EMERG_OFF switches the module off; {e}") from None
        raise


def follows(path: Sequence[str], expected: Sequence[str]) -> bool:
    """Does `path` contain `expected` in order (other decisions may come between)?"""
    rest = iter(path)
    return all(any(step == want for step in rest) for want in expected)


def tail_after(path: Sequence[str], clause: str) -> list[str]:
    """The decisions after the last one of `clause`."""
    last = max(i for i, c in enumerate(path) if c == clause)
    return list(path[last + 1 :])


def delivered(peer, mark: int, *parts: bytes) -> None:
    """Each part arrived whole, in order, on its own new TCP connection at the peer."""
    after = mark
    for n, part in enumerate(parts, start=1):
        conn = peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=after)
        stats = peer.wait_bytes(conn.id, len(part), limits.ACK.seconds)
        assert stats.bytes_in == len(part), (
            f"connection {n}: the peer got {stats.bytes_in} bytes, {len(part)} were sent"
        )
        assert stats.sha256_in == hashlib.sha256(part).hexdigest(), (
            f"connection {n}: the peer got other bytes than were sent (data lost or altered)"
        )
        after = conn.id


# -- FLOW-HAPPY -------------------------------------------------------------------------------
@pytest.mark.clause("FLOW-HAPPY")
@pytest.mark.requires("power")
def test_power_on_to_qideact_every_step_in_its_limit(station, peer, timings, tmp_path):
    """Power on → sync → CPIN → CREG → CGREG → configuration → QIREGAPP/QIACT/QILOCIP →
    QIOPEN → QISEND/QISACK → QICLOSE → QIDEACT, every step inside its limit, no detour."""
    if station.power.is_on():
        station.power.power_off()
    peer.set_mode("sink")
    guard = Guard("FLOW-HAPPY: the happy path takes no detour", lambda d, _: d.clause in DETOURS)
    process = make_process(station, timings, tmp_path, guard)
    mark = peer.mark()
    with on_the_chart("FLOW-HAPPY"):
        process.session("TCP", peer.host, peer.port, PAYLOAD, deactivate=True)
    path = process.path()
    assert path[0] == "PWR-ON" and follows(path, HAPPY), (
        f"FLOW-HAPPY: expected PWR-ON then {' → '.join(HAPPY)}; the process went {path}"
    )
    assert process.reboots == 0
    delivered(peer, mark, PAYLOAD)
    assert process.modem.qistat() is IpState.IP_INITIAL, "FLOW-HAPPY ends at IP INITIAL"


# -- FLOW-RECOVER -----------------------------------------------------------------------------
def one_reboot(why: str) -> Guard:
    """A guard allowing exactly one reboot: after it the flow must be back on the happy path."""
    return Guard(f"FLOW-RECOVER: {why}", lambda d, reboots: reboots > 1)


@pytest.mark.clause("FLOW-RECOVER", "PDP-ACT-RETRY")
@pytest.mark.requires("power")
def test_three_qiact_failures_reboot_then_the_happy_path(module, sim, peer, timings, tmp_path):
    """AT+QIACT failing 3 times in a row: deactivate and retry twice, then reboot (at once, the
    first of the back-off); after the reboot the flow runs the happy path with no data lost."""
    sim.inject("qiact_fail", count=limits.QIACT_FAILURES)
    peer.set_mode("sink")
    guard = one_reboot("after the reboot for 3 QIACT failures the context activates")
    process = make_process(module, timings, tmp_path, guard)
    mark = peer.mark()
    with on_the_chart("FLOW-RECOVER"):
        process.session("TCP", peer.host, peer.port, PAYLOAD, deactivate=True)
    path = process.path()
    retry = ["PDP-ACT-RETRY"] * limits.QIACT_FAILURES
    assert follows(path, [*retry, "PWR-BACKOFF", "PWR-OFF", "PWR-ON", *HAPPY]), (
        f"FLOW-RECOVER: 3 QIACT failures → reboot → happy path; the process went {path}"
    )
    assert process.reboots == 1 and not DETOURS & set(tail_after(path, "PWR-ON")), path
    delivered(peer, mark, PAYLOAD)


@pytest.mark.clause("FLOW-RECOVER", "OPEN-FAIL")
@pytest.mark.requires("peer.refuse", "power")  # the process reboots with PWRKEY if it must
def test_connect_fail_deactivate_and_retry(module, peer, timings, tmp_path):
    """CONNECT FAIL (the peer refuses): AT+QISTAT, then AT+QIDEACT (or AT+QICLOSE while TCP
    CONNECTING) and a new AT+QIOPEN, with no reboot; the data then arrives whole."""
    guard = Guard(
        "FLOW-RECOVER: CONNECT FAIL is answered by deactivate and retry, never a reboot",
        lambda d, reboots: reboots > 0 or d.clause in ("PWR-EMERG", "PWR-OFF"),
    )
    peer.set_mode("refuse")

    def listen_again(d: Decision) -> None:
        if d.clause == "OPEN-FAIL":
            peer.set_mode("sink")  # the next AT+QIOPEN finds the peer listening

    guard.hooks.append(listen_again)
    process = make_process(module, timings, tmp_path, guard)
    mark = peer.mark()
    with on_the_chart("FLOW-RECOVER"):
        process.session("TCP", peer.host, peer.port, PAYLOAD, deactivate=True)
    path = process.path()
    [fail] = [d for d in process.decisions if d.clause == "OPEN-FAIL"]
    again = ["PDP-DEACT", "PDP-ACT", "OPEN-TCP"] if "QIDEACT" in fail.what else ["OPEN-TCP"]
    assert follows(path, ["OPEN-FAIL", *again, "SEND-ACK", "CLOSE", "PDP-DEACT"]), (
        f"FLOW-RECOVER: CONNECT FAIL → {' → '.join(again)} → happy path; the process went {path}"
    )
    assert process.reboots == 0
    delivered(peer, mark, PAYLOAD)


@pytest.mark.clause("FLOW-RECOVER", "PWR-EMERG")
@pytest.mark.requires("emerg_off")
def test_silent_module_emerg_off_then_the_happy_path(module, sim, peer, timings, tmp_path):
    """A module gone silent mid-session: no answer within the AT limit → back-off (at once) →
    EMERG_OFF → power on → bring-up → reopen; what was acknowledged stays delivered and the
    rest arrives on the new session, nothing lost."""
    peer.set_mode("sink")
    guard = one_reboot("after one EMERG_OFF restart the module answers again")
    process = make_process(module, timings, tmp_path, guard)
    first, second = PAYLOAD[: limits.SEND_MAX], PAYLOAD[limits.SEND_MAX :]
    mark = peer.mark()
    with on_the_chart("FLOW-RECOVER"):
        process.open("TCP", peer.host, peer.port)
        process.send(first)
        process.flush()
        before = len(process.decisions)
        sim.inject("silent")
        with timings.provoked("fault injected: silent"):
            process.send(second)
        process.close()
        process.deactivate()
    path = process.path(before)
    assert follows(path, ["PWR-BACKOFF", "PWR-EMERG", "PWR-ON", *HAPPY]), (
        f"FLOW-RECOVER: silent → EMERG_OFF → happy path; the process went {path}"
    )
    [backoff] = [d for d in process.decisions if d.clause == "PWR-BACKOFF"]
    assert "at once" in backoff.what, f"PWR-BACKOFF: the first reboot is at once: {backoff.what}"
    assert process.reboots == 1 and not DETOURS & set(tail_after(path, "PWR-ON")), path
    delivered(peer, mark, first, second)
