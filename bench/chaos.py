"""Chaos bench (issue 9, item 3): hundreds of open/send/receive/close sessions through
harness/process.py against the simulator, with a fault in about 10 % of the operations.

Every fault kind of harness/sim/faults.py that a session can meet, and the peer's refuse, hold,
close, silent and push-"CLOSED" modes. Each session must end in a documented branch (the one its
fault calls for), nothing may hang (a per-session deadline), and the peer's digests must prove
that no byte was lost or duplicated. The last line printed is exactly
`sessions-with-loss: <n> of <N> (target == 0) MET|MISSED`.

    .venv/bin/python bench/chaos.py --sessions 500 [--seed S] [--scale X]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import limits
from harness.at import ATChannel, ChannelError
from harness.clock import Clock, stamp
from harness.commands import ResultCode
from harness.gpio import open_backend
from harness.gpio.sim import SimPins
from harness.modem import Modem
from harness.peer import ConnStats, PeerControl, PeerError, PeerServer, sha256_hex
from harness.power import BackOff, Power
from harness.process import HEARTBEAT_DATA, Decision, Options, Process, ProcessError, Sender
from harness.rig import load_rig
from harness.sim import SimulatedModule
from harness.sim.faults import FAULTS
from harness.transport import Transport

OPS = ("open", "send", "receive", "close")
#: Module seconds → wall: 500 sessions take about 3 minutes (0.02, the sim rig's, about 9).
DEFAULT_SCALE = 0.01
#: Module seconds one session may take, whatever its faults (the worst, a silent module with a
#: boot fault behind it, needs about 500 s); past it the session counts as hung.
SESSION_DEADLINE = 1500.0
#: Module seconds the peer gets to show bytes that should already be there.
PEER_WAIT = 120.0
#: Module seconds a silent peer is left alone before it is released.
SILENT_WAIT = 10.0
#: Module seconds of idleness after which the simulated gateway forgets a port (nat_drop).
NAT_IDLE = 5.0
#: PWR-BACKOFF's schedule shrunk a hundredfold: its waits happen, but a bench run stays short.
BACKOFF_DIVISOR = 100
#: Peer data that looks like the module's own URCs (TRANS-CLOSED's trap, here in IPD frames).
LOOKALIKES = (b"CLOSED", b"\r\nCLOSED\r\n", b"+PDP DEACT", b"\r\n+PDP DEACT\r\n0, CLOSED\r\n")


@dataclass(frozen=True)
class Fault:
    """One fault kind: where it strikes and the documented branch it must lead to."""

    name: str  # a key of FAULTS, or "peer.<mode>"
    op: str
    expect: tuple[str, str] | None  # (clause, words in the decision); None: any documented path


# What each fault must make the process do (PROCESS.md clauses), per operation it strikes.
CATALOGUE: tuple[Fault, ...] = (
    Fault("qiact_fail", "open", ("PDP-ACT-RETRY", "")),
    Fault("qiact_hang", "open", ("PDP-ACT", "no answer to AT+QIACT")),
    Fault("cgatt_fail", "open", ("INIT-CGATT", "reboot")),
    Fault("no_sim", "open", ("INIT-CPIN", "reboot")),
    Fault("sim_busy", "open", ("INIT-CPIN", "reboot")),
    Fault("reg_slow", "open", ("INIT-CREG", "reboot")),
    Fault("reg_denied", "open", ("INIT-CREG", "reboot")),
    Fault("silent", "open", ("PWR-EMERG", "")),
    Fault("qiopen_hang", "open", None),  # the branch depends on its seconds: see _expect
    Fault("peer_unreachable", "open", ("OPEN-FAIL", "TCP CONNECTING: QICLOSE")),
    Fault("peer.refuse", "open", ("OPEN-FAIL", "QIDEACT")),
    Fault("pdp_deact", "open", ("PDP-LOST", "")),
    Fault("noise", "open", None),
    Fault("peer.hold", "send", ("SEND-WINDOW", "go on")),
    Fault("slow_network", "send", None),
    Fault("nat_drop", "send", None),  # three variants: see _expect
    Fault("noise", "send", None),
    Fault("peer.push", "receive", None),  # proven by the receive digest
    Fault("peer.silent", "receive", None),
    Fault("noise", "receive", None),
    Fault("peer.close", "close", ("CLOSE", "")),
    Fault("pdp_deact", "close", ("PDP-LOST", "")),
    Fault("silent", "close", ("PWR-EMERG", "")),
    Fault("qideact_slow", "close", None),  # over 90 s: reboot; under: DEACT OK
    Fault("qideact_hang", "close", ("PDP-DEACT", "no answer to AT+QIDEACT")),
    Fault("noise", "close", None),
)
BOOT_FAULTS = ("cgatt_fail", "no_sim", "sim_busy", "reg_slow", "reg_denied")


@dataclass
class Outcome:
    """One session: its faults, the clauses it went through, and what was proven."""

    index: int
    faults: list[str]
    expected: list[tuple[str, str, str]]  # (fault, clause, words)
    path: list[str] = field(default_factory=list)
    error: str = ""  # ProcessError (a documented give-up) or anything else
    documented: bool = False
    delivered: bool = False
    received: bool = True
    detail: str = ""


@dataclass
class Report:
    sessions: int
    outcomes: list[Outcome]
    wall: float
    module: float
    reboots: int
    hung: bool

    @property
    def loss(self) -> int:
        return sum(not o.delivered for o in self.outcomes)

    @property
    def undocumented(self) -> int:
        return sum(not o.documented for o in self.outcomes)

    @property
    def receive_mismatch(self) -> int:
        return sum(not o.received for o in self.outcomes)

    @property
    def met(self) -> bool:
        return self.loss == 0 and len(self.outcomes) == self.sessions and not self.hung

    def last_line(self) -> str:
        verdict = "MET" if self.met else "MISSED"
        return f"sessions-with-loss: {self.loss} of {self.sessions} (target == 0) {verdict}"


def check_delivery(conns: list[ConnStats], sender: Sender, stream: bytes) -> str:
    """ "" if each link's bytes at the peer are exactly its slice of `stream` and the slices
    tile it; otherwise what is wrong."""
    links = sender.links
    if len(conns) != len(links):
        return f"{len(links)} links but {len(conns)} peer connections"
    if sender.total != len(stream):
        return f"the process was given {sender.total} bytes, the session sent {len(stream)}"
    if not links or links[0].start != 0 or links[-1].end != len(stream):
        return f"links do not cover the {len(stream)}-byte stream: {_spans(sender)}"
    for before, after in itertools.pairwise(links):
        if before.end != after.start:
            return f"links overlap or leave a gap: {_spans(sender)}"
    for conn, link in zip(conns, links, strict=True):
        want = stream[link.start : link.end or 0]
        if conn.bytes_in != len(want) or conn.sha256_in != sha256_hex(want):
            return (
                f"connection {conn.id} got {conn.bytes_in} bytes, its slice "
                f"[{link.start}:{link.end}] is {len(want)} bytes (digest differs)"
            )
    return ""


def _spans(sender: Sender) -> str:
    return ", ".join(f"[{k.start}:{k.end}] {k.ended}" for k in sender.links)


class Chaos:
    """The simulator, the peer and one Process, driven through many faulty sessions."""

    def __init__(self, seed: int, scale: float, rate: float, state: Path) -> None:
        self.rng = random.Random(seed)
        self.rate = rate
        rig = load_rig("sim")
        self.clock = Clock(scale)
        state.mkdir(parents=True, exist_ok=True)
        (state / "sim-settings.json").write_text(json.dumps({"ipr": limits.IPR_DEFAULT_RATE}))
        pins = SimPins()
        self.sim = SimulatedModule(clock=self.clock, pins=pins, state_dir=state, seed=seed)
        self.sim.start()
        self.server = PeerServer(clock=self.clock).start()
        self.peer = PeerControl(self.server.control_url, clock=self.clock)
        self.channel = ATChannel(Transport(self.sim.port, rig.serial.baud), self.clock).start()
        self.power = Power.from_rig(rig, open_backend(rig, pins), self.clock, self.channel)
        schedule = tuple(d / BACKOFF_DIVISOR for d in limits.BACKOFF)
        backoff = BackOff(state / "backoff", self.clock, schedule)
        self.modem = Modem(self.channel, self.clock)
        self.proc = Process(
            self.modem,
            self.clock,
            self.power,
            backoff,
            options=Options(head=True),
            observer=self._observe,
        )
        self.host, self.port = self.server.address
        self._hooks: list[Callable[[Decision], bool]] = []
        self._silent = False
        self.hung = False

    def close(self) -> None:
        self.power.backend.release()
        self.channel.close()
        self.server.stop()
        self.sim.stop()

    # -- faults ---------------------------------------------------------------------------------
    def _observe(self, decision: Decision) -> None:
        self._hooks = [hook for hook in self._hooks if not hook(decision)]

    def _on(self, clause: str, words: str, action: Callable[[], None]) -> None:
        """Run `action` once, at the first decision of `clause` whose text holds `words`."""

        def hook(d: Decision) -> bool:
            if d.clause == clause and words in d.what:
                action()
                return True
            return False

        self._hooks.append(hook)

    def _plan(self) -> list[Fault]:
        plan: list[Fault] = []
        for op in OPS:
            if self.rng.random() < self.rate:
                choices = [f for f in CATALOGUE if f.op == op]
                if any(f.name.startswith("peer.") for f in plan):
                    choices = [f for f in choices if not f.name.startswith("peer.")]
                plan.append(self.rng.choice(choices))
        return plan

    def _context_down(self) -> None:
        """So that the next step activates (a fault of QIACT, or a boot, must be met)."""
        if self.proc.context_up:
            self.proc.deactivate()

    def _current_conn(self, mark: int) -> ConnStats | None:
        conns = [c for c in self.peer.stats() if c.id > mark and c.proto == "tcp"]
        return conns[-1] if conns else None

    def _release(self, mark: int) -> None:
        conn = self._current_conn(mark)
        if conn is not None:
            try:
                self.peer.release(conn)
            except PeerError:
                pass  # not held any more

    def _before_open(self, fault: Fault, mark: int, expect: list) -> None:
        sim, rng, name = self.sim, self.rng, fault.name
        if name == "qiact_fail":
            self._context_down()
            sim.inject(name, count=rng.choice((1, 2, 3)))
        elif name == "qiact_hang":
            self._context_down()
            sim.inject(name)
        elif name in BOOT_FAULTS:
            self._context_down()  # so the silence shows at once (AT+QIREGAPP, 60 s)
            params = {"sim_busy": {"seconds": rng.uniform(12, 20)}}.get(name, {})
            if name == "reg_slow":
                params = {"seconds": rng.uniform(45, 55)}  # registration past 30 s
            sim.inject(name, **params)
            sim.inject("silent")  # the process restarts the module and meets the boot fault
        elif name == "silent":
            self._context_down()
            sim.inject("silent")
        elif name == "qiopen_hang":
            seconds = rng.choice((0.0, rng.uniform(5.0, 30.0)))
            sim.inject(name, seconds=seconds)
            if seconds:
                expect.append((name, "OPEN-FAIL", "TCP CONNECTING: QICLOSE"))
            else:
                expect.append((name, "OPEN-RETRY", "no answer within"))
        elif name == "peer_unreachable":
            sim.inject(name, count=rng.choice((1, 1, 2)))
        elif name == "pdp_deact":
            self.proc.activate()
            sim.inject(name)
        elif name == "peer.refuse":
            self.peer.set_mode("refuse")
            self._on("OPEN-FAIL", "", lambda: self.peer.set_mode("echo"))
        elif name == "peer.hold":
            self.peer.set_mode("hold", proto="tcp", count=1)
            self._on("SEND-WINDOW", "poll QISACK", lambda: self._release(mark))
        elif name == "peer.push":
            data = rng.choice(LOOKALIKES)
            self.peer.set_mode("push", proto="tcp", count=1, data=data, then="echo")
        elif name == "peer.silent":
            self.peer.set_mode("silent", proto="tcp", count=1)
        elif name == "noise":
            sim.inject("noise", data=rng.randbytes(rng.randint(1, 8)).hex())
        elif name == "slow_network":
            sim.inject(name, delay=rng.uniform(1.0, 6.0))

    # -- one session ----------------------------------------------------------------------------
    def session(self, index: int) -> Outcome:
        plan = self._plan()
        expect = [(f.name, *f.expect) for f in plan if f.expect is not None]
        out = Outcome(index, [f"{f.name}@{f.op}" for f in plan], expect)
        rng, proc = self.rng, self.proc
        names = {f.name for f in plan}
        first = len(proc.decisions)
        mark = self.peer.mark()
        stream = bytearray()
        hold = "peer.hold" in names
        self._silent = "peer.silent" in names  # the first connection reads nothing until released
        size = rng.randint(7000, 9000) if hold else rng.randint(1, 6000)
        if "slow_network" in names:
            # One QISEND only: the simulator lets later sends overtake the bytes a slow network
            # holds (harness/sim/session.py Session.send ignores `held`), which no TCP stream
            # does; reported to the simulator's owner. Remove this line once that is fixed.
            size = min(size, limits.SEND_MAX)
        data = rng.randbytes(size)
        nat = "nat_drop" in names
        variant = rng.choice(("window", "ack", "keep")) if nat else ""
        deactivate = rng.random() < 0.2 or bool(names & {"qideact_slow", "qideact_hang"})
        watchdog = threading.Timer(self.clock.to_wall(SESSION_DEADLINE), self._hang)
        watchdog.daemon = True
        watchdog.start()
        try:
            for fault in plan:
                if fault.op in ("open", "send", "receive") and fault.name != "nat_drop":
                    self._before_open(fault, mark, out.expected)
            proc.open("TCP", self.host, self.port)
            if nat:
                first_part, data = data[: len(data) // 4], data[len(data) // 4 :]
                self._send(first_part, stream)
                proc.flush()
                self._receive(mark, out)
                self.sim.inject("nat_drop", idle=NAT_IDLE)
                self._send(b"tick", stream)  # arms the gateway's idle timer
                proc.flush()
                self._receive(mark, out)
                self.clock.sleep(2 * NAT_IDLE)  # idle: the gateway forgets the port
                if variant == "window":
                    data = data + rng.randbytes(5000)
                    out.expected.append(("nat_drop", "SEND-WINDOW", "connection is broken"))
                elif variant == "ack":
                    data = data[:2000]
                    out.expected.append(("nat_drop", "SEND-ACK", "no ACK within"))
                else:
                    proc.heartbeat()
                    proc.heartbeat()
                    stream += HEARTBEAT_DATA * 2
                    out.expected.append(("nat_drop", "KEEP-CHECK", "polls: QICLOSE"))
            self._send(data, stream)
            proc.flush()
            self._receive(mark, out)
            for fault in plan:
                if fault.op == "close":
                    self._at_close(fault, mark, out.expected)
            proc.close()
            if deactivate:
                proc.deactivate()
        except ProcessError as e:
            out.error = f"ProcessError: {e}"
        except (ChannelError, PeerError, OSError) as e:
            out.error = f"{type(e).__name__}: {e}"
        finally:
            watchdog.cancel()
        decisions = proc.decisions[first:]
        out.path = [d.clause for d in decisions]
        out.documented = self._documented(out, decisions)
        if not out.error or out.error.startswith("ProcessError"):
            self._verify(out, mark, bytes(stream))
        self._hooks.clear()
        self.sim.clear_faults()
        self.peer.reset()
        return out

    def _send(self, data: bytes, stream: bytearray) -> None:
        stream += data
        self.proc.send(data)

    def _receive(self, mark: int, out: Outcome) -> None:
        """Take everything the peer sent on the current link (its echo, its push)."""
        sender = self.proc.sender
        link = sender.link if sender is not None else None
        conn = self._current_conn(mark)
        if link is None or conn is None:
            return
        carried = sender.handed - link.start
        try:
            self.peer.wait_bytes(conn, carried, SILENT_WAIT if self._silent else PEER_WAIT)
        except PeerError:
            if not self._silent:
                raise
            self._silent = False
            self.peer.release(conn)  # the silent peer reads (and echoes) again
            self.peer.wait_bytes(conn, carried, PEER_WAIT)
        stats = self.peer.stats(conn)
        missing = stats.bytes_out - len(link.received)
        if missing > 0:
            self.proc.receive(PEER_WAIT, want=missing)
        if sha256_hex(bytes(link.received)) != stats.sha256_out:
            out.received = False
            out.detail += f" received {len(link.received)} of {stats.bytes_out} bytes;"

    def _at_close(self, fault: Fault, mark: int, expect: list) -> None:
        sim, name = self.sim, fault.name
        if name == "peer.close":
            conn = self._current_conn(mark)
            if conn is not None:
                self.peer.set_mode("close", conn=conn)
        elif name in ("pdp_deact", "silent"):
            sim.inject(name)
        elif name == "qideact_slow":
            seconds = self.rng.uniform(30.0, 120.0)
            sim.inject(name, seconds=seconds)
            if seconds > limits.QIDEACT.seconds * 1.05:
                expect.append((name, "PDP-DEACT", "no answer to AT+QIDEACT"))
            elif seconds < limits.QIDEACT.seconds * 0.95:
                expect.append((name, "PDP-DEACT", ResultCode.DEACT_OK.value))
        elif name == "qideact_hang":
            sim.inject(name)
        elif name == "noise":
            sim.inject("noise", data=self.rng.randbytes(4).hex())

    def _hang(self) -> None:
        self.hung = True
        self.channel.close()  # the process then fails with PortClosed instead of waiting on

    def _documented(self, out: Outcome, decisions: list[Decision]) -> bool:
        if out.error and not out.error.startswith("ProcessError"):
            out.detail += f" {out.error};"
            return False
        for fault, clause, words in out.expected:
            if not any(d.clause == clause and words in d.what for d in decisions):
                out.detail += f" {fault}: no {clause} '{words}' decision;"
                return False
        return True

    def _verify(self, out: Outcome, mark: int, stream: bytes) -> None:
        sender = self.proc.last if self.proc.sender is None else self.proc.sender
        if sender is None or out.error:
            out.detail += " not delivered: the process gave up;"
            return
        conns = [c for c in self.peer.stats() if c.id > mark and c.proto == "tcp"]
        try:
            for conn, link in zip(conns, sender.links, strict=False):
                want = (link.end or 0) - link.start
                if want and conn.bytes_in < want:
                    self.peer.wait_bytes(conn, want, PEER_WAIT)
        except PeerError as e:
            out.detail += f" {e};"
        conns = [c for c in self.peer.stats() if c.id > mark and c.proto == "tcp"]
        problem = check_delivery(conns, sender, stream)
        out.delivered = not problem
        out.detail += f" {problem};" if problem else ""


# -- running and reporting ----------------------------------------------------------------------
def run(
    sessions: int,
    seed: int = 0,
    scale: float = DEFAULT_SCALE,
    rate: float = 0.1,
    progress: Callable[[Outcome], None] | None = None,
) -> Report:
    """Run `sessions` sessions and prove each one; the Report says what was seen."""
    with tempfile.TemporaryDirectory(prefix="modemcert-chaos-") as tmp:
        chaos = Chaos(seed, scale, rate, Path(tmp))
        start = stamp()
        outcomes: list[Outcome] = []
        try:
            for i in range(sessions):
                outcome = chaos.session(i)
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
                if chaos.hung:
                    break
        finally:
            module = chaos.clock.since(start)
            errors = chaos.sim.errors
            chaos.close()
        if errors:
            raise RuntimeError(f"the simulator failed: {errors[0]}")
        return Report(
            sessions,
            outcomes,
            chaos.clock.to_wall(module),
            module,
            chaos.proc.reboots,
            chaos.hung,
        )


def table(report: Report) -> list[str]:
    """The fault/branch table: per fault, sessions, the documented branch, how many proved."""
    rows: dict[str, Counter] = {}
    for o in report.outcomes:
        for name in o.faults or ["(none)"]:
            row = rows.setdefault(name, Counter())
            row["sessions"] += 1
            row["documented"] += o.documented
            row["delivered"] += o.delivered
            row["received"] += o.received
        for fault, clause, words in o.expected:
            rows.setdefault("__branch__" + fault, Counter())[f"{clause} {words}".strip()] += 1
    lines = [
        f"{'fault@operation':24} {'sessions':>8} {'documented':>10} {'delivered':>9} "
        f"{'received':>8}  branch taken"
    ]
    for name in sorted(k for k in rows if not k.startswith("__branch__")):
        row = rows[name]
        branches = rows.get("__branch__" + name.split("@")[0], Counter())
        branch = "; ".join(sorted(branches)) or "happy path (no extra branch)"
        lines.append(
            f"{name:24} {row['sessions']:>8} {row['documented']:>10} {row['delivered']:>9} "
            f"{row['received']:>8}  {branch}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/chaos.py",
        description="Faulty open/send/receive/close sessions through the recommended process; "
        "proves by the peer's digests that no byte is lost or duplicated.",
    )
    parser.add_argument("--sessions", type=_positive, default=500, help="sessions (500)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--scale", type=_scale, default=DEFAULT_SCALE, help="clock scale (0.01)")
    parser.add_argument("--rate", type=_rate, default=0.1, help="fault share per operation")
    parser.add_argument("--verbose", action="store_true", help="one line per session")
    args = parser.parse_args(argv)
    unknown = sorted({f.name for f in CATALOGUE if not f.name.startswith("peer.")} - set(FAULTS))
    if unknown:
        print(f"chaos: the simulator has no fault {', '.join(unknown)}", file=sys.stderr)
        return 2

    def show(o: Outcome) -> None:
        ok = o.documented and o.delivered and o.received
        if args.verbose or not ok:
            status = "ok" if ok else "PROBLEM"
            faults = ",".join(o.faults) or "-"
            print(f"session {o.index:4} {status:7} {faults:40} {o.detail.strip()}", flush=True)

    try:
        report = run(args.sessions, args.seed, args.scale, args.rate, show)
    except (RuntimeError, OSError, ChannelError, PeerError) as e:
        print(f"chaos: the simulated rig failed: {e}", file=sys.stderr)
        return 2
    for line in table(report):
        print(line)
    clauses = Counter(c for o in report.outcomes for c in o.path)
    print("decisions by clause: " + ", ".join(f"{c} {n}" for c, n in sorted(clauses.items())))
    print(
        f"sessions run: {len(report.outcomes)}; reboots: {report.reboots}; "
        f"{report.module:.0f} module s in {report.wall:.1f} s wall at scale {args.scale:g}"
        + ("; a session HUNG past its deadline" if report.hung else "")
    )
    print(
        f"sessions-in-documented-branch: {len(report.outcomes) - report.undocumented} of "
        f"{len(report.outcomes)}; receive-mismatch: {report.receive_mismatch}"
    )
    print(report.last_line())
    return 0 if report.met and not report.undocumented else 1


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of sessions ≥ 1")
    return value


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.001 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: the scale must be 0.001..1 (e.g. 0.02)")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: the fault rate is a share, 0..1 (e.g. 0.1)")
    return value


if __name__ == "__main__":
    sys.exit(main())
