"""Power: PWRKEY / EMERG_OFF / STATUS / supply sequences, baud sync, reboot back-off, identity.

`Power` switches the module the way the document and the hardware manual say (PWR-ON,
PWR-OFF, PWR-EMERG) and records each step as a `Timing`; `safe_state()` leaves the module
and the lines as the rig says on any exit. `sync()` is INIT-SYNC, `BackOff` is PWR-BACKOFF,
`identify()` reads who the module is once per run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness import limits
from harness.at import ATChannel, ATError, ATTimeout, PortClosed, SendRefused, UrcKind
from harness.clock import Clock, Deadline, epoch, stamp
from harness.errors import RigFault
from harness.files import atomic_write
from harness.gpio.base import GpioBackend, InputLine, OutputLine
from harness.limits import EMERG_OFF_MAX, EMERG_OFF_PULSE, ModelProfile, Timing, Verdict
from harness.runrecord import mask_imei

log = logging.getLogger("modemcert.power")

Recorder = Callable[[Timing], None]

#: Without a supply relay, how much longer than POWER_CUT_AFTER a late logout is waited for.
POWER_DOWN_GRACE = 1.5
#: How long STATUS may take to fall once the supply relay has opened.
STATUS_AFTER_CUT = 0.5
#: Module seconds between two STATUS reads while waiting for it (never under POLL_WALL_FLOOR).
STATUS_POLL = 0.01
POLL_WALL_FLOOR = 0.001
#: `AT` probes `is_on()` sends when no STATUS line is wired.
PROBE_TRIES = 2
#: INIT-SYNC search: `AT` tries at each other rate (a fixed-rate module answers the first).
SEARCH_TRIES = 3
#: Wall seconds before a pulse edge that are waited out by yielding instead of sleeping.
EDGE_SPIN = 0.002


def _middle(window: tuple[float, float]) -> float:
    """Aim at the middle of a window: thread noise then costs nothing on either side."""
    return (window[0] + window[1]) / 2


class PowerError(RigFault, RuntimeError):
    """A power sequence did not do what it should; the message says what to check.

    A rig fault: a module that does not switch on or off when its pins are driven cannot be
    certified (wiring, polarity, supply), and nothing is blamed on it.
    """


# -- lines ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerLines:
    """The module's lines as claimed from a backend; None where the rig has none wired."""

    pwrkey: OutputLine | None = None
    emerg_off: OutputLine | None = None
    status: InputLine | None = None
    supply: OutputLine | None = None

    @classmethod
    def claim(cls, backend: GpioBackend, gpio: Any) -> PowerLines:
        """Claim the lines a rig's `GpioConfig` declares (outputs start inactive)."""
        lines: dict[str, Any] = {}
        try:
            for name, cfg in gpio.lines().items():
                if name == "status":
                    lines[name] = backend.input(name.upper(), cfg.pin, active_high=cfg.active_high)
                else:
                    drive = getattr(cfg, "drive", "push-pull")
                    lines[name] = backend.output(
                        name.upper(), cfg.pin, active_high=cfg.active_high, drive=drive
                    )
        except BaseException:
            backend.release()
            raise
        return cls(**lines)


@dataclass(frozen=True)
class PowerResult:
    """What a power sequence did: module seconds taken, its timings, and how it knew."""

    action: str  # "on", "off", "emergency off", "reboot"
    elapsed: float
    timings: tuple[Timing, ...] = ()
    evidence: str = ""  # "STATUS", "RDY", "NORMAL POWER DOWN", "already on", "none", ...
    note: str = ""


class PulseMissed(PowerError):
    """The host released a pulse outside its window (descheduled at a small time scale): that
    test is lost as a rig fault, the run goes on (the next pulse may land)."""

    stops_run = False


