"""The module's power lines as a rig wires them, and how to time an edge on them.

`PowerLines` claims PWRKEY / EMERG_OFF / STATUS / supply from a GPIO backend; `LineDriver`
holds them with the clock and the model's limits, and knows whether the module is on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from harness import limits
from harness.at import ATChannel, ATTimeout, PortClosed, SendRefused, UrcKind
from harness.clock import HOST_JITTER_WALL, Clock, Deadline, stamp
from harness.errors import RigFault
from harness.gpio.base import GpioBackend, InputLine, OutputLine
from harness.limits import ModelProfile, Timing
from harness.power.backoff import BackOff

Recorder = Callable[[Timing], object]

#: Without a supply relay, how much longer than POWER_CUT_AFTER a late logout is waited for.
POWER_DOWN_GRACE = 1.5
#: How long STATUS may take to fall once the supply relay has opened.
STATUS_AFTER_CUT = 0.5
#: Module seconds between two STATUS reads while waiting for it (never under POLL_WALL_FLOOR).
STATUS_POLL = 0.01
POLL_WALL_FLOOR = 0.001
#: `AT` probes `is_on()` sends when no STATUS line is wired.
PROBE_TRIES = 2
#: Wall seconds before a pulse edge that are waited out by yielding instead of sleeping.
EDGE_SPIN = 0.002


def _middle(window: tuple[float, float]) -> float:
    """Aim at the middle of a window: thread noise then costs nothing on either side."""
    return (window[0] + window[1]) / 2


def _aim(window: tuple[float, float], clock: Clock) -> float:
    """Where to aim a host-timed pulse inside `window` (module seconds).

    The middle on a real rig. On a compressed clock the host's lateness (a late wake-up, never
    an early one) is HOST_JITTER_WALL / scale module seconds, so the aim moves towards the low
    edge to leave that much room above it, never below a quarter of the window.
    """
    low, high = window
    late = clock.to_module(HOST_JITTER_WALL)
    return max(low + (high - low) / 4, min(_middle(window), high - late))


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


class StillOn(PowerError):
    """STATUS stayed high through a sequence that switches the module off (EMERG_OFF). A rig
    fault here; a test that has proven the line (a PWR-EMERG test) may blame the module."""


class LineDriver:
    """A rig's power lines, the clock that times them and the model's limits.

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
    ) -> Self:
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
        """Stamp of the first `kind` URC that arrived after `after_ns`, or None by the deadline.
        Read through a subscription of its own: the URC stays there for every other reader."""
        channel = self.channel
        if channel is None:
            return None
        left = deadline.remaining()
        try:
            urc = channel.subscribe({kind}, since_ns=after_ns).wait(0.0 if left is None else left)
        except (ATTimeout, PortClosed):
            return None
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
