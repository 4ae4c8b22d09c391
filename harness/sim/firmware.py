"""The simulated firmware: the module's state, and the parts that act on it.

`fw.p` is the profile (what the module is like), `fw.v` what a power-off forgets, `fw.mutated`
the behaviours broken on purpose. The parts: `out` (what it prints), `editor` (what it reads),
`runner` (command lines), `boot` (power states). Command handlers (`commands_*`, `payload`,
`transparent`) get the firmware as `fw`. Everything runs on the module's loop thread.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from harness.clock import Clock
from harness.sim.boot import Boot
from harness.sim.cmdline import Command
from harness.sim.editor import LineEditor
from harness.sim.faults import Faults
from harness.sim.ipstack import IpState
from harness.sim.loop import Loop, Task
from harness.sim.mutations import Mutated
from harness.sim.net import Resolver
from harness.sim.output import Output
from harness.sim.profile import Profile
from harness.sim.rough import UrcSpots
from harness.sim.runner import CommandRunner
from harness.sim.session import Session
from harness.sim.settings import StoredSettings
from harness.sim.volatile import Volatile

if TYPE_CHECKING:
    from harness.sim.payload import Payload
    from harness.sim.transparent import Transparent

#: A handler returns (or a generator handler returns) the final to print after the line:
#: "OK" lets the line go on, any other text ends it with that final, None means "answered".
Handler = Callable[["Firmware", Command], Any]

#: Task group of everything a power-off cancels.
POWER = "power"


class Firmware:
    """One module's firmware: state, parts, and the helpers every command shares."""

    def __init__(
        self,
        profile: Profile,
        clock: Clock,
        loop: Loop,
        settings: StoredSettings,
        resolver: Resolver,
        rng: random.Random,
        faults: Faults,
        commands: dict[str, Handler],
    ) -> None:
        self.p = profile
        self.clock = clock
        self.loop = loop
        self.settings = settings
        self.resolver = resolver
        self.rng = rng
        self.faults = faults
        self.mutated = Mutated()
        self.spots: UrcSpots | None = None  # the rough profile's extra URC placements
        self.status_pin: Callable[[bool], None] = lambda active: None
        # survives power cycles (not a real module's memory: the simulator's own bookkeeping)
        self.powered = False
        self.powering_down = False
        self.boot_count = 0
        self.boots: list[float] = []
        self.qiact_ever_failed = False
        self.orphans: list[socket.socket] = []
        self.out = Output(self)
        self.editor = LineEditor(self)
        self.runner = CommandRunner(self, commands)
        self.boot = Boot(self)
        self.reset_volatile()

    def reset_volatile(self) -> None:
        """What every power-on starts from (and every power-off forgets)."""
        stored = self.settings.values
        self.v = Volatile(
            echo=bool(stored["echo"]),
            verbose=bool(stored["verbose"]),
            cmee=int(stored["cmee"]),
            qiurc=int(stored["qiurc"]),
            ipr=int(stored["ipr"]),
            rate=int(stored["ipr"]) or None,
            tcfg=self.p.tcfg_default,
        )
        spots = self.spots
        self.v.qisde = spots.qisde_at_boot(self.p.echo_payload) if spots else self.p.echo_payload
        self.said: dict[str, int] = {}  # URCs printed this boot that are still true (rough.py)
        self.sessions: dict[int, Session] = {}
        self.mode = "command"  # command, payload (QISEND input), data (transparent)
        self.payload: Payload | None = None
        self.transparent: Transparent | None = None
        self.out.reset()
        self.editor.reset()
        self.runner.reset()

    # -- shared by the commands ----------------------------------------------------------------
    def lat(self, name: str) -> float:
        """A latency drawn from the profile span `name` (module seconds)."""
        low, high = getattr(self.p, name)
        return self.rng.uniform(low, high)

    def spawn(self, gen: Generator[Any, None, Any], name: str, start_ns: int | None = None) -> Task:
        """A task a power-off cancels (its sleeps count from `start_ns`, or from now)."""
        return self.loop.spawn(gen, POWER, name, start_ns)

    def cancel_tasks(self) -> None:
        """Power is gone: every task and timer of the firmware stops."""
        self.loop.cancel_group(POWER)

    def cme(self, code: int) -> str:
        """The final for equipment error `code` under the current AT+CMEE."""
        if self.v.cmee == 0:
            return "ERROR"
        if self.v.cmee == 2 and code in self.p.cme_text:
            return f"+CME ERROR: {self.p.cme_text[code]}"
        return f"+CME ERROR: {code}"

    def set_state(self, state: IpState) -> None:
        self.v.ip_state = state

    def drop_sessions(self, graceful: bool) -> None:
        """Close (FIN) or abandon (the network went away: the peer sees nothing) every link.

        A connect still in progress dies with its link: no CONNECT FAIL comes for it later."""
        for session in self.sessions.values():
            if session.task is not None:
                session.task.cancel()
            if graceful:
                session.close()
            else:
                sock = session.abandon()
                if sock is not None:
                    self.orphans.append(sock)
        self.sessions.clear()
        if self.transparent is not None:
            self.transparent.stop()
            self.transparent = None
        if self.mode == "data":
            self.mode = "command"
