"""Chapter 9's power notes: PWRKEY on and off, EMERG_OFF, every command's limit, reboot back-off.

Walks PWR-ON, PWR-OFF, PWR-EMERG, AT-TIMEOUT and PWR-BACKOFF of PROCESS.md with the rig's own
lines (`station.power`); every test leaves the module on and in sync, as the station had it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness import limits
from harness.at import ATChannel, ATTimeout, Reply, UrcKind
from harness.clock import Clock
from harness.errors import HarnessBug
from harness.limits import Timing, Verdict
from harness.modem import ResultCode
from harness.power import QUIET_FACTOR, BackOff, BackOffActive, Power, PowerError
from harness.station import Station

#: The injected calendar's first reading (2026-01-01 00:00 UTC) in the back-off tests.
CALENDAR_ORIGIN = 1_767_225_600.0


def answering(station: Station, recover) -> Power:
    """The rig's power lines, with the module on and answering AT (recovered if it was not)."""
    if not station.alive():
        recover("the module did not answer AT before a power test")
    return station.power


def steps(timings, clause: str, command: str, since: int = 0) -> list[Timing]:
    """The steps of `clause` named `command` recorded after the first `since` steps."""
    timing = [s.timing for s in timings.steps[since:]]
    return [t for t in timing if t.clause == clause and t.command == command]


def at_answers(at: ATChannel) -> Reply:
    """`AT`, waiting the full AT-TIMEOUT default limit for its OK."""
    reply = at.command("AT")
    assert reply.ok, f"AT answered {reply.final}, not OK"
    return reply


# -- PWR-ON -----------------------------------------------------------------------------------
@pytest.mark.clause("PWR-ON")
@pytest.mark.requires("power", "status")
def test_pwrkey_on_within_2s(station, timings):
    """Power on: PWRKEY pressed, then released within 2 s; STATUS goes high during the press,
    RDY follows, and the module answers AT."""
    power = station.power
    if power.is_on():  # not answering() first: a module that cannot boot fails here, not there
        power.power_off()
    assert power.is_on() is False, "PWR-ON starts from a module that is off"
    mark = len(timings.steps)
    try:
        result = power.power_on()
    except PowerError as e:
        raise AssertionError(
            f"PWR-ON: a PWRKEY press of at most {limits.PWRKEY_ON.seconds:g} s switches the "
            f"module on; {e}"
        ) from None
    [press] = steps(timings, "PWR-ON", "PWRKEY on", mark)
    # STATUS rose within PWR-ON's 2 s (judged as recorded: by the last read that saw it low,
    # and within the rig's timing resolution).
    assert press.verdict is not Verdict.FAIL, f"PWR-ON: {press.describe()} ({press.note})"
    assert result.evidence == "STATUS", f"PWR-ON: STATUS must rise; evidence {result.evidence}"
    if power.expect_rdy:  # a module left in autobaud prints no RDY (PROTOCOL.md §2)
        assert steps(timings, "PWR-ON", "RDY after PWRKEY", mark), "PWR-ON: no RDY after it"
    station.bring_up()
    at_answers(station.channel)


# -- PWR-OFF ----------------------------------------------------------------------------------
@pytest.mark.clause("PWR-OFF")
@pytest.mark.requires("power", "status", "supply")
def test_pwrkey_off_pulse_then_supply_cut_after_12s(station, timings, recover):
    """Power off: PWRKEY pulled for under 1 s (0.6–1 s); the module logs out, says NORMAL POWER
    DOWN and drops STATUS within 12 s; only then is the supply cut."""
    power = answering(station, recover)
    station.channel.urcs()
    mark = len(timings.steps)
    result = power.power_off()
    # The pulse is the host's own: the power layer times it inside the window (marginal at
    # its edge, a rig fault beyond) and records it; nothing about it is the module's.
    [pulse] = steps(timings, "PWR-OFF", "PWRKEY off pulse", mark)
    if pulse.verdict is Verdict.FAIL:
        raise HarnessBug(f"PWR-OFF: the harness's own pulse was judged: {pulse.describe()}")
    assert result.evidence in (ResultCode.NORMAL_POWER_DOWN, "STATUS low"), (
        f"PWR-OFF: the module powers down by itself within {limits.POWER_CUT_AFTER.seconds:g} s "
        f"of the PWRKEY pulse; it was still on when the supply was cut ({result.evidence})"
    )
    [down] = steps(timings, "PWR-OFF", "power down after PWRKEY", mark)
    assert down.verdict is not Verdict.FAIL, f"PWR-OFF: {down.describe()}"
    if result.evidence != ResultCode.NORMAL_POWER_DOWN:  # STATUS fell first: the URC comes
        try:
            station.channel.wait_urc(UrcKind.POWER_DOWN, limits.POWER_CUT_AFTER.seconds)
        except ATTimeout:
            raise AssertionError("PWR-OFF: STATUS fell but NORMAL POWER DOWN never came") from None
    [cut] = steps(timings, "PWR-OFF", "supply cut after PWRKEY", mark)
    if cut.measured < limits.POWER_CUT_AFTER.seconds:  # the host cuts the supply, not the module
        raise HarnessBug(f"PWR-OFF: the supply was cut too early: {cut.describe()}")
    station.bring_up()
    at_answers(station.channel)


