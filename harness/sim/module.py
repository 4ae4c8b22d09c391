"""`SimulatedModule`: a faithful M95 on a pseudo-terminal, for the harness, CI and newcomers.

Off until PWRKEY is pressed long enough on `pins` (or `power_on_now()`); talks real TCP/UDP, but
only ever to 127.0.0.0/8. The public API of docs/architecture.md "Simulator".
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.clock import Clock
from harness.gpio.sim import SimPins
from harness.sim import commands
from harness.sim.commands_basic import lost_context
from harness.sim.faults import Faults, make
from harness.sim.firmware import Firmware
from harness.sim.loop import Loop
from harness.sim.net import Resolver
from harness.sim.output import FinalWritten
from harness.sim.power import PowerPins, Wiring
from harness.sim.profile import Profile
from harness.sim.rough import RoughLine, UrcSpots
from harness.sim.settings import StoredSettings
from harness.sim.uart import Uart


@dataclass(frozen=True)
class LinkStatus:
    link: int
    proto: str
    remote: str  # as dialled, "ip:port"
    state: str  # CONNECTING, CONNECTED, CLOSED
    sent: int
    unacked: int
    buffered: int  # received bytes waiting for AT+QIRD


@dataclass(frozen=True)
class SimStatus:
    """A snapshot of the simulated module (for tests, the control socket and people)."""

    port: str
    powered: bool
    boot_count: int
    mode: str  # command, payload, data
    ip_state: str
    rate: int | None  # what the module speaks now (None: autobaud not locked)
    ipr: int  # AT+IPR now
    stored_ipr: int  # AT+IPR as stored by AT&W
    echo: bool
    sim: str
    creg: int
    cgreg: int
    silent: bool
    links: tuple[LinkStatus, ...]
    faults: tuple[str, ...]
    mutations: tuple[str, ...]
    uart_dropped: int
    errors: tuple[str, ...]


class SimulatedModule:
    """One simulated module; `start()` it, open `port`, power it on, `stop()` it."""

    def __init__(
        self,
        profile: Profile | None = None,
        clock: Clock | None = None,
        pins: SimPins | None = None,
        wiring: Wiring | None = None,
        state_dir: Path | str | None = None,
        address_map: dict[str, str] | None = None,
        hosts: dict[str, str] | None = None,
        seed: int = 0,
    ) -> None:
        self.profile = profile or Profile()
        self.clock = clock or Clock(1.0)
        self.pins = pins
        self.wiring = wiring or Wiring()
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.seed = seed
        self.loop = Loop(self.clock)
        self.faults = Faults()
        hosts = {"localhost": "127.0.0.1"} if hosts is None else hosts
        resolver = Resolver(address_map or {}, hosts)
        self.fw = Firmware(
            self.profile,
            self.clock,
            self.loop,
            StoredSettings(self.state_dir, self.profile),
            resolver,
            random.Random(seed),
            self.faults,
            commands.table(),
        )
        spots = UrcSpots(self.profile, seed)
        if spots.active or self.profile.boot_noise or self.profile.echo_payload_drawn:
            self.fw.spots = spots
            self.fw.v.qisde = spots.qisde_at_boot(self.profile.echo_payload)
        self._power = PowerPins(self.fw, pins, self.wiring, self.loop, self.clock) if pins else None
        self._uart: Uart | None = None
        self._started = False
        self._stopped = False

    def __repr__(self) -> str:
        port = self._uart.port if self._uart else "not started"
        return f"<SimulatedModule {self.profile.name} {port}>"

    def __enter__(self) -> SimulatedModule:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- life ---------------------------------------------------------------------------------
    def start(self) -> SimulatedModule:
        if self._stopped:
            raise RuntimeError("a stopped SimulatedModule cannot be started again; make a new one")
        if self._started:
            return self
        line = RoughLine(self.profile, self.seed)
        rough = line if line.active else None
        self._uart = Uart(self.clock, self.loop, self.fw.editor.on_uart, self._pace, rough)
        self.fw.out.uart = self._uart
        self.loop.start()
        if self._power is not None:
            self.loop.call(self._power.attach)
        self._started = True
        return self

    def stop(self) -> None:
        """Power off, close every socket and the PTY, end the threads. Idempotent."""
        if self._stopped or not self._started:
            self._stopped = True
            self.loop.stop()
            return
        self._stopped = True
        if self._power is not None:
            self._power.detach()
        self.loop.call(self.fw.boot.power_off)
        self.loop.stop()
        for sock in self.fw.orphans:
            with contextlib.suppress(OSError):
                sock.close()
        self.fw.orphans.clear()
        if self._uart is not None:
            self._uart.close()

    @property
    def port(self) -> str:
        """The PTY slave path the host opens (like /dev/ttyUSB0)."""
        if self._uart is None:
            raise RuntimeError("SimulatedModule.port: call start() first")
        return self._uart.port

    @property
    def errors(self) -> list[str]:
        """Tracebacks of simulator bugs (a test should assert this stays empty)."""
        return list(self.loop.errors)

    # -- bench controls -----------------------------------------------------------------------
    def power_on_now(self) -> bool:
        """Boot without a PWRKEY pulse (bench use without GPIO); False if it was already on."""
        self._need_started("power_on_now")
        return bool(self.loop.call(self.fw.boot.power_on))

    def power_off_now(self) -> None:
        """Cut power at once (as the supply relay would)."""
        self._need_started("power_off_now")
        self.loop.call(self.fw.boot.power_off)

    def inject(self, fault: str, persistent: bool = False, **params: Any) -> None:
        """Arm a fault of `FAULTS` (one-shot unless `persistent`); UnknownFault says what exists."""
        armed = make(fault, persistent, params)
        self.loop.call(self._arm, armed)

    def clear_faults(self) -> None:
        self.loop.call(self.faults.clear)

    def mutate(self, name: str) -> None:
        """Break one documented behaviour (see `MUTATIONS`) for this simulator's life.

        Mutate before powering on: some mutations (autobaud) act at boot."""
        self.loop.call(self._mutate, name)  # raises UnknownMutation with the list

    def status(self) -> SimStatus:
        return self.loop.call(self._status)

    def finals(self) -> tuple[FinalWritten, ...]:
        """The latest final results as they left the module, oldest first, with the simulator's
        own stamps: when each command line was read and when its final's last byte was written
        (what bench/timing_accuracy.py holds the harness's measurements against)."""
        return self.loop.call(lambda: tuple(self.fw.out.finals))

    def settle(self) -> None:
        """Return once the module has handled every pin change and byte that reached it so far."""
        self.loop.call(lambda: None)

    # -- internals ----------------------------------------------------------------------------
    def _need_started(self, what: str) -> None:
        if not self._started or self._stopped:
            raise RuntimeError(f"SimulatedModule.{what}: the simulator is not running (start() it)")

    def _pace(self) -> int | None:
        rate = self.fw.v.rate
        return rate // 10 if self.profile.pace_output and rate else None

    def _mutate(self, name: str) -> None:
        self.fw.mutated = self.fw.mutated.with_on(name)

    def _arm(self, armed: Any) -> None:
        fw = self.fw
        name = armed.spec.name
        if not armed.spec.immediate:
            self.faults.arm(armed)
            return
        if armed.persistent:
            self.faults.arm(armed)
        if name == "pdp_deact" and fw.powered:
            lost_context(fw)
        elif name == "silent" and fw.powered:
            fw.v.silent = True
        elif name == "noise":
            fw.out.emit(bytes.fromhex(str(armed.params["data"])))

    def _status(self) -> SimStatus:
        fw, v = self.fw, self.fw.v
        links = tuple(
            LinkStatus(
                s.link,
                s.proto,
                f"{s.route.ip}:{s.route.port}",
                s.state,
                s.sent,
                s.unacked(),
                s.rx_bytes,
            )
            for s in fw.sessions.values()
        )
        return SimStatus(
            port=self._uart.port if self._uart else "",
            powered=fw.powered,
            boot_count=fw.boot_count,
            mode=fw.mode,
            ip_state=str(v.ip_state),
            rate=v.rate,
            ipr=v.ipr,
            stored_ipr=int(fw.settings.values["ipr"]),
            echo=v.echo,
            sim=v.sim,
            creg=v.creg_stat,
            cgreg=v.cgreg_stat,
            silent=v.silent,
            links=links,
            faults=self.faults.names(),
            mutations=fw.mutated.names(),
            uart_dropped=self._uart.dropped if self._uart else 0,
            errors=tuple(self.loop.errors),
        )
