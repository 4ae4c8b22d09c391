"""Power sequences, INIT-SYNC, PWR-BACKOFF and identity against small in-test fakes.

The fakes: a module that watches `SimPins` like the real simulator does (boots on a long
enough PWRKEY press, logs out after an off pulse, dies on EMERG_OFF or a supply cut), and a
scripted AT channel. End-to-end runs against the real simulator live in tests/harness/power/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

import pytest

from harness import limits
from harness.at import ATError, ATTimeout, Reply, Urc, UrcKind
from harness.clock import Clock, stamp
from harness.gpio.sim import SimBackend, SimPins
from harness.limits import Verdict
from harness.power import (
    POWER_DOWN_GRACE,
    BackOff,
    BackOffActive,
    BackOffError,
    Identity,
    Power,
    PowerError,
    PowerLines,
    SyncError,
    Terminated,
    identify,
    mask_imei,
    sync,
    terminate_raises,
)

#: 0.05: the 0.6–1 s PWRKEY off window is 30–50 ms of wall time, well above thread noise.
SCALE = 0.05
PWRKEY, EMERG_OFF, STATUS, SUPPLY = 4, 17, 27, 22
STUCK = 10.0  # wall seconds after which a wait in a fake means the test is broken


# -- fakes ----------------------------------------------------------------------------------
class FakeChannel:
    """The bits of ATChannel that power.py uses: URCs, commands by script, a baud rate."""

    def __init__(self, clock: Clock, answer=None) -> None:
        self.clock = clock
        self.answer = answer or (lambda cmd: ("OK", []))
        self.sent: list[tuple[int, str]] = []  # (rate, command)
        self.resets = 0
        self.in_data_mode = False
        self._urcs: deque[Urc] = deque()
        self._cond = threading.Condition()
        self.transport = type("T", (), {"url": "/dev/fake", "baudrate": 115200})()

    def push(self, kind: UrcKind, text: str) -> None:
        with self._cond:
            self._urcs.append(Urc(text, stamp(), kind))
            self._cond.notify_all()

    def wait_urc(self, kind, timeout):
        deadline = self.clock.deadline(timeout)
        with self._cond:
            while True:
                for urc in self._urcs:
                    if urc.kind is kind:
                        self._urcs.remove(urc)
                        return urc
                if deadline.expired:
                    raise ATTimeout(f"no {kind}")
                self._cond.wait(deadline.wall_remaining())

    def command(self, cmd, timeout=None, *, check=False):
        self.sent.append((self.transport.baudrate, cmd))
        final, lines = self.answer(cmd)
        if final is None:
            raise ATTimeout(f"{cmd}: no answer")
        reply = Reply(cmd, lines, final, final == "OK", [], 0.01)
        if check and not reply.ok:
            raise ATError(reply)
        return reply

    def reset_state(self) -> None:
        self.resets += 1


class FakeModule:
    """A module on SimPins: boots after `boot` s of PWRKEY, logs out `logout` s after an off
    pulse inside the window, dies on EMERG_OFF or when the supply relay opens."""

    def __init__(
        self,
        pins,
        clock,
        channel=None,
        boot=0.6,
        logout=3.0,
        status=True,
        rdy=True,
        relay=True,
        emerg=True,
    ):
        self.pins, self.clock, self.channel = pins, clock, channel
        self.boot, self.logout, self.drive_status, self.rdy = boot, logout, status, rdy
        self.relay, self.emerg = relay, emerg  # relay=False: powered without a relay
        self.on = False
        self.boots = 0
        self._pressed_at: int | None = None
        self._was_on = False
        self._release = threading.Event()
        self._threads: list[threading.Thread] = []
        pins.watch(self._watch)
        if channel is not None:
            channel.answer = self._answer

    def _answer(self, cmd):
        return ("OK", []) if self.on else (None, [])  # an off module is silent

    def _later(self, seconds, fn, cancel=None):
        def run():
            if self.clock.sleep(seconds, cancel=cancel):
                fn()

        t = threading.Thread(target=run, daemon=True)
        self._threads.append(t)
        t.start()

    def _set(self, on: bool) -> None:
        self.on = on
        if self.drive_status:
            self.pins.drive(STATUS, on)

    def _booted(self) -> None:
        if not self.on and (self.pins.level(SUPPLY) or not self.relay):
            self.boots += 1
            self._set(True)
            if self.channel is not None and self.rdy:
                self.channel.push(UrcKind.RDY, "RDY")

    def _logged_out(self) -> None:
        if self.on:
            if self.channel is not None:
                self.channel.push(UrcKind.POWER_DOWN, "NORMAL POWER DOWN")
            self._set(False)

    def _watch(self, pin, level, t_ns):
        if pin == PWRKEY and level:
            self._pressed_at, self._was_on = t_ns, self.on
            self._release = threading.Event()
            if not self.on:
                self._later(self.boot, self._booted, cancel=self._release)
        elif pin == PWRKEY and self._pressed_at is not None:
            held = self.clock.module_between(self._pressed_at, t_ns)
            self._release.set()
            self._pressed_at = None
            low, high = limits.PWRKEY_OFF_WINDOW
            if self._was_on and low < held < high:
                self._later(self.logout, self._logged_out)
        else:
            emerg = pin == EMERG_OFF and level and self.emerg
            cut = pin == SUPPLY and not level and self.relay
            if self.on and (emerg or cut):
                self._set(False)

    def join(self):
        for t in self._threads:
            t.join(STUCK)


@pytest.fixture
def clock():
    return Clock(SCALE)


@pytest.fixture
def pins():
    return SimPins()


@pytest.fixture
def backend(pins):
    b = SimBackend(pins)
    yield b
    b.release()


def claim(backend, status=True, supply=True, emerg=True) -> PowerLines:
    return PowerLines(
        pwrkey=backend.output("PWRKEY", PWRKEY),
        emerg_off=backend.output("EMERG_OFF", EMERG_OFF) if emerg else None,
        status=backend.input("STATUS", STATUS) if status else None,
        supply=backend.output("SUPPLY", SUPPLY) if supply else None,
    )


def pulses(pins: SimPins, pin: int, clock: Clock) -> list[float]:
    """Module-second widths of each high stretch of `pin`."""
    out, since = [], None
    for t, level in pins.history(pin):
        if level and since is None:
            since = t
        elif not level and since is not None:
            out.append(clock.module_between(since, t))
            since = None
    return out


# -- PWR-ON ---------------------------------------------------------------------------------
def test_power_on_releases_pwrkey_when_status_rises(pins, backend, clock):
    module = FakeModule(pins, clock, boot=0.6)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    result = power.power_on()
    assert module.on and module.boots == 1
    assert result.evidence == "STATUS"
    (press,) = pulses(pins, PWRKEY, clock)
    assert 0.6 <= press < limits.PWRKEY_ON.seconds  # released once STATUS went high
    assert [t.clause for t in timings] == ["PWR-ON"]
    assert timings[0].verdict is Verdict.PASS and result.timings == tuple(timings)
    # the supply was switched on before PWRKEY (VBAT first)
    assert pins.history(SUPPLY)[-1][0] < pins.history(PWRKEY)[-1][0]


def test_power_on_does_not_press_a_running_module(pins, backend, clock):
    FakeModule(pins, clock)
    power = Power(backend, claim(backend), clock)
    power.power_on()
    again = power.power_on()
    assert again.evidence == "already on"
    assert len(pulses(pins, PWRKEY, clock)) == 1


def test_power_on_fails_clearly_when_status_never_rises(pins, backend, clock):
    FakeModule(pins, clock, boot=5.0)  # longer than PWR-ON allows
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    with pytest.raises(PowerError, match=r"STATUS stayed low.*polarity"):
        power.power_on()
    (press,) = pulses(pins, PWRKEY, clock)
    assert press < limits.PWRKEY_ON.seconds + 0.5  # never held much past the limit
    assert not pins.level(PWRKEY)


def test_power_on_without_status_holds_the_middle_and_waits_for_rdy(pins, backend, clock):
    channel = FakeChannel(clock)
    module = FakeModule(pins, clock, channel, boot=0.6, status=False)
    timings = []
    power = Power(backend, claim(backend, status=False), clock, channel, timings.append)
    result = power.power_on()
    assert module.on and result.evidence == "RDY"
    (press,) = pulses(pins, PWRKEY, clock)
    assert limits.PWRKEY_ON_MIN < press < limits.PWRKEY_ON.seconds
    assert [t.command for t in timings] == ["PWRKEY on", "RDY after PWRKEY"]
    assert channel.resets >= 1


def test_power_on_without_status_or_rdy_is_an_error(pins, backend, clock):
    channel = FakeChannel(clock)
    FakeModule(pins, clock, channel, status=False, rdy=False)
    channel.answer = lambda cmd: (None, [])  # silent even when on: autobaud
    power = Power(backend, claim(backend, status=False), clock, channel)
    with pytest.raises(PowerError, match=r"no RDY.*autobaud"):
        power.power_on()


def test_power_on_with_status_but_no_rdy_notes_it(pins, backend, clock):
    channel = FakeChannel(clock)
    FakeModule(pins, clock, channel, rdy=False)
    result = Power(backend, claim(backend), clock, channel).power_on()
    assert result.evidence == "STATUS" and "no RDY" in result.note


def test_power_needs_a_pwrkey_line(backend, clock):
    power = Power(backend, PowerLines(), clock)
    with pytest.raises(PowerError, match=r"no PWRKEY line wired; add \[gpio\.pwrkey\]"):
        power.power_on()


# -- PWR-OFF --------------------------------------------------------------------------------
def test_power_off_pulses_mid_window_waits_and_cuts_supply_after_12s(pins, backend, clock):
    module = FakeModule(pins, clock, logout=3.0)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    power.power_on()
    timings.clear()
    result = power.power_off()
    assert not module.on and result.evidence == "STATUS low"
    low, high = limits.PWRKEY_OFF_WINDOW
    off = pulses(pins, PWRKEY, clock)[-1]
    assert low < off < high
    assert [(t.clause, t.command) for t in timings] == [
        ("PWR-OFF", "PWRKEY off pulse"),
        ("PWR-OFF", "power down after PWRKEY"),
        ("PWR-OFF", "supply cut after PWRKEY"),
    ]
    assert all(t.verdict is Verdict.PASS for t in timings)
    # the relay opened POWER_CUT_AFTER after the pulse, not when STATUS fell
    pulse_end = pins.history(PWRKEY)[-1][0]
    cut = pins.history(SUPPLY)[-1]
    assert cut[1] is False
    assert clock.module_between(pulse_end, cut[0]) >= limits.POWER_CUT_AFTER.seconds


def test_power_off_uses_normal_power_down_without_status(pins, backend, clock):
    channel = FakeChannel(clock)
    module = FakeModule(pins, clock, channel, status=False, logout=2.0, relay=False)
    power = Power(backend, claim(backend, status=False, supply=False), clock, channel)
    power.power_on()
    result = power.power_off()
    assert not module.on and result.evidence == "NORMAL POWER DOWN"
    down = next(t for t in result.timings if t.command == "power down after PWRKEY")
    # the fake starts its 2 s when the pin changes, a thread switch before Power's stamp
    assert 2.0 - 0.5 <= down.measured < limits.POWER_CUT_AFTER.seconds


def test_power_off_that_does_nothing_is_an_error(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)  # never within 12 s
    power = Power(backend, claim(backend, supply=False), clock)
    power.power_on()
    late = limits.POWER_CUT_AFTER.seconds * POWER_DOWN_GRACE
    with pytest.raises(PowerError, match=f"did not power down within {late:g} s"):
        power.power_off()
    assert module.on


def test_a_late_logout_is_ended_by_the_relay(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0)
    power = Power(backend, claim(backend), clock)
    power.power_on()
    result = power.power_off()
    assert not module.on and result.evidence == "supply cut"
    assert [t.command for t in result.timings] == ["PWRKEY off pulse", "supply cut after PWRKEY"]


def test_power_off_of_an_off_module_does_not_press(pins, backend, clock):
    FakeModule(pins, clock)
    power = Power(backend, claim(backend), clock)
    assert power.power_off().evidence == "already off"
    assert pulses(pins, PWRKEY, clock) == []


# -- PWR-EMERG and reboot -------------------------------------------------------------------
def test_emergency_off(pins, backend, clock):
    module = FakeModule(pins, clock)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append)
    power.power_on()
    result = power.emergency_off()
    assert not module.on and result.evidence == "STATUS low"
    assert timings[-1].clause == "PWR-EMERG" and timings[-1].verdict is Verdict.PASS
    assert not pins.level(EMERG_OFF)


def test_emergency_off_that_does_nothing_is_an_error(pins, backend, clock):
    module = FakeModule(pins, clock, emerg=False)  # EMERG_OFF not connected
    power = Power(backend, claim(backend), clock)
    power.power_on()
    with pytest.raises(PowerError, match=r"STATUS stayed high.*gpio\.emerg_off"):
        power.emergency_off()
    assert module.on and not pins.level(EMERG_OFF)


def test_reboot_is_off_then_on(pins, backend, clock):
    module = FakeModule(pins, clock, logout=1.0)
    power = Power(backend, claim(backend), clock)
    power.power_on()
    result = power.reboot("test")
    assert module.on and module.boots == 2
    clauses = [t.clause for t in result.timings]
    assert clauses[0] == "PWR-OFF" and clauses[-1] == "PWR-ON"


def test_reboot_falls_back_to_emergency_off(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)
    power = Power(backend, claim(backend, supply=False), clock)
    power.power_on()
    result = power.reboot()
    assert module.boots == 2 and "used EMERG_OFF" in result.note
    assert "PWR-EMERG" in [t.clause for t in result.timings]


# -- the safe state -------------------------------------------------------------------------
def test_safe_state_powers_off_and_releases_on_an_exception(pins, backend, clock):
    module = FakeModule(pins, clock, logout=0.5)
    power = Power(backend, claim(backend), clock, on_exit="off")
    with pytest.raises(RuntimeError, match="boom"), power.safe_state():
        power.power_on()
        assert pins.claimed() == {PWRKEY, EMERG_OFF, STATUS, SUPPLY}
        raise RuntimeError("boom")
    assert not module.on
    assert pins.claimed() == set()
    assert not any(pins.level(p) for p in (PWRKEY, EMERG_OFF, SUPPLY))


def test_safe_state_can_leave_the_module_on(pins, backend, clock):
    module = FakeModule(pins, clock, relay=False)
    power = Power(backend, claim(backend, supply=False), clock, on_exit="on")
    with power.safe_state():
        pass  # never switched on here: leaving "on" switches it on
    assert module.on and pins.claimed() == set()


def test_safe_state_falls_back_to_emergency_off(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)
    power = Power(backend, claim(backend, supply=False), clock)
    with power.safe_state():
        power.power_on()
    assert not module.on and pins.claimed() == set()


def test_sigterm_becomes_an_exception_and_handlers_are_restored():
    before_term = signal.getsignal(signal.SIGTERM)
    before_int = signal.getsignal(signal.SIGINT)
    with pytest.raises(Terminated), terminate_raises():
        assert signal.getsignal(signal.SIGINT) is before_int  # pytest's Ctrl+C is untouched
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before_term
    assert issubclass(Terminated, KeyboardInterrupt)  # pytest stops the run, teardown runs


# -- INIT-SYNC ------------------------------------------------------------------------------
class BaudModule:
    """Answers AT only at its rate (or, in autobaud, from the 2nd AT on at any rate)."""

    def __init__(self, channel: FakeChannel, rate: int | None, silent=False) -> None:
        self.channel, self.rate, self.silent = channel, rate, silent
        self.ats = 0

    def __call__(self, cmd):
        here = self.channel.transport.baudrate
        if self.silent:
            return None, []
        if self.rate is None:  # autobaud: learns the rate from "AT"
            if cmd == "AT":
                self.ats += 1
                if self.ats < 2:
                    return None, []
                self.rate = here
            else:
                return None, []
        if here != self.rate:
            return None, []  # garbage at the wrong rate: no final answer
        if cmd.startswith("AT+IPR="):
            self.rate = int(cmd.split("=")[1].split("&")[0])
        return "OK", []


def test_sync_at_the_right_rate_fixes_it():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, 115200)
    timings = []
    result = sync(channel, 115200, clock, record=timings.append)
    assert result.tries == 1 and result.rate == 115200 and result.found_at is None
    assert [c for _, c in channel.sent] == ["AT", "AT+IPR=115200&W"]
    assert [t.clause for t in timings] == ["INIT-SYNC", "INIT-IPR"]


def test_sync_in_autobaud_needs_a_few_ats():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, None)
    result = sync(channel, 57600, clock)
    assert result.tries == 2 and result.rate == 57600
    assert channel.answer.rate == 57600


def test_sync_finds_a_module_fixed_at_another_rate_and_refixes_it():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    module = BaudModule(channel, 9600)
    channel.answer = module
    result = sync(channel, 115200, clock, search=(115200, 57600, 9600))
    assert result.found_at == 9600 and result.rate == 115200
    assert result.rates_tried == (115200, 57600, 9600)
    assert module.rate == 115200 and channel.transport.baudrate == 115200
    assert (9600, "AT+IPR=115200&W") in channel.sent
    at_rig_rate = [c for r, c in channel.sent if r == 115200 and c == "AT"]
    assert len(at_rig_rate) == limits.SYNC_TRIES + 1  # 15 unanswered, then the re-sync


def test_sync_paces_ats_500ms_apart():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, 9600)
    start = stamp()
    with pytest.raises(SyncError):
        sync(channel, 115200, clock)
    # 15 slots of 500 ms each, never fewer (the fake answers "no" at once)
    assert clock.since(start) >= limits.SYNC_TRIES * limits.SYNC_INTERVAL.seconds


def test_sync_error_names_port_rates_and_what_to_check():
    clock = Clock(0.005)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, None, silent=True)
    with pytest.raises(SyncError) as info:
        sync(channel, 115200, clock, search=(57600, 9600))
    text = str(info.value)
    assert "/dev/fake" in text and "115200, 57600, 9600" in text
    assert "TX/RX" in text and "serial.baud" in text
    assert channel.transport.baudrate == 115200


# -- PWR-BACKOFF ----------------------------------------------------------------------------
class FastClock(Clock):
    """A Clock whose sleeps advance a fake calendar instead of waiting."""

    def __init__(self, scale: float, start: float = 1_800_000_000.0) -> None:
        super().__init__(scale)
        self.t = start

    def epoch(self) -> float:
        return self.t

    def advance(self, module_seconds: float) -> None:
        self.t += self.to_wall(module_seconds)

    def sleep(self, module_seconds, cancel=None):
        self.advance(module_seconds)
        return True


def backoff(tmp_path, clock: FastClock, **kw) -> BackOff:
    """A fresh BackOff on the same state dir: what the next run would build."""
    return BackOff(tmp_path / "state", clock, now=clock.epoch, **kw)


@pytest.mark.parametrize("scale", [1.0, 0.02])
def test_backoff_schedule_across_runs(tmp_path, scale):
    clock = FastClock(scale)
    expected = [*limits.BACKOFF, limits.BACKOFF[-1]]  # the last delay repeats
    for run, delay in enumerate(expected):
        b = backoff(tmp_path, clock)
        d = b.decision()
        assert d.attempt == run and d.delay == delay
        if delay:
            assert not d.allowed and d.wait == pytest.approx(delay)
            with pytest.raises(BackOffActive):
                b.check()
            clock.advance(delay - 1)
            assert not backoff(tmp_path, clock).decision().allowed
            clock.advance(1)
        b = backoff(tmp_path, clock)
        assert b.check().allowed
        b.record(f"run {run}")
    history = json.loads((tmp_path / "state" / "backoff.json").read_text())
    assert history["format"] == "modemcert-backoff/1"
    assert [r["reason"] for r in history["reboots"]] == [f"run {i}" for i in range(5)]


def test_backoff_uses_calendar_time_with_the_clock_scale(tmp_path):
    clock = FastClock(0.02)
    backoff(tmp_path, clock).record()
    d = backoff(tmp_path, clock).decision()
    assert d.next_at - d.last_at == pytest.approx(limits.BACKOFF[1] * 0.02)  # 10 min → 12 s


def test_a_quiet_period_resets_the_streak(tmp_path):
    clock = FastClock(1.0)
    b = backoff(tmp_path, clock)
    b.record()
    clock.advance(limits.BACKOFF[1])
    b.record()
    clock.advance(b.quiet + 1)
    d = backoff(tmp_path, clock).decision()
    assert d.allowed and d.attempt == 0
    assert b.quiet == 2 * max(limits.BACKOFF)


def test_backoff_message_says_when_and_how_to_override(tmp_path):
    clock = FastClock(1.0)
    backoff(tmp_path, clock).record()
    clock.advance(limits.BACKOFF[1] - (9 * 60 + 12))
    with pytest.raises(BackOffActive) as info:
        backoff(tmp_path, clock).check()
    text = str(info.value)
    assert "next reboot allowed at" in text and "in 9 min 12 s" in text
    assert "--ignore-backoff" in text and "PWR-BACKOFF" in text


def test_backoff_can_be_ignored_and_says_so_in_the_history(tmp_path):
    clock = FastClock(1.0)
    backoff(tmp_path, clock).record()
    b = backoff(tmp_path, clock, ignore=True)
    assert not b.check().allowed  # no exception
    assert b.record("bench").ignored


def test_backoff_wait_reports_progress_until_allowed(tmp_path):
    clock = FastClock(1.0)
    backoff(tmp_path, clock).record()
    seen = []
    start = clock.t
    d = backoff(tmp_path, clock).wait(progress=seen.append, step=120.0)
    delay = limits.BACKOFF[1]
    assert d.allowed and clock.t - start == pytest.approx(delay)
    assert [round(s.wait) for s in seen] == list(range(round(delay), 0, -120))


def test_a_corrupt_history_is_one_clear_error(tmp_path):
    clock = FastClock(1.0)
    path = tmp_path / "state" / "backoff.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(BackOffError, match="delete it to forget"):
        backoff(tmp_path, clock).decision()


def test_reboot_respects_the_backoff(tmp_path, pins, backend):
    clock = FastClock(SCALE)
    FakeModule(pins, Clock(SCALE), logout=0.5)
    b = backoff(tmp_path, clock)
    power = Power(backend, claim(backend), Clock(SCALE), backoff=b)
    power.power_on()
    power.reboot("first")
    with pytest.raises(BackOffActive):
        power.reboot("second")
    assert [r.reason for r in b.history()] == ["first"]


# -- identity -------------------------------------------------------------------------------
M95 = {
    "ATI": ["Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08"],
    "AT+CGMM": ["Quectel_M95"],
    "AT+GMR": ["Revision: M95FAR02A08"],
    "AT+QGMR": ["M95FAR03A04"],
    "AT+GSN": ["861234567890123"],
    "AT+QCCID": ["89860012345678901234"],
}


def test_identify_reads_every_field():
    channel = FakeChannel(Clock(0.01), answer=lambda cmd: ("OK", M95[cmd]))
    ident = identify(channel)
    assert ident == Identity(
        "Quectel_M95", "M95FAR02A08", "M95FAR03A04", "861234567890123", "89860012345678901234"
    )
    assert ident.as_dict()["imei"] == "xxxxxxxxxxxx123"
    assert ident.as_dict(mask=False)["imei"] == "861234567890123"


def test_identify_tolerates_error_or_silence_from_any_one():
    def answer(cmd):
        if cmd in ("AT+QGMR", "AT+CGMM"):
            return "ERROR", []
        if cmd == "AT+QCCID":
            return None, []  # timeout
        return "OK", M95[cmd]

    ident = identify(Channel := FakeChannel(Clock(0.01), answer=answer))
    assert ident.model == "Quectel_M95"  # from ATI
    assert ident.firmware == "M95FAR02A08"  # no AT+QGMR: the revision
    assert ident.iccid is None and ident.imei == "861234567890123"
    assert set(ident.missing) == {"AT+QGMR", "AT+CGMM", "AT+QCCID"}
    assert len(Channel.sent) == 6


def test_identify_accepts_prefixed_numbers():
    def answer(cmd):
        return "OK", {"AT+GSN": ["+GSN: 861234567890123"], "AT+QCCID": ["+QCCID: 8986001F"]}.get(
            cmd, []
        )

    ident = identify(FakeChannel(Clock(0.01), answer=answer))
    assert ident.imei == "861234567890123" and ident.iccid == "8986001F"
    assert ident.model is None


def test_mask_imei():
    assert mask_imei("861234567890123") == "xxxxxxxxxxxx123"
    assert mask_imei(None) is None
    assert mask_imei("12") == "12"


# -- SIGTERM in another process -------------------------------------------------------------
CHILD = Path(__file__).parent / "power" / "sigterm_child.py"


def run_child(tmp_path, mode: str) -> tuple[int, dict]:
    """Start the child, wait for it to hold its lines, SIGTERM it, return (status, pins)."""
    state = tmp_path / "pins.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(state), mode],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        status = child.wait(timeout=STUCK)
    finally:
        child.kill()
        child.stdout.close()
    return status, json.loads(state.read_text())


def test_sigterm_leaves_the_lines_released(tmp_path):
    status, pins = run_child(tmp_path, "safe")
    assert status == 143  # Terminated reached the top: finalizers ran
    assert pins["claimed"] == []
    assert pins["levels"] == {"4": False, "17": False, "22": False}


def test_without_safe_state_sigterm_leaves_lines_held(tmp_path):
    # The control: the same child outside safe_state() dies with PWRKEY pressed.
    status, pins = run_child(tmp_path, "bare")
    assert status == -signal.SIGTERM
    assert pins["claimed"] == [4, 17, 22]
    assert pins["levels"]["4"] is True


# -- per-model limits and the error taxonomy ------------------------------------------------------
def test_an_m66_gets_its_own_off_pulse_window(pins, backend, clock):
    from harness.limits import profile_for

    FakeModule(pins, clock, logout=0.5)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append, profile=profile_for("M66"))
    power.power_on()
    power.power_off()
    off = pulses(pins, PWRKEY, clock)[-1]
    assert 0.7 < off < 1.0  # the middle of the M66's 0.7–1 s, not the M95's 0.6–1 s
    pulse = next(t for t in timings if t.command == "PWRKEY off pulse")
    assert pulse.verdict is Verdict.PASS and "M66 Hardware Design" in pulse.note


def test_emerg_off_is_judged_against_the_documented_minimum(pins, backend, clock):
    from harness.limits import profile_for

    FakeModule(pins, clock)
    timings = []
    power = Power(backend, claim(backend), clock, record=timings.append, profile=profile_for("M85"))
    power.power_on()
    power.emergency_off()
    emerg = timings[-1]
    assert emerg.verdict is Verdict.PASS and "over the 0.04 s M85 asks" in emerg.note


def test_power_errors_are_rig_faults():
    from harness.errors import RigFault, category_of

    for cls in (PowerError, SyncError, BackOffError):
        assert issubclass(cls, RigFault) and category_of(cls("x")).value == "rig fault"
    assert issubclass(BackOffActive, RigFault)


def test_reboot_records_the_backoff_it_kept(tmp_path, pins, backend):
    clock = FastClock(SCALE)
    FakeModule(pins, Clock(SCALE), logout=0.5)
    timings = []
    power = Power(backend, claim(backend), Clock(SCALE), record=timings.append,
                  backoff=backoff(tmp_path, clock))  # fmt: skip
    power.power_on()
    power.reboot("trouble")
    [pace] = [t for t in timings if t.clause == "PWR-BACKOFF"]
    assert pace.verdict is Verdict.PASS and "trouble" in pace.note and "allowed" in pace.note


def test_force_off_says_what_it_did(pins, backend, clock):
    module = FakeModule(pins, clock, logout=30.0, relay=False)
    power = Power(backend, claim(backend, supply=False), clock)
    power.power_on()
    done = power.force_off()
    assert not module.on
    assert done[0].startswith("PWRKEY off failed") and done[1] == "EMERG_OFF: STATUS low"