# -- PWR-EMERG and AT-TIMEOUT -----------------------------------------------------------------
@pytest.mark.clause("PWR-EMERG", "AT-TIMEOUT")
@pytest.mark.requires("emerg_off", "status")
def test_silent_module_restarted_by_emerg_off(module, sim, at, timings):
    """A module that gives no answer within the AT-TIMEOUT limit (60 s for AT) is restarted
    with EMERG_OFF: STATUS drops, and after PWRKEY on it answers AT again."""
    power = module.power
    sim.inject("silent")
    with timings.provoked("fault injected: silent"), pytest.raises(ATTimeout) as silent:
        at.command("AT")
    assert silent.value.limit is limits.DEFAULT_COMMAND, "AT-TIMEOUT: AT waits 60 s"
    waited = silent.value.reply.elapsed if silent.value.reply is not None else 0.0
    assert waited >= limits.DEFAULT_COMMAND.seconds, (
        f"AT-TIMEOUT: the host waits the full {limits.DEFAULT_COMMAND.seconds:g} s before it "
        f"reboots; it gave up after {waited:.1f} s"
    )
    mark = len(timings.steps)
    try:
        power.emergency_off()
    except PowerError as e:
        raise AssertionError(f"PWR-EMERG: EMERG_OFF switches the module off; {e}") from None
    [pull] = steps(timings, "PWR-EMERG", "EMERG_OFF pulse", mark)
    assert pull.verdict is Verdict.PASS and power.is_on() is False, f"PWR-EMERG: {pull.describe()}"
    module.bring_up()
    at_answers(at)


@pytest.mark.clause("AT-TIMEOUT")
def test_plain_commands_answer_within_60s(modem, at):
    """Every command waits for its final answer; plain commands have 60 s: AT+CSQ, AT+CPIN?,
    AT+CREG? and ATI answer inside it."""
    rssi, ber = modem.csq()
    assert rssi in (*range(32), 99) and ber in (*range(8), 99), f"+CSQ: {rssi},{ber}"
    assert modem.cpin().ready
    reg = modem.creg()  # any state: this test judges the answer's time, not the network
    assert 0 <= reg.stat <= 5, f"AT-TIMEOUT: +CREG <stat> is 0–5, the module said {reg.stat}"
    timing = at.command("ATI", check=True).timing()
    assert timing.limit == limits.DEFAULT_COMMAND.seconds, "ATI is a plain command: 60 s"
    assert timing.verdict is not Verdict.FAIL, f"AT-TIMEOUT: {timing.describe()}"


@pytest.mark.clause("AT-TIMEOUT")
def test_network_command_waits_past_60s_for_its_own_limit(modem, pdp, sim, timings):
    """Network commands get their own limit, not the 60 s default: an AT+QIDEACT whose DEACT OK
    comes after 75 s is waited for (its limit is 90 s) and is not a timeout."""
    slow = (limits.DEFAULT_COMMAND.seconds + limits.QIDEACT.seconds) / 2
    sim.inject("qideact_slow", seconds=slow)
    with timings.provoked(f"fault injected: qideact_slow seconds={slow:g}"):
        reply = modem.qideact()
    assert reply.code is ResultCode.DEACT_OK, f"PDP-DEACT: AT+QIDEACT answered {reply.final}"
    assert reply.elapsed > limits.DEFAULT_COMMAND.seconds, (
        f"the DEACT OK came after {reply.elapsed:.1f} s: the fault did not slow it down"
    )


# -- PWR-BACKOFF ------------------------------------------------------------------------------
@dataclass
class Calendar:
    """An injected calendar clock for BackOff(now=...): moved on in module seconds."""

    clock: Clock
    t: float = CALENDAR_ORIGIN

    def __call__(self) -> float:
        return self.t

    def advance(self, module_seconds: float) -> None:
        self.t += self.clock.to_wall(module_seconds)