# -- SIGTERM → exception --------------------------------------------------------------------
class Terminated(KeyboardInterrupt):
    """SIGTERM as an exception, so `finally` blocks and pytest finalizers still run.

    A KeyboardInterrupt subclass: pytest then stops the session the way it does for Ctrl+C
    (teardown runs, exit status 2) instead of recording a test failure and going on.
    """


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """While inside, SIGTERM raises `Terminated` (once); SIGINT is left to Python/pytest."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.getsignal(signal.SIGTERM)
    fired = threading.Event()

    def on_sigterm(signum: int, frame: object) -> None:
        if fired.is_set():
            return  # already unwinding: let the clean-up finish
        fired.set()
        raise Terminated("SIGTERM: leaving the module and its lines in the safe state")

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


# -- power sequences ------------------------------------------------------------------------
class Power:
    """PWR-ON / PWR-OFF / PWR-EMERG on a rig's lines; every step recorded through `record`.

    `channel` (optional) gives RDY / NORMAL POWER DOWN and an `AT` probe where STATUS is not
    wired. `expect_rdy=False` for a module left in autobaud, which prints no RDY (§2).
    """

    def __init__(
        self,
        backend: GpioBackend,
        lines: PowerLines,
        clock: Clock,
        channel: ATChannel | None = None,
        record: Recorder | None = None,
        *,
        expect_rdy: bool = True,
        on_exit: str = "off",
        backoff: BackOff | None = None,
        profile: ModelProfile | None = None,
    ) -> None:
        if on_exit not in ("off", "on"):
            raise ValueError(f'on_exit must be "off" or "on", not {on_exit!r}')
        #: The model's power limits (the M95's where the rig names no model).
        self.profile = profile if profile is not None else limits.profile_for(None)
        self.backend = backend
        self.lines = lines
        self.clock = clock
        self.channel = channel
        self.expect_rdy = expect_rdy
        self.on_exit = on_exit
        self.backoff = backoff
        self._record = record

    @classmethod
    def from_rig(
        cls,
        rig: Any,
        backend: GpioBackend,
        clock: Clock,
        channel: ATChannel | None = None,
        record: Recorder | None = None,
        backoff: BackOff | None = None,
    ) -> Power:
        """Claim the rig's lines on `backend`; take its RDY, on-exit and model settings."""
        return cls(
            backend,
            PowerLines.claim(backend, rig.gpio),
            clock,
            channel,
            record,
            expect_rdy=not rig.serial.autobaud,
            on_exit=rig.on_exit,
            backoff=backoff,
            profile=limits.profile_for(getattr(rig, "model", None)),
        )

    def __repr__(self) -> str:
        wired = [n for n in ("pwrkey", "emerg_off", "status", "supply") if getattr(self.lines, n)]
        return f"Power({self.backend.name}, lines={wired}, {self.clock})"

    # -- helpers ------------------------------------------------------------------------------
    def _note(self, timing: Timing, timings: list[Timing]) -> None:
        timings.append(timing)
        if self._record is not None:
            self._record(timing)

    def _need(self, line: str, what: str) -> Any:
        value = getattr(self.lines, line)
        if value is None:
            raise PowerError(
                f"cannot {what}: the rig has no {line.upper()} line wired; add [gpio.{line}] "
                "to the rig file (tests needing it are skipped on rigs without it)"
            )
        return value

    def _poll(self, deadline: Deadline, done: Callable[[], bool]) -> bool:
        """Read `done()` every STATUS_POLL until it is true or the deadline passes."""
        step = max(STATUS_POLL, self.clock.to_module(POLL_WALL_FLOOR))
        while True:
            if done():
                return True
            left = deadline.remaining()
            if left is not None and left <= 0:
                return False
            self.clock.sleep(step if left is None else min(step, left))

    def _sleep_until(self, start_ns: int, module_seconds: float) -> None:
        """Sleep until `module_seconds` after `start_ns`; the last EDGE_SPIN of wall time is
        waited out by yielding, not sleeping, so the pulse edge does not land late by a timer's
        slack (at the sim rig's scale the PWR-OFF window is only ±4 ms of wall time)."""
        end_ns = start_ns + int(self.clock.to_wall(module_seconds) * 1e9)
        left_wall = (end_ns - stamp()) / 1e9
        if left_wall > EDGE_SPIN:
            self.clock.sleep(self.clock.to_module(left_wall - EDGE_SPIN))
        while stamp() < end_ns:
            os.sched_yield()

    def _wait_urc(self, kind: UrcKind, after_ns: int, deadline: Deadline) -> int | None:
        """Stamp of the first `kind` URC that arrived after `after_ns`, or None by the deadline."""
        channel = self.channel
        if channel is None:
            return None
        while True:
            left = deadline.remaining()
            try:
                urc = channel.wait_urc(kind, 0.0 if left is None else left)
            except (ATTimeout, PortClosed):
                return None
            if urc.t_ns >= after_ns:
                return urc.t_ns

    def _supply_on(self) -> None:
        supply = self.lines.supply
        if supply is not None and not supply.is_active():
            supply.set_active(True)
            self.clock.sleep(self.profile["VBAT_SETTLE"])  # VBAT stable before PWRKEY

    def _reset_channel(self) -> None:
        if self.channel is not None:
            self.channel.reset_state()

    # -- state --------------------------------------------------------------------------------
    def is_on(self) -> bool | None:
        """STATUS where wired; else whether the module answers `AT`; None if neither exists."""
        if self.lines.status is not None:
            return self.lines.status.is_active()
        channel = self.channel
        if channel is None:
            return None
        if channel.in_data_mode:
            return True
        for _ in range(PROBE_TRIES):
            try:
                if channel.command("AT", timeout=limits.SYNC_INTERVAL.seconds).ok:
                    return True
            except ATTimeout:
                continue
            except (PortClosed, SendRefused):
                return None
        return False

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
        try:
            if status is not None:
                saw_status = self._poll(
                    self.clock.deadline(limits.PWRKEY_ON.seconds), status.is_active
                )
            else:
                saw_status = False
                # "more than 1 s if STATUS is ignored" (M95HD p.31), never over PWR-ON's 2 s.
                self._sleep_until(
                    pressed, _middle((self.profile["PWRKEY_ON_MIN"], limits.PWRKEY_ON.seconds))
                )
        finally:
            released = stamp()
            pwrkey.set_active(False)
        press = self.clock.module_between(pressed, released)
        how = "released on STATUS high" if saw_status else "held without STATUS"
        self._note(limits.PWRKEY_ON.check(press, "PWRKEY on", note=how), timings)
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
            self._sleep_until(pressed, _middle(window))
        finally:
            released = stamp()
            pwrkey.set_active(False)
        pulse = self.clock.module_between(pressed, released)
        # A window, not a ceiling: Limit.check's "marginal above 80 %" would flag its middle.
        inside = low < pulse < high
        if not inside:
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
                Verdict.PASS if inside else Verdict.FAIL,
                f"{'inside' if inside else 'outside'} the {low:g}–{high:g} s window of "
                f"{self.profile.name} ({self.profile.source('PWRKEY_OFF_WINDOW')})",
            ),
            timings,
        )
        relay = self.lines.supply is not None and self.lines.supply.is_active()
        # With a relay the cut at POWER_CUT_AFTER ends the wait; without one a module a little
        # late still powers down: wait longer and let its Timing say FAIL.
        cut_after = limits.POWER_CUT_AFTER.seconds
        evidence, seen = self._wait_power_down(
            released, cut_after if relay else cut_after * POWER_DOWN_GRACE
        )
        if seen is not None:
            down = self.clock.module_between(released, seen)
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

    def _wait_power_down(self, released: int, seconds: float) -> tuple[str, int | None]:
        """Wait for NORMAL POWER DOWN or STATUS low, up to `seconds` after the pulse."""
        deadline = Deadline(self.clock, seconds, released)
        status, channel = self.lines.status, self.channel
        if status is None and channel is None:
            return "none", None
        if status is None:
            seen = self._wait_urc(UrcKind.POWER_DOWN, released, deadline)
            return "NORMAL POWER DOWN", seen
        step = max(STATUS_POLL, self.clock.to_module(POLL_WALL_FLOOR))
        while True:
            if not status.is_active():
                return "STATUS low", stamp()
            if channel is not None:
                seen = self._wait_urc(UrcKind.POWER_DOWN, released, self.clock.deadline(0.0))
                if seen is not None:
                    return "NORMAL POWER DOWN", seen
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
            raise PowerError(
                f"STATUS stayed high through a {held:.2f} s EMERG_OFF pull: check "
                "gpio.emerg_off (pin, polarity) in the rig file; cutting the supply is left"
            )
        evidence = "STATUS low" if status is not None else "none"
        return PowerResult("emergency off", self.clock.since(start), tuple(timings), evidence)

    # -- reboot -------------------------------------------------------------------------------
    def reboot(
        self,
        reason: str = "",
        *,
        emergency: bool = False,
        wait_backoff: bool = False,
        progress: Callable[[BackOffDecision], None] | None = None,
    ) -> PowerResult:
        """Off (PWRKEY, or EMERG_OFF when `emergency` or when PWRKEY fails), then on.

        With a `BackOff`, PWR-BACKOFF is respected first: `BackOffActive` if a reboot is not
        allowed yet, or wait for it with `wait_backoff=True`.
        """
        timings: list[Timing] = []
        notes = []
        if self.backoff is not None:
            asked = stamp()
            first = self.backoff.decision()
            decision = self.backoff.wait(progress) if wait_backoff else self.backoff.check()
            waited = self.clock.since(asked)
            entry = self.backoff.record(reason)
            why = decision.message()
            if not first.allowed and decision.allowed:
                why = f"waited {_duration(waited)} for it; {why}"
            if entry.ignored:
                why = f"{first.message()} (ignored)"
                notes.append("rebooted despite PWR-BACKOFF (--ignore-backoff)")
            # The harness's own pacing, recorded so the report shows when and why it waited.
            self._note(
                Timing(
                    "PWR-BACKOFF",
                    "reboot back-off",
                    waited,
                    None,
                    None,
                    # Ignoring the back-off is the operator's choice, not the module's failure.
                    Verdict.MARGINAL if entry.ignored else Verdict.PASS,
                    f"{reason}: {why}" if reason else why,
                ),
                timings,
            )
        start = stamp()
        if emergency:
            timings += self.emergency_off().timings
        else:
            try:
                timings += self.power_off().timings
            except PowerError as e:
                if self.lines.emerg_off is None:
                    raise
                notes.append(f"PWRKEY off failed ({e}); used EMERG_OFF")
                timings += self.emergency_off().timings
        on = self.power_on()
        timings += on.timings
        return PowerResult(
            "reboot", self.clock.since(start), tuple(timings), on.evidence, "; ".join(notes)
        )

    # -- the safe state -----------------------------------------------------------------------
    @contextlib.contextmanager
    def safe_state(self, on_exit: str | None = None) -> Iterator[Power]:
        """On any exit (return, exception, Ctrl+C, SIGTERM) leave the module as the rig says
        (`on_exit`: "off" or "on") and release every line."""
        with terminate_raises():
            try:
                yield self
            finally:
                self.leave(on_exit)

    def leave(self, on_exit: str | None = None) -> None:
        """Bring the module to `on_exit` (default: the rig's), then release the lines.

        Errors are logged, not raised: this runs while another exception may be unwinding.
        """
        want = on_exit or self.on_exit
        try:
            if self.lines.pwrkey is not None or self.lines.emerg_off is not None:
                if want == "off":
                    self._make_off()
                elif self.lines.pwrkey is not None and self.is_on() is False:
                    self.power_on()
        except Exception as e:
            log.warning("safe state: could not leave the module %s: %s", want, e)
        finally:
            self.backend.release()

    def _make_off(self) -> None:
        self.force_off()

    def force_off(self) -> list[str]:
        """Off by whatever works: PWRKEY off, else EMERG_OFF, then the supply relay open.
        Never raises (the CI cancel step and the safe state run it); returns what was done."""
        done: list[str] = []
        try:
            if self.lines.pwrkey is None:
                raise PowerError("no PWRKEY line")
            done.append(f"PWRKEY off: {self.power_off().evidence}")
            return done
        except Exception as e:
            log.warning("safe state: PWRKEY off failed: %s", e)
            done.append(f"PWRKEY off failed ({e})")
        if self.lines.emerg_off is not None:
            try:
                done.append(f"EMERG_OFF: {self.emergency_off().evidence}")
            except Exception as e:
                log.warning("safe state: EMERG_OFF failed: %s", e)
                done.append(f"EMERG_OFF failed ({e})")
        supply = self.lines.supply
        if supply is not None and supply.is_active():
            supply.set_active(False)
            done.append("supply relay opened")
        return done


