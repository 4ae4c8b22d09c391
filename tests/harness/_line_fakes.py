"""Small fakes for the power, INIT-SYNC and identity tests (helpers, not tests).

`FakeModule` watches `SimPins` like the real simulator does (boots on a long enough PWRKEY
press, logs out after an off pulse, dies on EMERG_OFF or a supply cut); `FakeChannel` is a
scripted AT channel; `BaudModule` answers only at its rate; `FastClock` advances a fake calendar.
End-to-end runs against the real simulator live in tests/harness/power/test_power_sim.py.
"""

from __future__ import annotations

import threading

from harness import limits
from harness.at import ATError, ATTimeout, Reply, Urc, UrcKind, UrcLog
from harness.clock import Clock, stamp
from harness.gpio.sim import SimPins
from harness.power import PowerLines

#: 0.05: the 0.6–1 s PWRKEY off window is 30–50 ms of wall time, well above thread noise.
SCALE = 0.05
PWRKEY, EMERG_OFF, STATUS, SUPPLY = 4, 17, 27, 22
STUCK = 10.0  # wall seconds after which a wait in a fake means the test is broken


class FakeChannel:
    """The bits of ATChannel that power.py uses: URCs, commands by script, a baud rate."""

    def __init__(self, clock: Clock, answer=None) -> None:
        self.clock = clock
        self.answer = answer or (lambda cmd: ("OK", []))
        self.sent: list[tuple[int, str]] = []  # (rate, command)
        self.resets = 0
        self.in_data_mode = False
        self._cond = threading.Condition()
        self._urcs = UrcLog(self._cond, clock)  # the channel's URC log, with its cursors
        self._default = self._urcs.subscribe()
        self.transport = type("T", (), {"url": "/dev/fake", "baudrate": 115200})()

    def push(self, kind: UrcKind, text: str) -> None:
        with self._cond:
            self._urcs.append(Urc(text, stamp(), kind))
            self._cond.notify_all()

    def subscribe(self, kinds=None, *, since_ns=None):
        return self._urcs.subscribe(kinds, since_ns=since_ns)

    def wait_urc(self, kind, timeout):
        return self._default.wait(timeout, kind)

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
