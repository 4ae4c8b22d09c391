"""Benches for the power tests: in-memory pins for the fakes of tests/harness/_line_fakes.py,
and, end to end, the sim rig's wiring, the simulator and a real AT channel.

The clock runs at 0.05 rather than the rig's 0.02, so the 0.6–1 s PWRKEY off window is
30–50 ms of wall time: thread noise on a busy 2-core CI host cannot push a pulse out of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.at import ATChannel
from harness.clock import Clock
from harness.gpio import open_backend
from harness.gpio.sim import SimBackend, SimPins
from harness.limits import Timing
from harness.power import Power
from harness.rig import Rig, load_rig
from harness.transport import Transport

try:
    from harness.sim import Profile, SimulatedModule
except ImportError as e:  # the simulator is written in parallel with this layer
    pytest.skip(f"harness.sim is not importable: {e}", allow_module_level=True)

SCALE = 0.05


# -- for the fakes -----------------------------------------------------------------------------
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


# -- end to end ----------------------------------------------------------------------------------


@dataclass
class Bench:
    rig: Rig
    clock: Clock
    pins: SimPins
    sim: SimulatedModule
    channel: ATChannel
    power: Power
    timings: list[Timing] = field(default_factory=list)


def make_bench(tmp_path: Path, rig: Rig, stored: dict | None = None) -> Bench:
    """The simulator on a PTY (with `stored` AT&W settings), a channel, the rig's lines."""
    state = tmp_path / "sim-state"
    if stored is not None:
        state.mkdir(parents=True, exist_ok=True)
        (state / "sim-settings.json").write_text(json.dumps(stored))
    clock = Clock(SCALE)
    pins = SimPins()
    sim = SimulatedModule(
        profile=Profile.named(rig.sim.profile),
        clock=clock,
        pins=pins,
        state_dir=state,
        seed=rig.sim.seed,
    ).start()
    channel = ATChannel(Transport(sim.port, rig.serial.baud), clock).start()
    timings: list[Timing] = []
    backend = open_backend(rig, pins)
    power = Power.from_rig(rig, backend, clock, channel, timings.append)
    return Bench(rig, clock, pins, sim, channel, power, timings)


def close_bench(bench: Bench) -> None:
    bench.power.backend.release()
    bench.channel.close()
    errors = bench.sim.errors
    bench.sim.stop()
    assert not errors, errors


@pytest.fixture
def bench(tmp_path):
    b = make_bench(tmp_path, load_rig("sim"))
    yield b
    close_bench(b)


@pytest.fixture
def bench_factory(tmp_path):
    """make(rig=None, stored=None) → a Bench; all are closed after the test."""
    made: list[Bench] = []

    def make(rig: Rig | None = None, stored: dict | None = None) -> Bench:
        b = make_bench(tmp_path, rig or load_rig("sim"), stored)
        made.append(b)
        return b

    yield make
    for b in made:
        close_bench(b)
