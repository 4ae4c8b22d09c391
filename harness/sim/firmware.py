"""The simulated firmware: power states, the boot, the UART line editor and the command runner.

Runs only on the module's loop thread. Command handlers live in `commands_*`; received data in
`receive`; QISEND payload and transparent mode in `payload` and `transparent`.
"""

from __future__ import annotations

import inspect
import random
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from harness.clock import Clock
from harness.sim import framing, receive
from harness.sim.baud import Autobaud, garble
from harness.sim.cmdline import Command, SyntaxFault, parse
from harness.sim.faults import Faults
from harness.sim.ipstack import IpState
from harness.sim.loop import Loop, Task
from harness.sim.net import Resolver
from harness.sim.profile import IPR_RATES, Profile
from harness.sim.rough import UrcSpots
from harness.sim.session import Session
from harness.sim.settings import StoredSettings
from harness.sim.uart import Uart
from harness.sim.volatile import Volatile

#: A handler returns (or a generator handler returns) the final to print after the line:
#: "OK" lets the line go on, any other text ends it with that final, None means "answered".
Handler = Callable[["Firmware", Command], Any]

#: Task group of everything a power-off cancels.
POWER = "power"
#: PWR-BACKOFF mutation: boots closer together than this (module seconds) count as "at once".
BACKOFF_WINDOW = 600.0


@dataclass(frozen=True)
class BootPlan:
    """When, in module seconds after power-on, each start-up event happens."""

    uart_ready: float
    sim_ready: float
    call_ready: float
    creg: float
    cgreg: float
    no_sim: bool
    denied: bool


