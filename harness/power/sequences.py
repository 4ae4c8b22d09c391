"""PWR-ON, PWR-OFF and PWR-EMERG as the document and the hardware manual time them.

Each sequence drives the lines, waits for the module's answer (STATUS, RDY, NORMAL POWER DOWN)
and records its pulses as `Timing`s; a sequence the module does not follow is a `PowerError`.
"""

from __future__ import annotations

from harness import limits
from harness.at import UrcKind
from harness.clock import HOST_JITTER_WALL, Deadline, stamp
from harness.commands import ResultCode
from harness.gpio.base import InputLine, OutputLine
from harness.limits import EMERG_OFF_MAX, EMERG_OFF_PULSE, Timing, Verdict
from harness.power.lines import (
    POLL_WALL_FLOOR,
    POWER_DOWN_GRACE,
    STATUS_AFTER_CUT,
    STATUS_POLL,
    LineDriver,
    PowerError,
    PowerResult,
    PulseMissed,
    StillOn,
    _aim,
)


class Sequences(LineDriver):
    """The three documented sequences on a rig's lines."""

    # -- PWR-ON -------------------------------------------------------------------------------
    def power_on(self) -> PowerResult:
        """PWR-ON: press PWRKEY until STATUS goes high (or for the middle of 1–2 s without
        STATUS), never past `limits.PWRKEY_ON`; then wait for RDY where it will come."""
        pwrkey: OutputLine = self._need("pwrkey", "power the module on")
        start = stamp()
        if self.is_on():
            # Pressing PWRKEY on a running module would switch it off.
            return PowerResult("on", self.clock.since(start), (), "already on")
        timings: list[Timing] = []
        self._supply_on()
        status = self.lines.status
        pressed = stamp()
        pwrkey.set_active(True)
        low_seen = pressed  # the last read that still saw STATUS low
        try:
            if status is not None:
                saw_status, low_seen = self._until_status_high(status, pressed)
            else:
                saw_status = False
                # "more than 1 s if STATUS is ignored" (M95HD p.31), never over PWR-ON's 2 s.
                self._sleep_until(
                    pressed,
                    _aim((self.profile["PWRKEY_ON_MIN"], limits.PWRKEY_ON.seconds), self.clock),
                )
        finally:
            released = stamp()
            pwrkey.set_active(False)
        press = self.clock.module_between(pressed, released)
        if saw_status:
            # The module's part is STATUS rising: judged by the last read that still saw it
            # low, so a host that wakes late to release PWRKEY is never the module's fault.
            rose = self.clock.module_between(pressed, low_seen)
            how = f"STATUS high after {rose:.3f} s; PWRKEY released after {press:.3f} s"
            self._note(limits.PWRKEY_ON.check(rose, "PWRKEY on", note=how), timings)
        else:
            self._note(
                limits.PWRKEY_ON.check(press, "PWRKEY on", note="held without STATUS"), timings
            )
        self._reset_channel()
        if status is not None and not saw_status:
            raise PowerError(
                f"the module did not power on: STATUS stayed low through a {press:.2f} s "
                f"PWRKEY press (PWR-ON allows {limits.PWRKEY_ON.seconds:g} s); check the "
                "supply, the PWRKEY and STATUS wiring and gpio.pwrkey.polarity in the rig file"
            )
        evidence = "STATUS" if saw_status else "none"
        note = ""
        if self.channel is not None and self.expect_rdy:
            # RDY comes before +CPIN: READY, which INIT-CPIN wants within 10 s of power-on.
            seen = self._wait_urc(
                UrcKind.RDY, pressed, Deadline(self.clock, limits.CPIN_READY.seconds, pressed)
            )
            if seen is not None:
                after = self.clock.module_between(pressed, seen)
                self._note(
                    Timing("PWR-ON", "RDY after PWRKEY", after, None, None, Verdict.PASS),
                    timings,
                )
                evidence = evidence if saw_status else "RDY"
            elif status is None:
                raise PowerError(
                    f"no RDY within {limits.CPIN_READY.seconds:g} s of the PWRKEY press and no "
                    "STATUS line to tell: the module did not start, or it is in autobaud "
                    "(AT+IPR=0 prints no RDY; set serial.autobaud = true in the rig file)"
                )
            else:
                note = "STATUS high but no RDY (autobaud, or another rate)"
        return PowerResult("on", self.clock.since(start), tuple(timings), evidence, note)

    # -- PWR-OFF ------------------------------------------------------------------------------
    def power_off(self) -> PowerResult:
        """PWR-OFF: a PWRKEY pulse in the middle of the model's window (0.6–1 s on an M95,
        0.7–1 s on an M66/M85), then NORMAL POWER DOWN / STATUS low; with a supply relay, cut
        it `limits.POWER_CUT_AFTER` after the pulse."""
        pwrkey: OutputLine = self._need("pwrkey", "power the module off")
        start = stamp()
        timings: list[Timing] = []
        if self.is_on() is False:
            self._cut_supply(None, timings)
            return PowerResult("off", self.clock.since(start), tuple(timings), "already off")
        window = self.profile["PWRKEY_OFF_WINDOW"]
        low, high = window
        pressed = stamp()
        pwrkey.set_active(True)
        try:
            self._sleep_until(pressed, _aim(window, self.clock))
        finally:
            released = stamp()
            pwrkey.set_active(False)
            let_go = stamp()  # the module's logout starts once the line is really released
        pulse = self.clock.module_between(pressed, released)
        # A window, not a ceiling: Limit.check's "marginal above 80 %" would flag its middle.
        inside = low < pulse < high
        # Outside by less than the host can time (its lateness at this scale): the pulse cannot
        # be told from one inside; it goes on, marked marginal.
        slack = self.clock.to_module(HOST_JITTER_WALL)
        edge = not inside and low - slack < pulse < high + slack
        if not inside and not edge:
            # The pulse is the harness's own: missing the window is the host's fault (a loaded
            # machine at a small time scale), never the module's, so it is no failed Timing.
            wall = self.clock.to_wall(high - low) * 1e3 / 2
            raise PulseMissed(
                f"the host could not time the PWRKEY off pulse: {pulse:.3f} s, outside the "
                f"{low:g}–{high:g} s window of {self.profile.name} (±{wall:.1f} ms of wall time "
                f"at time scale {self.clock.scale:g}); the machine is overloaded: nothing was "
                "judged on the module; run with less load or a larger time scale"
            )
        self._note(
            Timing(
                "PWR-OFF",
                "PWRKEY off pulse",
                pulse,
                limits.PWRKEY_OFF.seconds,
                None,
                Verdict.PASS if inside else Verdict.MARGINAL,
                f"{'inside' if inside else 'at the edge of'} the {low:g}–{high:g} s window of "
                f"{self.profile.name} ({self.profile.source('PWRKEY_OFF_WINDOW')})"
                + ("" if inside else f", within the host's timing (±{slack:.3g} s)"),
            ),
            timings,
        )
        relay = self.lines.supply is not None and self.lines.supply.is_active()
        # With a relay the cut at POWER_CUT_AFTER ends the wait; without one a module a little
        # late still powers down: wait longer and let its Timing say FAIL.
        cut_after = limits.POWER_CUT_AFTER.seconds
        evidence, seen = self._wait_power_down(
            let_go, cut_after if relay else cut_after * POWER_DOWN_GRACE
        )
        if seen is not None:
            down = self.clock.module_between(let_go, seen)
            self._note(
                limits.POWER_CUT_AFTER.check(down, "power down after PWRKEY", note=evidence),
                timings,
            )
        self._cut_supply(released, timings)
        self._reset_channel()
        if seen is None and relay:
            evidence = "supply cut"
            status = self.lines.status
            if status is not None and not self._poll(
                self.clock.deadline(STATUS_AFTER_CUT), lambda: not status.is_active()
            ):
                raise PowerError(
                    "STATUS stayed high after the supply relay opened: check gpio.supply "
                    "(pin, polarity) and gpio.status in the rig file"
                )
        elif seen is None and evidence != "none":
            raise PowerError(
                f"the module did not power down within {cut_after * POWER_DOWN_GRACE:g} s of "
                f"a {pulse:.2f} s PWRKEY pulse: no NORMAL POWER DOWN and STATUS still high; "
                "check gpio.pwrkey (pin, polarity), or use emergency_off()"
            )
        return PowerResult("off", self.clock.since(start), tuple(timings), evidence)

    def _until_status_high(self, status: InputLine, pressed: int) -> tuple[bool, int]:
        """Read STATUS every STATUS_POLL until it is high, at most PWR-ON's limit: whether it
        rose, and the stamp of the last read that saw it low."""
        deadline = Deadline(self.clock, limits.PWRKEY_ON.seconds, pressed)
        step = max(STATUS_POLL, self.clock.to_module(POLL_WALL_FLOOR))
        low_seen = pressed
        while True:
            if status.is_active():
                return True, low_seen
            low_seen = stamp()
            left = deadline.remaining()
            if left is not None and left <= 0:
                return False, low_seen
            self.clock.sleep(step if left is None else min(step, left))

    def _wait_power_down(self, released: int, seconds: float) -> tuple[str, int | None]:
        """Wait for NORMAL POWER DOWN or STATUS low, up to `seconds` after the pulse."""
        deadline = Deadline(self.clock, seconds, released)
        status, channel = self.lines.status, self.channel
        if status is None and channel is None:
            return "none", None
        if status is None:
            seen = self._wait_urc(UrcKind.POWER_DOWN, released, deadline)
            return ResultCode.NORMAL_POWER_DOWN.value, seen
        step = max(STATUS_POLL, self.clock.to_module(POLL_WALL_FLOOR))
        high = released
        while True:
            if not status.is_active():
                # It went low after the last read that saw it high: judge by that read, so the
                # poll interval and a late wake-up never count against the module.
                return "STATUS low", high
            high = stamp()
            if channel is not None:
                seen = self._wait_urc(UrcKind.POWER_DOWN, released, self.clock.deadline(0.0))
                if seen is not None:
                    return ResultCode.NORMAL_POWER_DOWN.value, seen
            left = deadline.remaining()
            if left is not None and left <= 0:
                return "STATUS", None
            self.clock.sleep(min(step, left or step))

    def _cut_supply(self, pulse_end: int | None, timings: list[Timing]) -> None:
        """Open the supply relay; after a PWRKEY pulse only POWER_CUT_AFTER later (PWR-OFF)."""
        supply = self.lines.supply
        if supply is None or not supply.is_active():
            return
        if pulse_end is not None:
            self._sleep_until(pulse_end, limits.POWER_CUT_AFTER.seconds)
        supply.set_active(False)
        if pulse_end is not None:
            after = self.clock.since(pulse_end)
            ok = after >= limits.POWER_CUT_AFTER.seconds
            self._note(
                Timing(
                    "PWR-OFF",
                    "supply cut after PWRKEY",
                    after,
                    None,
                    None,
                    Verdict.PASS if ok else Verdict.FAIL,
                    f"at least {limits.POWER_CUT_AFTER.seconds:g} s after the pulse",
                ),
                timings,
            )

    # -- PWR-EMERG ----------------------------------------------------------------------------
    def emergency_off(self) -> PowerResult:
        """PWR-EMERG: pull EMERG_OFF (EMERG_OFF_PULSE, then until STATUS drops where wired)."""
        line: OutputLine = self._need("emerg_off", "restart the module with EMERG_OFF")
        start = stamp()
        timings: list[Timing] = []
        status = self.lines.status
        pulled = stamp()
        line.set_active(True)
        try:
            self._sleep_until(pulled, EMERG_OFF_PULSE)
            if status is not None:
                self._poll(
                    Deadline(self.clock, EMERG_OFF_MAX, pulled), lambda: not status.is_active()
                )
        finally:
            released = stamp()
            line.set_active(False)
        held = self.clock.module_between(pulled, released)
        still_on = status is not None and status.is_active()
        shortest = self.profile["EMERG_OFF_MIN"]
        notes = ["STATUS still high" if still_on else ("STATUS low" if status else "")]
        if shortest is not None:
            notes.append(
                f"held {'over' if held > shortest else 'under'} the {shortest:g} s "
                f"{self.profile.name} asks ({self.profile.source('EMERG_OFF_MIN')})"
            )
        else:
            notes.append(f"pulse width undocumented ({self.profile.source('EMERG_OFF_MIN')})")
        if not self.profile["EMERG_OFF_PIN"]:
            notes.append(f"{self.profile.name} documents no EMERG_OFF pin")
        ok = not still_on and (shortest is None or held > shortest)
        self._note(
            Timing(
                "PWR-EMERG",
                "EMERG_OFF pulse",
                held,
                None,
                None,
                Verdict.PASS if ok else Verdict.FAIL,
                "; ".join(n for n in notes if n),
            ),
            timings,
        )
        self._reset_channel()
        if still_on:
            raise StillOn(
                f"STATUS stayed high through a {held:.2f} s EMERG_OFF pull: check "
                "gpio.emerg_off (pin, polarity) in the rig file; cutting the supply is left"
            )
        evidence = "STATUS low" if status is not None else "none"
        return PowerResult("emergency off", self.clock.since(start), tuple(timings), evidence)
