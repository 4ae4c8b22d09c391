"""What the bench scripts share: statistics, a table, the verdict line, and a simulated rig.

Each script ends with `verdict_line()`; `Rig` starts a simulator on a PTY with a synced
`ATChannel` (and, for the IP scripts, a loopback peer and an open TCP session).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import multiprocessing
import operator
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import limits
from harness.at import ATChannel, ChannelError
from harness.clock import Clock, prompt_threads, stamp
from harness.commands import ResultCode
from harness.modem import SyncError, sync
from harness.peer import PeerControl, PeerError, PeerServer
from harness.sim import Profile, SimulatedModule
from harness.transport import Transcript, Transport, TransportError

#: The comparison words a verdict line may use, and what they test.
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
#: Module latencies of the bench profile are the M95 profile's × this: bring-up takes tens of
#: milliseconds instead of seconds at scale 1.0, in the same order.
BRING_UP_FACTOR = 0.01
#: Module seconds a bring-up step (registration, QIACT, QIOPEN) may take on the bench profile
#: before the bench gives up: far beyond its scaled latencies, far below the documented limits.
BRING_UP_PATIENCE = 20.0
#: Wall seconds no wait of the bench gives up sooner than: at a tiny scale (the soak's 0.001)
#: module-second budgets are shorter than a loaded host's scheduling stalls.
PATIENCE_WALL = 5.0
#: Wall seconds the simulator process of `SimApart` may take to start (power-on included) or
#: to answer one request.
APART_WALL = 30.0
#: Module seconds between two `AT+CGREG?` looks while waiting for GPRS registration.
REGISTRATION_POLL = 0.05
_QISACK = re.compile(r"\+QISACK:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)")


class BenchError(Exception):
    """The bench could not do what it measures; the message says what failed and what to try."""


# -- numbers ----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (0 < q <= 100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    """Median, p99 and extremes of one series (in the series' own unit)."""

    n: int
    median: float
    p99: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(
            len(values), percentile(values, 50), percentile(values, 99), min(values), max(values)
        )


def ratio(a: float, b: float) -> float:
    """a / b, NaN where b is zero or either is not finite."""
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return math.nan
    return a / b


# -- output -----------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, columns aligned, numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) if rows else False
        for i in range(len(headers))
    ]

    def line(r: list[str]) -> str:
        parts = [
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        return f"{value:.4g}" if abs(value) < 1e3 else f"{value:.0f}"
    return str(value)


def verdict_line(figure: str, value: float, op: str, target: float, digits: int = 3) -> str:
    """`<figure>: <value> (target <op> <target>) MET|MISSED`; a non-finite value is MISSED."""
    if op not in OPS:
        raise ValueError(f"verdict operator {op!r}: use one of {', '.join(OPS)}")
    met = math.isfinite(value) and OPS[op](value, target)
    shown = f"{value:.{digits}f}" if math.isfinite(value) else "nan"
    return f"{figure}: {shown} (target {op} {target:g}) {'MET' if met else 'MISSED'}"


def positive(kind: type) -> Callable[[str], object]:
    """An argparse type: a number of `kind` above zero, with a clear message otherwise."""

    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
        return value

    return parse


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a script's `main`: failures of the rig become one line on stderr and exit status 2."""
    try:
        return main(argv)
    except (BenchError, ChannelError, TransportError, SyncError, PeerError) as e:
        name = sys.argv[0].rsplit("/", 1)[-1] or "bench"
        print(f"{name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# -- the simulated rig ----------------------------------------------------------------------
def bench_profile(**changes: object) -> Profile:
    """The M95 profile with every latency × BRING_UP_FACTOR (so the bench waits on nothing but
    what it measures) and no command or SEND OK latency at all; `changes` on top."""
    scaled = {
        f.name: tuple(x * BRING_UP_FACTOR for x in getattr(Profile(), f.name))
        for f in dataclasses.fields(Profile)
        if f.name.startswith("lat_")
    }
    scaled.update(lat_plain=(0.0, 0.0), lat_send_ok=(0.0, 0.0))
    scaled.update(changes)
    return Profile.m95(**scaled)


@dataclass
class Rig:
    """A powered simulator on a PTY and the clock it runs on; `channel` once `open_channel()`."""

    sim: SimulatedModule | SimApart
    clock: Clock
    channel: ATChannel | None = None
    peer: PeerServer | None = None
    control: PeerControl | None = None

    def open_channel(
        self,
        rate: int = limits.IPR_DEFAULT_RATE,
        *,
        synced: bool = True,
        transcript: Transcript | None = None,
    ) -> ATChannel:
        """A started channel on the module's port (with `transcript`, else the default one),
        synced (INIT-SYNC) at `rate` unless the module is known to be synced (`synced=False`)."""
        port = Transport(self.sim.port, rate, transcript=transcript)
        channel = ATChannel(port, self.clock).start()
        self.channel = channel
        if synced:
            sync(channel, rate, self.clock)
        return channel

    def close_channel(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None

    def patience(self, module_seconds: float = BRING_UP_PATIENCE) -> float:
        """`module_seconds`, but never less than PATIENCE_WALL of wall time."""
        return max(module_seconds, self.clock.to_module(PATIENCE_WALL))

    def need_channel(self) -> ATChannel:
        if self.channel is None:
            raise BenchError("the bench rig has no open channel (call open_channel() first)")
        return self.channel

    def command_ok(self, cmd: str, timeout: float | None = None) -> list[str]:
        """Send `cmd`; its information lines, or BenchError naming the answer."""
        reply = self.need_channel().command(cmd, timeout)
        if not reply.ok:
            raise BenchError(f"{cmd} answered {reply.final!r} on the simulated module")
        return reply.lines

    def wait_registered(self) -> None:
        """Poll AT+CGREG? until GPRS is registered (home or roaming)."""
        deadline = self.clock.deadline(self.patience())
        stats = tuple(str(s) for s in limits.REGISTERED_STATS)
        while not deadline.expired:
            lines = self.command_ok("AT+CGREG?")
            if any(line.replace(" ", "").rsplit(",", 1)[-1] in stats for line in lines):
                return
            self.clock.sleep(REGISTRATION_POLL)
        raise BenchError(f"GPRS not registered within {self.patience():g} module seconds")

    def start_peer(self, mode: str) -> tuple[str, int]:
        """A loopback peer server in `mode` for new connections; its (host, port)."""
        self.peer = PeerServer(clock=self.clock).start()
        self.control = PeerControl(self.peer.control_url, clock=self.clock)
        self.control.set_mode(mode)
        return self.peer.address

    def connect(self, setup: Sequence[str] = ()) -> int:
        """Registration, `setup` commands, QIREGAPP, QIACT, QILOCIP (IP STATUS), QIOPEN to the
        peer (PDP-ACT, OPEN-TCP); the peer's connection id."""
        if self.peer is None or self.control is None:
            raise BenchError("start_peer() before connect()")
        self.wait_registered()
        for cmd in (*setup, "AT+QIREGAPP", "AT+QIACT", "AT+QILOCIP"):
            self.command_ok(cmd, self.patience())
        host, port = self.peer.address
        mark = self.control.mark()
        reply = self.need_channel().command(f'AT+QIOPEN="TCP","{host}","{port}"', self.patience())
        if reply.code is not ResultCode.CONNECT_OK:
            raise BenchError(f"AT+QIOPEN to the peer {host}:{port} answered {reply.final!r}")
        return self.control.wait_connection(self.patience(), proto="tcp", after=mark).id

    def errors(self) -> list[str]:
        """Tracebacks of simulator bugs seen so far."""
        return self.sim.errors


def qisack(channel: ATChannel) -> tuple[int, int, int]:
    """AT+QISACK → (sent, acked, nAcked) (SEND-ACK)."""
    reply = channel.command("AT+QISACK")
    for line in reply.lines:
        m = _QISACK.search(line)
        if m is not None:
            sent, acked, nacked = (int(g) for g in m.groups())
            return sent, acked, nacked
    raise BenchError(f"AT+QISACK answered {reply.final!r} with no +QISACK line: {reply.lines}")


class SimApart:
    """A simulator in a process of its own, as a real module is: its threads never hold the
    harness's GIL. `port`, `inject()` and `finals()` as on SimulatedModule, over a pipe."""

    def __init__(self, profile: Profile, scale: float, seed: int) -> None:
        context = multiprocessing.get_context("spawn")  # a fork would copy the harness's threads
        here = str(Path(__file__).resolve().parent)
        if here not in sys.path:  # the spawned process imports this file as `_common`
            sys.path.insert(0, here)
        self._conn, child = context.Pipe()
        self._proc = context.Process(
            target=_serve_apart, args=(child, profile, scale, seed), daemon=True
        )
        self._proc.start()
        self.port: str = self._answer("start")

    def _answer(self, what: str) -> Any:
        end = stamp() + int(APART_WALL * 1e9)
        while not self._conn.poll(0.1):
            if not self._proc.is_alive():
                raise BenchError(
                    f"the simulator process ended (exit {self._proc.exitcode}) before answering "
                    f"{what}; its stderr is above"
                )
            if stamp() > end:
                raise BenchError(f"the simulator process did not answer {what} in {APART_WALL:g} s")
        kind, value = self._conn.recv()
        if kind != "ok":
            raise BenchError(f"the simulator process, on {what}: {value}")
        return value

    def _call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        self._conn.send((op, args, kwargs))
        return self._answer(op)

    def inject(self, fault: str, persistent: bool = False, **params: Any) -> None:
        self._call("inject", fault, persistent, **params)

    def finals(self) -> tuple[Any, ...]:
        return tuple(self._call("finals"))

    def stop(self) -> list[str]:
        """Stop the simulator; the bugs it reported."""
        errors: list[str] = self._call("stop")
        self._proc.join(APART_WALL)
        return errors


def _serve_apart(conn: Any, profile: Profile, scale: float, seed: int) -> None:
    """The simulator process of `SimApart`: start, power on, then answer requests until stop."""
    prompt_threads()
    with tempfile.TemporaryDirectory(prefix="modemcert-bench-") as state:
        sim = SimulatedModule(profile=profile, clock=Clock(scale), state_dir=state, seed=seed)
        sim.start()
        try:
            sim.power_on_now()
            conn.send(("ok", sim.port))
            while True:
                op, args, kwargs = conn.recv()
                if op == "stop":
                    break
                try:
                    conn.send(("ok", getattr(sim, op)(*args, **kwargs)))
                except Exception as e:  # the bench reports it as one line
                    conn.send(("error", f"{type(e).__name__}: {e}"))
        except BaseException as e:
            conn.send(("error", f"{type(e).__name__}: {e}"))
            raise
        finally:
            errors = sim.errors
            sim.stop()
        conn.send(("ok", errors))


@contextlib.contextmanager
def simulated_apart(profile: Profile, scale: float = 1.0, seed: int = 0) -> Iterator[Rig]:
    """Like `simulated()`, with the simulator in its own process (`SimApart`)."""
    prompt_threads()
    sim = SimApart(profile, scale, seed)
    rig = Rig(sim, Clock(scale))
    try:
        yield rig
    finally:
        rig.close_channel()
        errors = sim.stop()
    if errors:
        raise BenchError(f"the simulator reported {len(errors)} bug(s); first: {errors[0]}")


@contextlib.contextmanager
def simulated(profile: Profile, scale: float = 1.0, seed: int = 0) -> Iterator[Rig]:
    """A started, powered simulator (state in a temporary directory), stopped on exit;
    BenchError if the simulator itself reported a bug."""
    clock = Clock(scale)
    prompt_threads()  # as the station does for every run
    with tempfile.TemporaryDirectory(prefix="modemcert-bench-") as state:
        sim = SimulatedModule(profile=profile, clock=clock, state_dir=state, seed=seed).start()
        rig = Rig(sim, clock)
        try:
            sim.power_on_now()
            yield rig
        finally:
            rig.close_channel()
            if rig.peer is not None:
                rig.peer.stop()
            errors = sim.errors
            sim.stop()
        if errors:
            raise BenchError(f"the simulator reported {len(errors)} bug(s); first: {errors[0]}")