def note_delay(timings, decision, expected: float) -> None:
    """Record one back-off decision: the delay it asks before the next reboot."""
    timings.record(
        Timing(
            "PWR-BACKOFF",
            f"back-off before reboot {decision.attempt + 1} of a streak",
            decision.delay,
            None,
            None,
            Verdict.PASS if decision.delay == expected else Verdict.FAIL,
            f"the document: {expected / 60:g} min",
        )
    )


@pytest.mark.clause("PWR-BACKOFF")
def test_backoff_at_once_then_10_30_60_min(station, timings, tmp_path):
    """On repeated trouble reboot at once the first time, then after 10 min, 30 min, 1 h (and 1 h
    on); the history outlives the run, and trouble long after the last reboot is new trouble."""
    calendar = Calendar(station.clock)
    backoff = BackOff(tmp_path / "state", station.clock, now=calendar)
    first = backoff.decision()
    assert first.allowed and first.attempt == 0 and first.delay == limits.BACKOFF[0]
    note_delay(timings, first, limits.BACKOFF[0])
    schedule = [*limits.BACKOFF[1:], limits.BACKOFF[-1]]
    for n, delay in enumerate(schedule, start=1):
        backoff.record(f"trouble {n}")
        decision = backoff.decision()
        assert not decision.allowed and decision.attempt == n, decision.message()
        assert decision.delay == delay and decision.wait == pytest.approx(delay), (
            f"PWR-BACKOFF: reboot {n + 1} waits {delay / 60:g} min; {decision.message()}"
        )
        note_delay(timings, decision, delay)
        calendar.advance(delay / 2)
        again = BackOff(tmp_path / "state", station.clock, now=calendar).decision()
        assert not again.allowed and again.wait == pytest.approx(delay / 2), (
            "the back-off history must outlive the run that wrote it"
        )
        calendar.advance(delay / 2)
        assert backoff.decision().allowed, f"after {delay / 60:g} min reboot {n + 1} is allowed"
    backoff.record("trouble again")
    calendar.advance(QUIET_FACTOR * max(limits.BACKOFF) + 1.0)
    fresh = backoff.decision()
    assert fresh.allowed and fresh.attempt == 0, "trouble long after the last reboot is new"


@pytest.mark.clause("PWR-BACKOFF")
@pytest.mark.requires("power")
def test_reboot_at_once_then_not_for_10_min(station, timings, tmp_path, recover):
    """The first reboot of a streak happens at once and the module comes back; a second one
    asked for right after is refused (10 min to wait) and leaves the module alone."""
    calendar = Calendar(station.clock)
    backoff = BackOff(tmp_path / "state", station.clock, now=calendar)
    rig_power = answering(station, recover)
    power = Power(
        rig_power.backend,
        rig_power.lines,
        station.clock,
        station.channel,
        timings.record,
        expect_rdy=rig_power.expect_rdy,
        backoff=backoff,
    )
    power.reboot("trouble 1")
    station.bring_up()
    at_answers(station.channel)
    assert len(backoff.history()) == 1, "the reboot is written to the back-off history"
    station.channel.urcs()
    with pytest.raises(BackOffActive) as refused:
        power.reboot("trouble 2")
    decision = refused.value.decision
    assert decision.delay == limits.BACKOFF[1] and decision.wait == pytest.approx(
        limits.BACKOFF[1]
    ), f"PWR-BACKOFF: the second reboot waits 10 min; {decision.message()}"
    note_delay(timings, decision, limits.BACKOFF[1])
    assert rig_power.is_on() is not False and len(backoff.history()) == 1
    at_answers(station.channel)
    assert not [u for u in station.channel.urcs() if u.kind is UrcKind.RDY], (
        "a refused reboot must not touch the module"
    )


@pytest.mark.clause("PWR-BACKOFF")
@pytest.mark.requires("power")
def test_module_rebooted_twice_at_once_still_answers(module, sim):
    """Rebooting often is what PWR-BACKOFF forbids; the harness's recovery never does it, but
    a module must survive the bench doing it: after two reboots in a row it answers AT.
    Sim only (the `sim` fixture): on a real module this is the very abuse the clause warns of."""
    power = module.power
    for _ in range(2):
        power.power_off()
        power.power_on()
        at_answers(module.channel)
    module.bring_up()
