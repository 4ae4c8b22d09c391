"""Where the module is (harness/module_backend.py): the rig picks the backend, and each backend
answers for itself what the station may do without lines."""

from __future__ import annotations

import os

from harness.clock import Clock
from harness.module_backend import (
    ModuleBackend,
    PlaceBackend,
    SimulatorBackend,
    module_backend,
)
from harness.rig import load_rig


def pick(name: str, tmp_path) -> ModuleBackend:
    rig = load_rig(name)
    return module_backend(rig, clock=Clock(0.02), run_dir=tmp_path, state_dir=tmp_path)


def test_the_rig_picks_the_backend(tmp_path):
    sim = pick("sim", tmp_path)
    assert type(sim) is SimulatorBackend and sim.kind == "sim" and sim.local_peer
    assert type(pick("labgrid-sim", tmp_path)) is PlaceBackend
    real = pick("uart-only", tmp_path)
    assert type(real) is ModuleBackend and real.kind == "serial" and not real.local_peer
    assert real.port == "/dev/ttyUSB0"


def test_a_real_module_without_lines_is_left_to_a_person(tmp_path):
    real = pick("uart-only", tmp_path)
    assert real.start() is real  # a serial port needs nothing started
    assert not real.power_on_now() and not real.power_cycle_now()
    assert real.sim is None and real.place is None and real.pins is None
    assert real.gpio_source() is None and real.closers() == []
    real.clear_faults()  # nothing to clear, and no error


def test_the_simulator_backend_starts_switches_and_stops_the_simulator(tmp_path):
    sim = pick("sim", tmp_path).start()
    module = sim.sim
    try:
        assert os.path.exists(sim.port) and sim.gpio_source() is sim.pins
        assert sim.power_on_now() and sim.sim.status().powered
        sim.sim.inject("silent")
        assert sim.power_cycle_now() and not sim.sim.status().powered
    finally:
        [(what, stop)] = sim.closers()
        stop()
    assert what == "stop the simulator" and not module.errors
    # Stopped, it has nothing left to close, and starting it again makes a new simulator.
    assert sim.sim is None and sim.closers() == []
    try:
        assert sim.start().sim is not module and os.path.exists(sim.port)
    finally:
        for _, stop in sim.closers():
            stop()