# -- INIT-SYNC ------------------------------------------------------------------------------
class SyncError(RigFault, RuntimeError):
    """The module never answered `AT`; the message names the port, the rates and what to check.

    A rig fault ("cannot certify"): a module silent at bring-up may be unpowered, miswired or
    at another rate, and no verdict is given on it.
    """


@dataclass(frozen=True)
class SyncResult:
    """INIT-SYNC: `AT` commands sent, module seconds taken, the rate now fixed."""

    tries: int
    elapsed: float
    rate: int
    found_at: int | None = None  # the rate the module was really at, when it was not `rate`
    rates_tried: tuple[int, ...] = ()
    timings: tuple[Timing, ...] = ()


def _at_until_ok(channel: ATChannel, clock: Clock, tries: int) -> tuple[bool, int]:
    """`AT` up to `tries` times, SYNC_INTERVAL apart, until OK; (answered, ATs sent)."""
    interval = limits.SYNC_INTERVAL.seconds
    for n in range(1, tries + 1):
        slot = clock.deadline(interval)
        try:
            if channel.command("AT", timeout=interval).ok:
                return True, n
        except ATTimeout:
            pass
        left = slot.remaining()
        if left:
            clock.sleep(left)  # an early ERROR or garbage still waits out its 500 ms slot
    return False, tries


