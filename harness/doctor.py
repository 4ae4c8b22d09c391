"""`modemcert doctor`: is this rig able to certify tonight? One checklist line per piece.

Each check says what it found and, when it fails, how to fix it: the rig's state directory and
disk, the serial port (exists, permissions, not held, the adapter's latency timer), the GPIO
backend and each line, the peer (token, control channel, data port), then the module itself
(power, INIT-SYNC, identity, SIM, registration, attach). A failure early on skips what depends
on it. The nightly runs it first: exit 0 = ready, 3 = the rig cannot certify (ExitCode).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness import limits
from harness.at import ATChannel, ATTimeout
from harness.errors import ExitCode, ModemcertError, RigFault
from harness.rig import Rig, state_dir_problem
from harness.serialport import describe as describe_port
from harness.transport import port_holder

#: Free disk the reports need: one run of the sim rig writes about 21 MB (transcripts, Allure
#: results, plots); below this much the nightly refuses to start.
DISK_NEEDED = 200 * 1024 * 1024
DISK_WARN = 1024 * 1024 * 1024
#: Module seconds a doctor waits for registration and attach (within the documented limits,
#: so that a healthy rig answers inside a minute).
REGISTER_WAIT = limits.CREG_REGISTERED.seconds
ATTACH_WAIT = 10.0
PEER_TIMEOUT = 5.0  # wall seconds for a TCP connect to the peer


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but worth fixing (a nightly still runs)
    FAIL = "FAIL"  # the rig cannot certify until it is fixed
    SKIP = "skip"  # not checked: an earlier check failed, or the rig has no such part


@dataclass(frozen=True)
class Check:
    """One checklist line: what, its status, what was found and (on trouble) the fix."""

    name: str
    status: Status
    found: str = ""
    fix: str = ""

    def line(self, width: int = 30) -> str:
        text = f"[{self.status:^4}] {self.name:<{width}} {self.found}"
        if self.fix and self.status in (Status.FAIL, Status.WARN):
            text += f"\n       {'':<{width}} fix: {self.fix}"
        return text.rstrip()


@dataclass
class Report:
    rig: Rig
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, status: Status, found: str = "", fix: str = "") -> Check:
        check = Check(name, status, found, fix)
        self.checks.append(check)
        return check

    def get(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAIL]

    def exit_code(self) -> ExitCode:
        return ExitCode.RIG_FAULT if self.failed else ExitCode.PASSED

    def text(self) -> str:
        head = f"modemcert doctor: rig {self.rig.name!r} ({self.rig.file})"
        tail = (
            f"{len(self.failed)} check(s) failed: the rig cannot certify until they are fixed"
            if self.failed
            else "ready: every check passed"
        )
        return "\n".join([head, *(c.line() for c in self.checks), tail])


class _Stop(Exception):
    """A check failed that everything after it depends on."""


class Doctor:
    """Runs the checks of one rig in order; `run()` returns the Report."""

    def __init__(
        self,
        rig: Rig,
        *,
        module: bool = True,
        state_dir: str | os.PathLike | None = None,
        say: Callable[[Check], None] | None = None,
    ):
        self.rig = rig
        self.state_dir = Path(state_dir) if state_dir is not None else rig.state_dir
        self.module = module
        self.report = Report(rig)
        self._say = say

    def _add(self, name: str, status: Status, found: str = "", fix: str = "") -> Check:
        check = self.report.add(name, status, found, fix)
        if self._say is not None:
            self._say(check)
        return check

    @contextmanager
    def _check(self, name: str, fix: str = "", stop: bool = False) -> Iterator[dict]:
        """Run a block as one check: it sets found/status in the dict; an error is a FAIL."""
        out: dict[str, Any] = {"status": Status.OK, "found": "", "fix": fix}
        try:
            yield out
        except _Stop:
            raise
        except (ModemcertError, OSError) as e:
            out["status"], out["found"] = Status.FAIL, _one_line(e)
            out["fix"] = out["fix"] or getattr(e, "hint", "")
        self._add(
            name, out["status"], out["found"], out["fix"] if out["status"] != Status.OK else ""
        )
        if stop and out["status"] is Status.FAIL:
            raise _Stop(name)

    def run(self) -> Report:
        try:
            self._storage()
            if not self.rig.is_sim and self.rig.labgrid is None:
                self._port(self.rig.serial.port)
                self._gpio()
                self._peer_config()
            elif self.rig.labgrid is not None:  # port and lines are the place's: via the station
                self._peer_config()
            self._station()
        except _Stop as stopped:
            self._add("the rest", Status.SKIP, f"not checked: {stopped} failed")
        return self.report

    # -- storage -----------------------------------------------------------------------------
    def _storage(self) -> None:
        state = self.state_dir
        with self._check("state dir writable", stop=True) as c:
            problem = state_dir_problem(state)
            if problem:
                c["status"], c["found"] = Status.FAIL, f"{state}: {problem}"
                c["fix"] = f"sudo install -d -o $USER {state}"
            else:
                state.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=state, prefix=".doctor-"):
                    pass
                c["found"] = str(state)
        reports = Path("reports")
        with self._check("disk space") as c:
            base = reports if reports.exists() else Path.cwd()
            free = shutil.disk_usage(base).free
            c["found"] = f"{free / 2**30:.1f} GiB free under {base.resolve()}"
            if free < DISK_NEEDED:
                c["status"] = Status.FAIL
                c["fix"] = "free space, or prune: modemcert report --prune 10"
            elif free < DISK_WARN:
                c["status"] = Status.WARN
                c["fix"] = "a run writes about 21 MB; prune old runs (docs/nightly.md)"

    # -- the serial port -----------------------------------------------------------------------
    def _port(self, port: str | None, *, held_ok: bool = False) -> None:
        if port is None:
            return
        if "://" in port:
            self._add("serial port exists", Status.SKIP, f"{port}: a network port")
            return
        with self._check("serial port exists", stop=True) as c:
            if not os.path.exists(port):
                c["status"], c["found"] = Status.FAIL, f"{port} does not exist"
                c["fix"] = (
                    "check the cable or USB adapter (ls -l /dev/serial/by-id /dev/ttyUSB* "
                    "/dev/ttyAMA0) and [serial] port in the rig file"
                )
            else:
                c["found"] = f"{port} → {os.path.realpath(port)}"
        with self._check("serial port permissions", stop=True) as c:
            if not os.access(port, os.R_OK | os.W_OK):
                c["status"], c["found"] = Status.FAIL, f"no read/write permission to {port}"
                c["fix"] = "sudo adduser $USER dialout, then log in again (udev rule GROUP=dialout)"
            else:
                c["found"] = "read/write"
        with self._check("serial port not held", stop=not held_ok) as c:
            holder = None if held_ok else port_holder(port)
            if holder is not None:
                c["status"], c["found"] = Status.FAIL, f"held by {holder}"
                c["fix"] = "stop that program (a terminal, ModemManager, another run)"
            else:
                c["found"] = "free" if not held_ok else "held by this doctor's station"
        with self._check("adapter latency timer") as c:
            info = describe_port(port, set_low_latency=self.rig.serial.low_latency)
            if info.latency_timer_ms is not None:
                c["found"] = f"{info.driver}: {info.latency_timer_ms} ms"
                if info.latency_timer_ms > 1:
                    c["status"] = Status.WARN
                    c["fix"] = (
                        f"every measured step may be up to {info.latency_timer_ms} ms late; "
                        f"{info.note}"
                    )
            else:
                c["found"] = info.note or "no adapter latency"
            if info.stable_path is None and os.path.basename(info.device or "").startswith(
                ("ttyUSB", "ttyACM")
            ):
                c["status"] = Status.WARN
                c["fix"] = (
                    f"{port} may change name after a replug; use its /dev/serial/by-id/ name "
                    "or the udev rule's /dev/modem-m95"
                )

    # -- GPIO ------------------------------------------------------------------------------------
    def _gpio(self, backend: Any = None) -> None:
        from harness.gpio import open_backend

        cfg = self.rig.gpio
        if cfg.backend == "none":
            self._add("GPIO backend", Status.SKIP, "backend 'none': no power control wired")
            return
        own = backend is None
        with self._check("GPIO backend and chip", stop=True) as c:
            backend = open_backend(self.rig) if own else backend
            c["found"] = backend.describe()
        try:
            lines: dict[str, Any] = {}
            for name, line in cfg.lines().items():
                label = f"line {name.upper()} claimable"
                with self._check(label) as c:
                    if own:
                        if name == "status":
                            lines[name] = backend.input(
                                name.upper(), line.pin, active_high=line.active_high
                            )
                        else:
                            lines[name] = backend.output(
                                name.upper(),
                                line.pin,
                                active_high=line.active_high,
                                drive=line.drive,
                            )
                    c["found"] = f"pin {line.pin}, {line.polarity}" + (
                        f", {line.drive}" if name != "status" else ", input"
                    )
                    conflicts = [t for t in backend.conflicts if f" {line.pin}" in t]
                    if conflicts:
                        c["status"], c["fix"] = Status.WARN, "; ".join(conflicts)
            status = lines.get("status") if own else None
            if "status" in cfg.lines():
                with self._check("STATUS readable") as c:
                    if status is not None:
                        c["found"] = (
                            "high (module on)" if status.is_active() else "low (module off)"
                        )
                    else:
                        c["found"] = "read by the station"
        finally:
            if own:
                backend.release()

    # -- the peer --------------------------------------------------------------------------------
    def _peer_config(self) -> None:
        from harness.peer.auth import MIN_TOKEN_LENGTH, check_token
        from harness.peer.client import PeerControl

        cfg = self.rig.peer
        token = None
        with self._check("peer token") as c:
            if cfg.token is None:
                c["status"], c["found"] = Status.FAIL, "the rig names no [peer] token"
                c["fix"] = "set token_env or token_file in [peer] (the peer refuses none)"
            else:
                token = cfg.token.reveal()
                check_token(token, str(cfg.token))
                c["found"] = f"{len(token)} characters from {cfg.token.source.split(':')[0]}"
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            token = None
        with self._check("peer control reachable") as c:
            if cfg.control_url is None:
                c["status"], c["found"] = Status.SKIP, "no control_url"
            elif token is None and cfg.token is not None:
                c["status"], c["found"] = Status.SKIP, "not tried: the token is unusable"
            else:
                info = PeerControl(cfg.control_url, token=token).info()
                c["found"] = f"{cfg.control_url}: {_short(info)}"
        self._peer_data(cfg.host, cfg.port)

    def _peer_data(self, host: str, port: int) -> None:
        with self._check("peer data port reachable") as c:
            if not port:
                c["status"], c["found"] = Status.SKIP, "no peer port"
                return
            with socket.create_connection((host, port), timeout=PEER_TIMEOUT):
                c["found"] = f"TCP {host}:{port} accepts"
            c["fix"] = ""

    # -- the module, through a started station -----------------------------------------------
    def _station(self) -> None:
        from harness.modem import identify, sync
        from harness.station import Station

        with tempfile.TemporaryDirectory(prefix="modemcert-doctor-") as run_dir:
            station = Station(self.rig, run_dir, state_dir=self.state_dir)
            try:
                with self._check("station start", stop=True) as c:
                    station.start()
                    c["found"] = f"port {station.port}" + (
                        ", simulated module and local peer" if self.rig.is_sim else ""
                    )
                if station.place is not None:
                    self._add("labgrid place", Status.OK, repr(station.place))
                    self._gpio(station.backend)
                if self.rig.is_sim:
                    self._port(station.port, held_ok=True)
                    self._gpio(station.backend)
                    if station.peer is not None:
                        with self._check("peer control reachable") as c:
                            c["found"] = f"{station.peer.url}: {_short(station.peer.info())}"
                    self._peer_data(station.peer_host, station.peer_port)
                if not self.module:
                    self._add("module", Status.SKIP, "--no-module: the module was not touched")
                    return
                channel = station.need_channel()
                power = station.power
                with self._check("power on", stop=True) as c:
                    if power is not None:
                        result = power.power_on()
                        c["found"] = f"{result.evidence} after {result.elapsed:.1f} s"
                    elif station.sim is not None:
                        station.sim.power_on_now()
                        c["found"] = "simulated module powered (no PWRKEY line)"
                    else:
                        c["found"] = "no PWRKEY line: the module is expected to be on"
                with self._check("sync and baud", stop=True) as c:
                    rig = self.rig
                    synced = sync(
                        channel, rig.serial.baud, station.clock, search=rig.serial.search_rates
                    )
                    found = f" (found at {synced.found_at}, re-fixed)" if synced.found_at else ""
                    c["found"] = f"{synced.rate} baud after {synced.tries} AT{found}"
                with self._check("identity") as c:
                    ident = identify(channel)
                    c["found"] = ", ".join(
                        f"{k} {v}" for k, v in ident.as_dict().items() if v and k != "iccid"
                    )
                    c.update(_model_matches(self.rig, ident.model))
                with self._check("SIM", fix="insert or reseat the SIM; check its PIN is off") as c:
                    c["found"] = _sim_ready(channel, station.clock, limits.CPIN_READY.seconds)
                    if "READY" not in c["found"]:
                        c["status"] = Status.FAIL
                with self._check(
                    "registration", fix="check the antenna, the SIM's subscription and coverage"
                ) as c:
                    stat = _poll(channel, station.clock, "AT+CREG?", "+CREG:", REGISTER_WAIT)
                    c["found"] = f"+CREG stat {stat}"
                    if stat not in limits.REGISTERED_STATS:
                        c["status"] = Status.FAIL
                with self._check("attach", fix="the SIM needs a data plan; check the APN") as c:
                    state = _poll(channel, station.clock, "AT+CGATT?", "+CGATT:", ATTACH_WAIT)
                    c["found"] = f"+CGATT: {state}"
                    if state != 1:
                        c["status"] = Status.FAIL
            finally:
                station.close()


def _sim_ready(channel: ATChannel, clock: Any, seconds: float) -> str:
    """AT+CPIN? every second until READY (a booting module says +CME ERROR: 14, SIM busy)."""
    deadline = clock.deadline(seconds)
    while True:
        try:
            reply = channel.command("AT+CPIN?")
            found = " ".join(reply.lines) or str(reply.final)
        except ATTimeout as e:
            found = _one_line(e)
        if "READY" in found or deadline.expired:
            return found
        clock.sleep(min(1.0, deadline.remaining() or 1.0))


def _poll(channel: ATChannel, clock: Any, cmd: str, prefix: str, seconds: float) -> int | None:
    """The last number of `prefix` lines, asked every second until registered/attached."""
    deadline = clock.deadline(seconds)
    value = None
    while True:
        try:
            reply = channel.command(cmd)
        except ATTimeout:
            reply = None
        for line in reply.lines if reply is not None else []:
            if line.startswith(prefix):
                try:
                    value = int(line.split(":", 1)[1].split(",")[-1 if prefix == "+CREG:" else 0])
                except ValueError:
                    pass
        good = value in limits.REGISTERED_STATS if prefix == "+CREG:" else value == 1
        if good or deadline.expired:
            return value
        clock.sleep(min(1.0, deadline.remaining() or 1.0))


def _model_matches(rig: Rig, model: str | None) -> dict:
    if rig.model is None:
        return {
            "status": Status.WARN,
            "fix": f"the rig names no model: the M95's limits apply; set model = "
            f'"{limits.model_key(model) or "M95"}" at the top of the rig file',
        }
    if model and limits.model_key(model) not in (None, limits.model_key(rig.model)):
        return {
            "status": Status.FAIL,
            "fix": f"the rig says model = {rig.model!r} but the module says {model!r}: its "
            "power limits would be the wrong model's; fix model in the rig file",
        }
    return {}


def _short(info: Any) -> str:
    listening = getattr(info, "listening", None)
    if isinstance(listening, dict):
        up = "+".join(k for k, v in listening.items() if v) or "nothing"
        return f"answers with the token, listening {up} on port {getattr(info, 'port', '?')}"
    text = str(info)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def run(
    rig: Rig,
    *,
    module: bool = True,
    state_dir: str | os.PathLike | None = None,
    say: Callable[[Check], None] | None = None,
) -> Report:
    """Check `rig`; the Report's `exit_code()` is 0 (ready) or 3 (cannot certify)."""
    return Doctor(rig, module=module, state_dir=state_dir, say=say).run()


__all__ = ["Check", "Doctor", "Report", "RigFault", "Status", "run"]
