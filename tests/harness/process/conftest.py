"""A bench for the process tests: the simulated M95 with its HAT lines (so reboots are real),
the peer server, the AT channel, Power, a compressed back-off, and a delivery check by digest."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import limits
from harness.at import ATChannel
from harness.clock import Clock
from harness.gpio import open_backend
from harness.gpio.sim import SimPins
from harness.limits import Timing
from harness.modem import Modem
from harness.peer import PeerControl, PeerServer, sha256_hex
from harness.power import BackOff, Power
from harness.process import Decision, Options, Process, Sender
from harness.rig import load_rig
from harness.sim import SimulatedModule
from harness.transport import Transport

#: Module seconds → wall (the sim rig's own scale): PWRKEY's 1–2 s window stays 20 ms wide,
#: which thread noise on a loaded 2-core host does not close; QIACT's 180 s cost 3.6 s.
SCALE = 0.02
#: The PWR-BACKOFF schedule shrunk tenfold, so a streak of reboots fits in a test while
#: its waits still happen (and show as decisions).
BACKOFF_DIVISOR = 10
#: Module seconds the peer is given to show bytes that should already be there.
SOON = 300.0


@dataclass
class Bench:
    clock: Clock
    sim: SimulatedModule
    server: PeerServer
    peer: PeerControl
    channel: ATChannel
    modem: Modem
    power: Power
    backoff: BackOff
    timings: list[Timing] = field(default_factory=list)
    seen: list[Decision] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.server.address[0]

    @property
    def port(self) -> int:
        return self.server.address[1]

    def process(self, *, power: bool = True, **kwargs: object) -> Process:
        kwargs.setdefault("options", Options(head=True))
        observer = kwargs.pop("observer", None)

        def watch(d: Decision) -> None:
            self.seen.append(d)
            if observer is not None:
                observer(d)  # type: ignore[operator]

        return Process(
            self.modem,
            self.clock,
            self.power if power else None,
            self.backoff if power else None,
            observer=watch,
            **kwargs,  # type: ignore[arg-type]
        )

    def delivered(self, sender: Sender, data: bytes, after: int) -> None:
        """Each link's bytes at the peer are exactly its slice of `data`, the slices tile it."""
        conns = [c for c in self.peer.stats() if c.id > after and c.proto == "tcp"]
        links = sender.links
        assert len(conns) == len(links), (conns, links)
        assert links[0].start == 0 and links[-1].end == len(data) == sender.total
        for before, nxt in itertools.pairwise(links):
            assert before.end == nxt.start, links
        for conn, link in zip(conns, links, strict=True):
            assert link.end is not None
            want = data[link.start : link.end]
            stats = self.peer.wait_bytes(conn, len(want), SOON) if want else conn
            assert stats.bytes_in == len(want) and stats.sha256_in == sha256_hex(want), (
                f"link {link} delivered {stats.bytes_in} bytes, {len(want)} expected"
            )


def make_bench(tmp_path: Path, seed: int = 0, mutate: tuple[str, ...] = ()) -> Bench:
    rig = load_rig("sim")
    clock = Clock(SCALE)
    state = tmp_path / "sim-state"
    state.mkdir(parents=True, exist_ok=True)
    # A module whose rate was fixed before (INIT-IPR): it prints RDY at boot.
    (state / "sim-settings.json").write_text(json.dumps({"ipr": limits.IPR_DEFAULT_RATE}))
    pins = SimPins()
    sim = SimulatedModule(clock=clock, pins=pins, state_dir=state, seed=seed).start()
    for name in mutate:
        sim.mutate(name)
    server = PeerServer(clock=clock).start()
    channel = ATChannel(Transport(sim.port, rig.serial.baud), clock).start()
    timings: list[Timing] = []
    power = Power.from_rig(rig, open_backend(rig, pins), clock, channel, timings.append)
    schedule = tuple(d / BACKOFF_DIVISOR for d in limits.BACKOFF)
    backoff = BackOff(tmp_path / "backoff", clock, schedule)
    peer = PeerControl(server.control_url, clock=clock)
    modem = Modem(channel, clock, timings.append)
    return Bench(clock, sim, server, peer, channel, modem, power, backoff, timings)


def close_bench(bench: Bench) -> None:
    bench.power.backend.release()
    bench.channel.close()
    bench.server.stop()
    errors = bench.sim.errors
    bench.sim.stop()
    assert not errors, errors


@pytest.fixture
def bench(tmp_path) -> Iterator[Bench]:
    b = make_bench(tmp_path)
    yield b
    close_bench(b)


@pytest.fixture
def mutant_bench(tmp_path) -> Iterator:
    """make(*mutations) → a Bench whose simulator carries those mutations."""
    made: list[Bench] = []

    def make(*mutate: str) -> Bench:
        b = make_bench(tmp_path / f"m{len(made)}", mutate=mutate)
        made.append(b)
        return b

    yield make
    for b in made:
        close_bench(b)