def sync(
    channel: ATChannel,
    rate: int,
    clock: Clock | None = None,
    *,
    search: Sequence[int] = (),
    tries: int = limits.SYNC_TRIES,
    record: Recorder | None = None,
) -> SyncResult:
    """INIT-SYNC: `AT` up to 15 times 500 ms apart at `rate` until OK, then `AT+IPR=<rate>&W`.

    If the module is silent, each rate in `search` is tried (SEARCH_TRIES `AT`s); where it
    answers it is re-fixed to `rate`. Raises `SyncError` if it never answers.
    """
    clock = clock or channel.clock
    transport = channel.transport
    start = stamp()
    timings: list[Timing] = []

    def note(t: Timing) -> None:
        timings.append(t)
        if record is not None:
            record(t)

    transport.baudrate = rate
    answered, sent = _at_until_ok(channel, clock, tries)
    tried = [rate]
    found_at = None
    if answered:
        note(limits.SYNC.check(clock.since(start), "AT sync", note=f"{sent} × AT at {rate}"))
    else:
        for other in search:
            if other == rate or other in tried:
                continue
            tried.append(other)
            transport.baudrate = other
            ok, n = _at_until_ok(channel, clock, SEARCH_TRIES)
            sent += n
            if ok:
                found_at = other
                break
        if found_at is None:
            transport.baudrate = rate
            elapsed = clock.since(start)
            note(limits.SYNC.check(elapsed, "AT sync", note="no answer"))
            rates = ", ".join(map(str, tried))
            raise SyncError(
                f"no answer to AT on {transport.url} after {sent} tries "
                f"({tries} at {rate} baud, {limits.SYNC_INTERVAL.seconds:g} s apart; also tried "
                f"{rates if len(tried) > 1 else 'no other rate'}): check that the module is on "
                "(STATUS), TX/RX are not swapped, the level shifter is powered, and serial.baud "
                "in the rig file"
            )
        # Found at another rate: fix ours while we still speak its rate, then come back.
        reply = channel.command(f"AT+IPR={rate}&W")
        if not reply.ok:
            raise SyncError(
                f"the module on {transport.url} answers at {found_at} baud but refused "
                f"AT+IPR={rate}&W ({reply.final}); set the rate by hand or change serial.baud"
            )
        transport.baudrate = rate
        again = stamp()
        ok, n = _at_until_ok(channel, clock, tries)
        sent += n
        if not ok:
            raise SyncError(
                f"the module on {transport.url} accepted AT+IPR={rate}&W at {found_at} baud "
                f"but does not answer at {rate}; check that the adapter supports {rate} baud"
            )
        note(
            limits.SYNC.check(
                clock.since(again), "AT sync", note=f"found at {found_at} baud, re-fixed to {rate}"
            )
        )
    # Fix the rate (INIT-IPR), also when it answered at `rate` (it may have been autobaud).
    fix = channel.command(f"AT+IPR={rate}&W")
    note(fix.timing("INIT-IPR"))
    if not fix.ok:
        raise SyncError(
            f"AT+IPR={rate}&W on {transport.url} answered {fix.final}: the module does not take "
            f"{rate} baud; choose another serial.baud in the rig file"
        )
    return SyncResult(
        tries=sent,
        elapsed=clock.since(start),
        rate=rate,
        found_at=found_at,
        rates_tried=tuple(tried),
        timings=tuple(timings),
    )


