"""The simulated HAT: PWRKEY, EMERG_OFF, STATUS and the supply relay on `SimPins`, with pulse
widths measured from the pins' own timestamps (PROTOCOL §3; docs/architecture.md "GPIO").

All four are active-high at the GPIO: the host drives the module's active-low PWRKEY/EMERG_OFF
through transistors, the relay closes on high, STATUS is buffered non-inverting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.clock import Clock
from harness.gpio.sim import SimPins
from harness.sim.firmware import Firmware
from harness.sim.loop import Loop

PINS = "pins"  # loop group of the pin timers (they outlive power-offs)


@dataclass(frozen=True)
class Wiring:
    """BCM pin numbers of the simulated HAT; `supply=None`: VBAT is always present."""

    pwrkey: int = 4
    emerg_off: int = 17
    status: int = 27
    supply: int | None = 22


class PowerPins:
    """Watches the host's lines and drives STATUS; runs its decisions on the module thread."""

    def __init__(
        self, fw: Firmware, pins: SimPins, wiring: Wiring, loop: Loop, clock: Clock
    ) -> None:
        self.fw = fw
        self.pins = pins
        self.wiring = wiring
        self.loop = loop
        self.clock = clock
        self._press = 0  # id of the current PWRKEY press
        self._press_ns: int | None = None  # None: PWRKEY not held
        self._press_was_on = False
        self._handled = -1
        self._emerg_ns: int | None = None  # None: EMERG_OFF not held
        self._unwatch: Callable[[], None] | None = None

    def attach(self) -> None:
        self.fw.status_pin = self._drive_status
        self._drive_status(False)
        self._unwatch = self.pins.watch(self._on_change)

    def detach(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def supplied(self) -> bool:
        """VBAT present: no relay wired, a relay never driven (not fitted), or a closed relay."""
        pin = self.wiring.supply
        return pin is None or not self.pins.history(pin) or self.pins.level(pin)

    def emerg_held(self) -> bool:
        return self.pins.level(self.wiring.emerg_off)

    def _drive_status(self, active: bool) -> None:
        self.pins.drive(self.wiring.status, active)

    # -- events (called on the host's thread; decided on the module's) ---------------------------
    def _on_change(self, pin: int, level: bool, t_ns: int) -> None:
        if pin in (self.wiring.pwrkey, self.wiring.emerg_off, self.wiring.supply):
            self.loop.post(self._decide, pin, level, t_ns)

    def _decide(self, pin: int, level: bool, t_ns: int) -> None:
        if pin == self.wiring.supply:
            if not self.supplied():
                self.fw.boot.power_off()  # the relay opened: off at once
        elif pin == self.wiring.emerg_off:
            self._emerg(level, t_ns)
        else:
            self._pwrkey(level, t_ns)

    def _emerg(self, level: bool, t_ns: int) -> None:
        minimum = self.fw.p.emerg_off_min
        # A host claiming a line drives it inactive: a release with no press is not a pulse.
        start, self._emerg_ns = self._emerg_ns, (t_ns if level else None)
        if level:
            if start is None:
                due = t_ns + int(self.clock.to_wall(minimum) * 1e9)
                self.loop.call_at(due, lambda: self._emerg_check(t_ns), PINS, precise=True)
                return
            self._emerg_ns = start  # still held: keep the first edge
        elif start is not None and self.clock.module_between(start, t_ns) >= minimum:
            self._emerg_off()

    def _emerg_check(self, start_ns: int) -> None:
        if self._emerg_ns == start_ns and self.emerg_held():
            self._emerg_off()

    def _emerg_off(self) -> None:
        if not self.fw.mutated.emerg_off_ignored:
            self.fw.boot.power_off()  # PWR-EMERG: no URC, STATUS low

    def _pwrkey(self, level: bool, t_ns: int) -> None:
        start = self._press_ns
        if level:
            if start is not None:
                return  # still held: the first edge counts
            self._press += 1
            self._press_ns = t_ns
            self._press_was_on = self.fw.powered
            press = self._press
            due = t_ns + int(self.clock.to_wall(self._needed()) * 1e9)
            self.loop.call_at(due, lambda: self._reached(press, None), PINS, precise=True)
        elif start is not None:  # a release with no press (the host claiming the line) is no pulse
            self._press_ns = None
            self._reached(self._press, self.clock.module_between(start, t_ns))

    def _needed(self) -> float:
        if self._press_was_on:
            return self.fw.p.pwrkey_off_min
        # The PWR-ON mutant spares the first boot of the simulator's life: a rig comes up, and
        # the suites' own power cycle is where the slow PWRKEY shows (not the session set-up).
        slow = self.fw.mutated.pwrkey_on_2500ms and self.fw.boot_count > 0
        return 2.5 if slow else self.fw.p.pwrkey_on_min

    def _reached(self, press: int, width: float | None) -> None:
        """A press reached its width: still held (timer, width None) or released after `width`."""
        if press != self._press or self._handled == press:
            return
        if width is None and not self.pins.level(self.wiring.pwrkey):
            return  # released meanwhile: the release event decides
        if width is not None and width < self._needed():
            return
        self._handled = press
        fw = self.fw
        if not self._press_was_on:
            if not fw.powered and self.supplied() and not self.emerg_held():
                fw.boot.power_on()  # PWR-ON: STATUS rises when the hold time is reached
        elif fw.powered:
            logout = 20.0 if fw.mutated.power_down_after_20s else fw.lat("lat_power_down")
            fw.boot.normal_power_down(logout)  # PWR-OFF