class Firmware:
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
        self.commands = commands
        self.mutations: set[str] = set()
        self.uart: Uart | None = None
        self.spots: UrcSpots | None = None  # the rough profile's extra URC placements
        self.status_pin: Callable[[bool], None] = lambda active: None
        # survives power cycles (not a real module's memory: the simulator's own bookkeeping)
        self.powered = False
        self.powering_down = False
        self.boot_count = 0
        self.boots: list[float] = []
        self.qiact_ever_failed = False
        self.orphans: list[socket.socket] = []
        self._reset_volatile()

    # -- small helpers -------------------------------------------------------------------------
    def mutated(self, name: str) -> bool:
        return name in self.mutations

    def lat(self, name: str) -> float:
        """A latency drawn from the profile span `name` (module seconds)."""
        low, high = getattr(self.p, name)
        return self.rng.uniform(low, high)

    def spawn(self, gen: Generator[Any, None, Any], name: str) -> Task:
        return self.loop.spawn(gen, POWER, name)

    def _reset_volatile(self) -> None:
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
        spots = getattr(self, "spots", None)
        self.v.qisde = spots.qisde_at_boot(self.p.echo_payload) if spots else self.p.echo_payload
        self.said: dict[str, int] = {}  # URCs printed this boot that are still true (rough.py)
        self.sessions: dict[int, Session] = {}
        self.mode = "command"  # command, payload (QISEND input), data (transparent)
        self.payload: Any = None
        self.transparent: Any = None
        self.last_rx_ns = 0
        self._line = bytearray()
        self._last_line = b""
        self._busy: Task | None = None
        self._queued = bytearray()
        self._pushes: list[bytes] = []
        self._early: list[bytes] = []
        self._held_info: list[bytes] = []
        self._final_sent = True
        self._after_final: list[Callable[[], None]] = []
        self.splice = b""
        # The INIT-SYNC mutant is slow only in an autobaud a host chose with AT+IPR=0&W: a
        # factory-fresh module (also autobaud) still locks at once, so a rig can come up.
        slow = self.mutated("autobaud_needs_20_at") and "ipr" in self.settings.chosen
        needed = 20 if slow else self.p.autobaud_ats
        self._autobaud = Autobaud(needed)

    # -- output --------------------------------------------------------------------------------
    def emit(self, data: bytes) -> None:
        """Bytes to the host, as the line delivers them (nothing if off, silent or unsynced)."""
        if not self.powered or self.v.silent or self.uart is None or not data:
            return
        if self.v.rate is None:
            if self.p.autobaud_early_urcs == "replay":
                self._early.append(data)
            return  # PROTOCOL §3: nothing goes out before autobaud locks
        host = self.uart.host_rate()
        if host != self.v.rate:
            if self.p.baud_mismatch == "garbage":
                self.uart.write(garble(data, self.v.rate, host))
            return
        if self.splice:  # RECV-INTERLEAVE mutation: data lands inside this line
            half = len(data) // 2
            data, self.splice = data[:half] + self.splice + data[half:], b""
        self.uart.write(data)

    def info(self, text: str | bytes) -> None:
        data = framing.line(text, self.v.verbose)
        if not self._final_sent and self.mutated("info_after_final"):
            self._held_info.append(data)
            return
        self.emit(data)

    def block(self, lines: list[str]) -> None:
        self.emit(framing.block(lines, self.v.verbose))

    def urc(self, text: str) -> None:
        if self.v.qiurc == 0 and text in self.p.qiurc_suppresses:
            return
        self.emit(framing.line(text, self.v.verbose))

    def final(self, text: str) -> None:
        noise = self.faults.active("noise")
        if noise is not None and noise.persistent:
            self.emit(bytes.fromhex(str(noise.params["data"])))
        self.emit(framing.final(text, self.v.verbose))
        self._final_sent = True
        for data in self._held_info:
            self.emit(data)
        self._held_info.clear()
        if self.spots is not None:
            self.loop.post(self.spots.visit, self, "after a final")

    def cme(self, code: int) -> str:
        """The final for equipment error `code` under the current AT+CMEE."""
        if self.v.cmee == 0:
            return "ERROR"
        if self.v.cmee == 2 and code in self.p.cme_text:
            return f"+CME ERROR: {self.p.cme_text[code]}"
        return f"+CME ERROR: {code}"

    def after_final(self, fn: Callable[[], None]) -> None:
        """Run `fn` once this line's final has gone out (AT+IPR switches rate after its OK)."""
        self._after_final.append(fn)

    # -- received data to the UART -------------------------------------------------------------
    def push(self, data: bytes) -> None:
        """Received data for the UART; held while the host is typing (seeds ch. 5.1 note)."""
        if self._busy is not None and self.mutated("recv_inside_reply"):
            self.splice += data
            return
        self._pushes.append(data)
        self.flush_pushes()

    def flush_pushes(self) -> None:
        if self.mode != "command" or self._line:
            return
        while self._pushes:
            self.emit(self._pushes.pop(0))

    # -- input ---------------------------------------------------------------------------------
    def on_uart(self, data: bytes, rate: int, t_ns: int) -> None:
        """Bytes from the host at `rate` (termios speed of its side)."""
        v = self.v
        if not self.powered or v.silent or not v.uart_ready or v.shutting_down:
            return
        if v.rate is None:
            rest = self._autobaud.feed(data, rate)
            if rest is None or rate not in IPR_RATES or rate == 0:
                return
            v.rate = rate
            early, self._early = self._early, []
            for chunk in early:
                self.emit(chunk)
            data = rest
        elif rate != v.rate:
            return  # framing at the wrong speed: the module understands nothing
        self.last_rx_ns = t_ns
        self.feed(data)

    def feed(self, data: bytes) -> None:
        """Input bytes in the current mode (also used to replay queued input)."""
        while data and self.powered:
            if self.mode == "data":
                self.transparent.feed(data, self.last_rx_ns)
                return
            if self.mode == "payload":
                data = self.payload.feed(data)
                continue
            if self._busy is not None:
                if self.p.input_while_busy == "queue":
                    self._queued += data
                return
            data = self._edit(data)
        self.flush_pushes()

    def _edit(self, data: bytes) -> bytes:
        """The command-line editor: echo, backspace, CR ends the line; returns unused bytes."""
        if self.spots is not None and not self._line and data[:1] not in (b"\r", b"\n"):
            self.spots.visit(self, "before an echo")
        echo = bytearray()
        for i, byte in enumerate(data):
            echo.append(byte)
            if byte == 0x0D:
                self._echo(echo)
                line, self._line = bytes(self._line), bytearray()
                self._start_line(line)
                return data[i + 1 :]
            if byte == 0x0A:
                continue
            if byte == 0x08:
                if self._line:
                    self._line.pop()
                continue
            self._line.append(byte)
            if bytes(self._line).upper() == b"A/":  # V.25ter: repeat the last command line
                self._echo(echo)
                self._line.clear()
                self._start_line(self._last_line)
                return data[i + 1 :]
        self._echo(echo)
        return b""

    def _echo(self, data: bytes | bytearray) -> None:
        if self.v.echo and data:
            self.emit(bytes(data))

    def _start_line(self, line: bytes) -> None:
        starts = [i for i in (line.find(b"AT"), line.find(b"at")) if i >= 0]
        if not starts:
            return  # no "AT": not a command line (e.g. "+++" typed in command mode)
        line = line[min(starts) :]
        self._last_line = line
        self._busy = self.spawn(self._run_line(line), name=line[:24].decode("latin-1"))
        if self._busy.done:
            self._line_done(self._busy)
        else:
            self._busy.on_done.append(self._line_done)

    def _line_done(self, task: Task) -> None:
        if self._busy is not task:
            return
        self._busy = None
        if not self.powered:
            return
        queued, self._queued = bytes(self._queued), bytearray()
        self.feed(queued)

    def busy_with(self, gen: Generator[Any, None, Any], name: str) -> None:
        """Run a task that holds the command line (a QISEND after its payload)."""
        self._busy = self.spawn(gen, name)
        if self._busy.done:
            self._line_done(self._busy)
        else:
            self._busy.on_done.append(self._line_done)

    def _run_line(self, line: bytes) -> Generator[Any, None, None]:
        self._final_sent = False
        yield self.lat("lat_plain")
        body = line[2:].decode("latin-1")
        try:
            if len(line) > self.p.at_line_max:
                raise SyntaxFault("line too long")
            commands = parse(body)
        except SyntaxFault:
            self.final("ERROR")
            return
        result: str | None = "OK"
        for command in commands:
            handler = self.commands.get(command.name)
            if handler is None:
                result = "ERROR"
                break
            try:
                result = handler(self, command)
                if inspect.isgenerator(result):
                    result = yield from result
            except SyntaxFault:
                result = "ERROR"
            if result != "OK":
                break
        if result is not None:
            self.final(result)
        self._final_sent = True
        hooks, self._after_final = self._after_final, []
        for fn in hooks:
            fn()

    # -- power ---------------------------------------------------------------------------------
    def power_on(self) -> bool:
        """Boot now (PWRKEY press reached, or power_on_now); False if already on."""
        if self.powered:
            return False
        now = self.clock.now()
        wedge = (
            self.mutated("reboot_too_soon_wedges")
            and len(self.boots) >= 2
            and now - self.boots[-1] < BACKOFF_WINDOW
            and self.boots[-1] - self.boots[-2] < BACKOFF_WINDOW
        )
        self.boots.append(now)
        self.boot_count += 1
        self.powered = True
        self.powering_down = False
        self._reset_volatile()
        silent = self.faults.active("silent")
        self.v.silent = wedge or (silent is not None and silent.persistent)
        self.status_pin(True)
        plan = self._plan()
        self.spawn(self._boot(plan), "boot")
        self.spawn(self._register(plan), "register")
        return True

    def power_off(self) -> None:
        """Off at once: no URC, every session forgotten (the peer sees nothing)."""
        if not self.powered:
            return
        self.powered = False
        self.powering_down = False
        self.loop.cancel_group(POWER)
        for session in self.sessions.values():
            sock = session.abandon()
            if sock is not None:
                self.orphans.append(sock)
        self._reset_volatile()
        self.status_pin(False)

    def normal_power_down(self, logout: float) -> None:
        """PWRKEY off pulse or AT+QPOWD=1: NORMAL POWER DOWN, then off."""
        if not self.powered or self.powering_down:
            return
        self.powering_down = True
        self.spawn(self._power_down(logout), "power-down")

    def _power_down(self, logout: float) -> Generator[Any, None, None]:
        yield logout
        self.urc("NORMAL POWER DOWN")
        self.v.shutting_down = True
        self.loop.post(self.power_off)

    def _plan(self) -> BootPlan:
        ready = self.lat("lat_uart_ready")
        sim = max(ready, self.lat("lat_sim_ready"))
        busy = self.faults.take("sim_busy")
        if busy is not None:
            sim = max(sim, busy.num("seconds"))
        if self.mutated("cpin_ready_after_12s"):
            sim = max(sim, 12.0)
        call = max(sim, self.lat("lat_call_ready"))
        creg = max(sim, self.lat("lat_creg"))
        slow = self.faults.take("reg_slow")
        if slow is not None:
            creg = max(creg, slow.num("seconds"))
        if self.mutated("creg_after_40s"):
            creg = max(creg, 40.0)
        cgreg = creg + self.lat("lat_cgreg")
        if self.mutated("cgreg_after_40s"):
            cgreg = max(cgreg, 40.0)
        no_sim = self.faults.take("no_sim") is not None
        denied = self.faults.take("reg_denied") is not None
        return BootPlan(ready, sim, call, creg, cgreg, no_sim, denied)

    def _boot(self, plan: BootPlan) -> Generator[Any, None, None]:
        yield plan.uart_ready
        self.v.uart_ready = True
        if self.spots is not None:
            self.emit(self.spots.garbage())
        for text in self.p.boot_urcs:
            self.urc(text)
        yield plan.sim_ready - plan.uart_ready
        self.v.cpin_reported = True
        if plan.no_sim:
            self.v.sim = "absent"
            self.urc(self.p.no_sim_urc)
            return
        self.v.sim = "ready"
        self.v.inistat = 1
        self.urc(self.cpin_text("READY"))
        yield (plan.call_ready - plan.sim_ready) / 2
        self.v.inistat = 2
        yield (plan.call_ready - plan.sim_ready) / 2
        self.v.inistat = 3
        self.urc("Call Ready")
        self.said["call_ready"] = self.v.qiurc
        if self.p.sms_ready:
            self.urc("SMS Ready")

    def _register(self, plan: BootPlan) -> Generator[Any, None, None]:
        yield plan.sim_ready
        if plan.no_sim:
            return
        self.set_reg("creg", 2)
        self.set_reg("cgreg", 2)
        if plan.denied:
            yield max(0.0, plan.creg - plan.sim_ready)
            self.set_reg("creg", 3)
            self.set_reg("cgreg", 3)
            return
        yield max(0.0, plan.creg - plan.sim_ready)
        self.set_reg("creg", self.p.creg_registered)
        yield plan.cgreg - plan.creg
        self.set_reg("cgreg", self.p.creg_registered)
        if self.faults.take("cgatt_fail") is None:
            self.v.cgatt = True

    def set_reg(self, which: str, stat: int) -> None:
        """Set +CREG/+CGREG <stat> and print the URC the host asked for with <n>."""
        setattr(self.v, f"{which}_stat", stat)
        text = self.reg_urc(which)
        if text is not None:
            self.urc(text)
            self.said[which] = stat
        else:
            self.said.pop(which, None)

    def reg_urc(self, which: str) -> str | None:
        """The +CREG/+CGREG URC for the <stat> now, as <n> asks (None: n=0, no URC)."""
        stat = getattr(self.v, f"{which}_stat")
        n = getattr(self.v, f"{which}_n")
        name = "+CREG" if which == "creg" else "+CGREG"
        if n == 1:
            return f"{name}: {stat}"
        if n == 2:
            return f"{name}: {stat}" + self.cell_suffix(stat)
        return None

    def cell_suffix(self, stat: int) -> str:
        return f',"{self.p.lac}","{self.p.ci}"' if stat in (1, 5) else ""

    def cpin_text(self, code: str) -> str:
        return f"+CPIN: {code}" if self.p.cpin_space else f"+CPIN:{code}"

    # -- IP helpers shared by the command modules ----------------------------------------------
    def post_session(self, session: Session, kind: str, data: bytes) -> None:
        """A session's reader thread hands its event to the module thread."""
        self.loop.post(receive.on_session, self, session, kind, data)

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