# -- PWR-BACKOFF ----------------------------------------------------------------------------
BACKOFF_FILE = "backoff.json"
BACKOFF_FORMAT = "modemcert-backoff/1"
BACKOFF_KEEP = 50  # reboots kept in the history file
#: A reboot streak ends after this many times the schedule's longest delay without a reboot
#: (2 h at the default schedule): trouble after that is new trouble, rebooted at once.
QUIET_FACTOR = 2.0
#: Module seconds between two progress reports while waiting out the back-off.
WAIT_PROGRESS_STEP = 60.0


class BackOffError(RigFault, RuntimeError):
    """The back-off history cannot be read or written; the message says which file and why."""


class BackOffActive(RigFault, RuntimeError):
    """A reboot is not allowed yet (PWR-BACKOFF); `.decision` says until when. The rig cannot
    go on certifying until then: nothing is blamed on the module."""

    def __init__(self, decision: BackOffDecision) -> None:
        super().__init__(decision.message())
        self.decision = decision


@dataclass(frozen=True)
class RebootRecord:
    at: float  # calendar seconds (epoch)
    reason: str = ""
    scale: float = 1.0
    ignored: bool = False  # made despite the back-off (--ignore-backoff)


@dataclass(frozen=True)
class BackOffDecision:
    """Whether a reboot may happen now; times are module seconds, `next_at` is calendar."""

    allowed: bool
    attempt: int  # 0-based position of the next reboot in the current streak
    delay: float  # what the schedule asks between the previous reboot and this one
    wait: float  # module seconds still to wait (0 when allowed)
    next_at: float  # epoch seconds when it is allowed
    last_at: float | None
    scale: float = 1.0

    def message(self) -> str:
        if self.allowed:
            return f"PWR-BACKOFF: reboot {self.attempt + 1} of this streak is allowed now"
        wall = ""
        if self.scale != 1.0:
            wall = f" of module time ({self.wait * self.scale:.1f} s wall at scale {self.scale:g})"
        return (
            f"PWR-BACKOFF: reboot {self.attempt + 1} of this streak must wait "
            f"{_duration(self.delay)} after the previous one ({_when(self.last_at)}); "
            f"next reboot allowed at {_when(self.next_at)}, in {_duration(self.wait)}{wall}; "
            "use --ignore-backoff at the bench"
        )


