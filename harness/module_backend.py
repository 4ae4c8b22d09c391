"""Where the module is: a real one on a serial port, the simulator this process runs, or a
labgrid place. `Station` asks its backend, never which kind it has.

A backend gives the port to open, where the GPIO lines come from, and the few things only some
modules allow without lines (a simulator can be switched on and off directly, and its faults
cleared). `module_backend(rig, ...)` is the one place that picks the backend from the rig.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from harness.clock import Clock
from harness.rig import Rig

#: (what, how) steps a backend adds to the station's close, after the serial channel.
Closer = tuple[str, Callable[[], object]]


class ModuleBackend:
    """A real module on the rig's serial port (the base every other backend refines)."""

    kind = "serial"
    #: Whether the peer server runs in this process when the rig names no control_url.
    local_peer = False
    #: The in-memory pins a simulator watches (harness.gpio.sim.SimPins); None for the others.
    pins: Any = None

    def __init__(self, rig: Rig) -> None:
        self.rig = rig

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rig.name!r}, port={self.port!r})"

    def start(self) -> Self:
        """Make the module reachable (start it, acquire it); a real port needs nothing."""
        return self

    @property
    def port(self) -> str | None:
        """What the station opens as the UART: a device path or a pyserial URL."""
        return self.rig.serial.port

    def gpio_source(self) -> Any:
        """What `harness.gpio.open_backend` drives the lines through (None: the host's GPIO)."""
        return None

    @property
    def sim(self) -> Any:
        """The simulated module (harness.sim.SimulatedModule), for fault injection; None."""
        return None

    @property
    def place(self) -> Any:
        """The acquired labgrid place (harness.labgrid.Place); None."""
        return None

    def power_on_now(self) -> bool:
        """Switch the module on without lines; False: this one cannot be (it must be on)."""
        return False

    def power_cycle_now(self) -> bool:
        """Off and on without lines, faults cleared; False: only a person can do it."""
        return False

    def clear_faults(self) -> None:
        """Forget injected faults before a restart (only a simulator has any)."""

    def closers(self) -> list[Closer]:
        """What closing the station must also stop or give back."""
        return []


class SimulatorBackend(ModuleBackend):
    """The simulated M95 on a pseudo-terminal, watching in-memory pins wired as the rig says."""

    kind = "sim"
    local_peer = True

    def __init__(
        self, rig: Rig, clock: Clock, state_dir: str | Path, mutations: tuple[str, ...] = ()
    ) -> None:
        super().__init__(rig)
        self.clock = clock
        self.state_dir = Path(state_dir)
        self.mutations = tuple(mutations)
        self._sim: Any = None

    def start(self) -> Self:
        from harness.gpio.sim import SimPins, bcm_pin
        from harness.rig import SimConfig
        from harness.sim import SimulatedModule, Wiring

        cfg = self.rig.sim or SimConfig()
        lines = self.rig.gpio.lines()
        self.pins = SimPins()
        # A line the rig does not wire still exists on the module: the host just never drives
        # it (a sim rig without [gpio] lines is a UART-only rig, powered on at start).
        default = Wiring()
        wired = {name: bcm_pin(line.pin) for name, line in lines.items()}
        wiring = Wiring(
            pwrkey=wired.get("pwrkey", default.pwrkey),
            emerg_off=wired.get("emerg_off", default.emerg_off),
            status=wired.get("status", default.status),
            supply=wired.get("supply"),
        )
        self._sim = SimulatedModule(
            cfg.build(), self.clock, self.pins, wiring, state_dir=self.state_dir, seed=cfg.seed
        ).start()
        for name in self.mutations:
            self._sim.mutate(name)
        return self

    @property
    def port(self) -> str | None:
        return self._sim.port if self._sim is not None else None

    def gpio_source(self) -> Any:
        return self.pins

    @property
    def sim(self) -> Any:
        return self._sim

    def power_on_now(self) -> bool:
        self._sim.power_on_now()
        return True

    def power_cycle_now(self) -> bool:
        self._sim.power_off_now()
        self._sim.clear_faults()
        return True

    def clear_faults(self) -> None:
        self._sim.clear_faults()

    def closers(self) -> list[Closer]:
        return [("stop the simulator", self._stop)] if self._sim is not None else []

    def _stop(self) -> None:
        sim, self._sim, self.pins = self._sim, None, None
        sim.stop()


class PlaceBackend(ModuleBackend):
    """A module on a labgrid place: acquired for the run, its port and lines are the place's."""

    kind = "labgrid"

    def __init__(self, rig: Rig, run_dir: str | Path) -> None:
        super().__init__(rig)
        self.run_dir = Path(run_dir)
        self._place: Any = None

    def start(self) -> Self:
        from harness.labgrid import acquire_place

        self._place = acquire_place(self.rig, self.run_dir)
        return self

    @property
    def port(self) -> str | None:
        return self._place.port if self._place is not None else self.rig.serial.port

    def gpio_source(self) -> Any:
        return self._place

    @property
    def place(self) -> Any:
        return self._place

    def closers(self) -> list[Closer]:
        # After the serial channel and the lines, which are the place's.
        if self._place is None:
            return []
        return [("release the labgrid place", self._release)]

    def _release(self) -> None:
        place, self._place = self._place, None
        place.release()


def module_backend(
    rig: Rig,
    *,
    clock: Clock,
    run_dir: str | Path,
    state_dir: str | Path,
    mutations: tuple[str, ...] = (),
) -> ModuleBackend:
    """The backend `rig` describes (not started)."""
    if rig.is_sim:
        return SimulatorBackend(rig, clock, state_dir, mutations)
    if rig.labgrid is not None:
        return PlaceBackend(rig, run_dir)
    return ModuleBackend(rig)