def _when(t: float | None) -> str:
    if t is None:
        return "never"
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: float) -> str:
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h} h"] * bool(h) + [f"{m} min"] * bool(m) + [f"{s} s"] * bool(s or not (h or m))
    return " ".join(parts)


class BackOff:
    """PWR-BACKOFF: reboot at once, then 10 min, 30 min, 1 h apart while trouble repeats.

    The history lives in `<state_dir>/backoff.json` as calendar times, so consecutive runs
    respect it; gaps are turned into module seconds with the clock's scale.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike,
        clock: Clock,
        schedule: Sequence[float] = limits.BACKOFF,
        *,
        quiet: float | None = None,
        ignore: bool = False,
        now: Callable[[], float] = epoch,
    ) -> None:
        if not schedule or any(d < 0 for d in schedule):
            raise ValueError(f"a back-off schedule is non-negative delays, not {schedule!r}")
        self.path = Path(state_dir) / BACKOFF_FILE
        self.clock = clock
        self.schedule = tuple(float(d) for d in schedule)
        self.quiet = QUIET_FACTOR * max(self.schedule) if quiet is None else float(quiet)
        self.ignore = ignore
        self._now = now

    def __repr__(self) -> str:
        return f"BackOff({str(self.path)!r}, schedule={self.schedule})"

    # -- the history file ---------------------------------------------------------------------
    def history(self) -> list[RebootRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as e:
            raise BackOffError(f"cannot read {self.path}: {e.strerror or e}") from None
        try:
            data = json.loads(text)
            if data.get("format") != BACKOFF_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {BACKOFF_FORMAT!r}")
            return [RebootRecord(**r) for r in data["reboots"]]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise BackOffError(
                f"{self.path} is not a back-off history ({e}); fix it, or delete it to forget "
                "past reboots (the next reboot is then allowed at once)"
            ) from None

    def _write(self, records: list[RebootRecord]) -> None:
        data = {
            "format": BACKOFF_FORMAT,
            "reboots": [r.__dict__ for r in records[-BACKOFF_KEEP:]],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(data, indent=1))
        except OSError as e:
            raise BackOffError(
                f"cannot write the back-off history {self.path}: {e.strerror or e}; make the "
                "rig's state_dir writable (e.g. sudo install -d -o $USER <dir>)"
            ) from None

    # -- deciding -----------------------------------------------------------------------------
    def _module(self, wall_seconds: float) -> float:
        return self.clock.to_module(wall_seconds)

    def streak(self, records: list[RebootRecord] | None = None) -> list[RebootRecord]:
        """The reboots of the current run of trouble: none once it has been quiet long enough."""
        records = self.history() if records is None else records
        if not records or self._module(self._now() - records[-1].at) > self.quiet:
            return []
        run = [records[-1]]
        for earlier in reversed(records[:-1]):
            if self._module(run[0].at - earlier.at) > self.quiet:
                break
            run.insert(0, earlier)
        return run

    def decision(self) -> BackOffDecision:
        """May the module be rebooted now, and if not, when."""
        run = self.streak()
        now = self._now()
        attempt = len(run)
        delay = self.schedule[min(attempt, len(self.schedule) - 1)]
        if not run:
            return BackOffDecision(True, 0, delay, 0.0, now, None, self.clock.scale)
        last = run[-1].at
        next_at = last + self.clock.to_wall(delay)
        wait = max(0.0, self._module(next_at - now))
        return BackOffDecision(wait <= 0, attempt, delay, wait, next_at, last, self.clock.scale)

    def check(self) -> BackOffDecision:
        """The decision; raises `BackOffActive` if a reboot must wait (unless `ignore`)."""
        d = self.decision()
        if not d.allowed:
            if not self.ignore:
                raise BackOffActive(d)
            log.warning("%s (ignored)", d.message())
        return d

    def record(self, reason: str = "") -> RebootRecord:
        """Write down a reboot made now (call it when the reboot starts)."""
        records = self.history()
        allowed = self.decision().allowed
        entry = RebootRecord(self._now(), reason, self.clock.scale, ignored=not allowed)
        self._write([*records, entry])
        return entry

    def wait(
        self,
        progress: Callable[[BackOffDecision], None] | None = None,
        cancel: threading.Event | None = None,
        step: float = WAIT_PROGRESS_STEP,
    ) -> BackOffDecision:
        """Wait (module time) until a reboot is allowed, calling `progress` every `step`."""
        while True:
            d = self.decision()
            if d.allowed or self.ignore:
                return d
            if progress is not None:
                progress(d)
            if not self.clock.sleep(min(step, d.wait), cancel=cancel):
                raise BackOffActive(d)

    def reset(self) -> None:
        """Forget the history (the module is healthy again, by the caller's judgement)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# -- identity -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """Who the module is: model, revision (ATI/AT+GMR), firmware (AT+QGMR), IMEI, ICCID."""

    model: str | None = None
    revision: str | None = None
    firmware: str | None = None
    imei: str | None = None
    iccid: str | None = None
    missing: tuple[str, ...] = field(default=(), compare=False)  # commands that failed

    def as_dict(self, mask: bool = True) -> dict[str, str | None]:
        """For timings.json and reports: the IMEI masked but its last 3 digits."""
        return {
            "model": self.model,
            "revision": self.revision,
            "firmware": self.firmware,
            "imei": mask_imei(self.imei) if mask else self.imei,
            "iccid": self.iccid,
        }


_DIGITS = re.compile(r"^(?:\+\w+:\s*)?([0-9A-Fa-f]{6,22})$")
_REVISION = re.compile(r"^Revision:\s*(\S+)")
_MAKERS = ("Quectel_Ltd", "Quectel")


def _ask(channel: ATChannel, cmd: str, timeout: float | None, missing: list[str]) -> list[str]:
    try:
        reply = channel.command(cmd, timeout)
    except (ATTimeout, ATError):
        reply = None
    if reply is None or not reply.ok:
        missing.append(cmd)
        return []
    return [ln.strip() for ln in reply.lines if ln.strip()]


def _number(lines: list[str]) -> str | None:
    for line in lines:
        m = _DIGITS.match(line)
        if m:
            return m.group(1)
    return None


def identify(channel: ATChannel, timeout: float | None = None) -> Identity:
    """Ask ATI, AT+CGMM, AT+GMR, AT+QGMR, AT+GSN, AT+QCCID once; an ERROR from any one leaves
    its field None (listed in `missing`). `AT+QGMR` is the full firmware (PROTOCOL.md §14)."""
    missing: list[str] = []
    ati = _ask(channel, "ATI", timeout, missing)
    model = next((ln for ln in ati if ln not in _MAKERS and not _REVISION.match(ln)), None)
    revision = next((m.group(1) for ln in ati if (m := _REVISION.match(ln))), None)
    cgmm = _ask(channel, "AT+CGMM", timeout, missing)
    model = cgmm[0] if cgmm else model
    gmr = _ask(channel, "AT+GMR", timeout, missing)
    if gmr:
        m = _REVISION.match(gmr[0])
        revision = revision or (m.group(1) if m else gmr[0])
    qgmr = _ask(channel, "AT+QGMR", timeout, missing)
    firmware = qgmr[0] if qgmr else revision
    imei = _number(_ask(channel, "AT+GSN", timeout, missing))
    iccid = _number(_ask(channel, "AT+QCCID", timeout, missing))
    return Identity(model, revision, firmware, imei, iccid, tuple(missing))
