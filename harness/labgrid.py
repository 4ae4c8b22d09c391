"""A labgrid place as a rig: acquire it for the run, take its serial port and lines, release it.

Labs that share benches export a module's UART (ser2net, RFC 2217) and its PWRKEY / EMERG_OFF /
STATUS lines (digital outputs) through labgrid; a rig file of kind "labgrid" names the coordinator
and the place (docs/labgrid.md). labgrid depends on its own fork of pyserial, so it never enters
modemcert's environment: `Place` runs harness/labgrid_agent.py with labgrid's Python (a pipx or
venv install, found from `labgrid-client` on PATH) and talks to it over a pipe. The agent holds the
place until `release()`, or until this process goes away however it ends.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from harness.clock import Clock
from harness.errors import HarnessBug, RigFault, UsageFault
from harness.gpio.labgrid import LabgridBackend, LabgridLineError
from harness.rig import LabgridConfig, Rig

log = logging.getLogger("modemcert.labgrid")

AGENT = Path(__file__).with_name("labgrid_agent.py")
#: Names the Python that has labgrid, ahead of `labgrid-client` on PATH (tests, CI).
PYTHON_ENV = "MODEMCERT_LABGRID_PYTHON"
#: The agent's output, next to the run's transcript.
LOG_FILE = "labgrid.log"
#: Wall seconds for the agent to start Python and import labgrid, on top of the rig's timeout.
START_SLACK = 20.0
#: Wall seconds one line switch or read may take (an HTTP or Modbus round trip, an SSH agent).
IO_TIMEOUT = 10.0
#: Wall seconds to give the place back, then for the agent to exit.
RELEASE_TIMEOUT = 15.0
EXIT_TIMEOUT = 5.0
INSTALL = (
    "install labgrid 24 or newer in its own environment (pipx install labgrid, or "
    "python3 -m venv ~/labgrid && ~/labgrid/bin/pip install labgrid) so that labgrid-client is "
    f"on PATH, or name its python in the rig's [labgrid] python or ${PYTHON_ENV}"
)


# -- errors: whose fault, with what to do -----------------------------------------------------
class LabgridFault(RigFault, RuntimeError):
    """The place cannot be used for this run; the message names it and what to do."""


class LabgridMissing(LabgridFault):
    """No Python with labgrid 24+ was found (or it cannot run)."""


class CoordinatorUnreachable(LabgridFault):
    """No labgrid coordinator answers at the rig's address."""


class PlaceNotFound(LabgridFault):
    """The coordinator has no place of that name."""


class PlaceBusy(LabgridFault):
    """The place (or one of its resources) is acquired by someone else."""


class ResourceMissing(LabgridFault):
    """The place lacks a resource the rig needs (its NetworkSerialPort, a named line)."""


class ResourceUnavailable(LabgridFault):
    """The resource exists but its exporter did not bring it up in time."""


class PlaceTimeScale(LabgridFault):
    """The rig compresses time but the place does not say its module is simulated."""


class AgentLost(LabgridFault):
    """The process holding the place stopped answering or exited during the run."""


class LabgridEnvError(UsageFault, ValueError):
    """The rig's labgrid environment file cannot serve the place."""


FAULTS: dict[str, type[Exception]] = {
    "labgrid": LabgridMissing,
    "unreachable": CoordinatorUnreachable,
    "no-place": PlaceNotFound,
    "busy": PlaceBusy,
    "missing": ResourceMissing,
    "unavailable": ResourceUnavailable,
    "env": LabgridEnvError,
    "io": LabgridLineError,
}


# -- finding labgrid --------------------------------------------------------------------------
def find_python(cfg: LabgridConfig) -> str:
    """The interpreter that has labgrid: the rig's, $MODEMCERT_LABGRID_PYTHON, the one
    `labgrid-client` on PATH runs with, or this one if labgrid is importable here."""
    if cfg.python is not None:
        return str(cfg.python)
    named = os.environ.get(PYTHON_ENV)
    if named:
        if not os.access(named, os.X_OK):
            raise LabgridMissing(f"${PYTHON_ENV} = {named} is not an executable; {INSTALL}")
        return named
    client = shutil.which("labgrid-client")
    if client is not None:
        found = _shebang(Path(client))
        if found is not None:
            return found
    if importlib.util.find_spec("labgrid") is not None:
        return sys.executable
    raise LabgridMissing(f"no labgrid found (no labgrid-client on PATH); {INSTALL}")


def _shebang(script: Path) -> str | None:
    """The interpreter a console script names: `#!/venv/bin/python` or `#!/usr/bin/env python3`."""
    try:
        with script.open("rb") as f:
            first = f.readline(512).decode("utf-8", "replace")
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if not words:
        return None
    if Path(words[0]).name == "env" and len(words) > 1:
        return shutil.which(words[1])
    return words[0] if os.access(words[0], os.X_OK) else None


# -- the place ---------------------------------------------------------------------------------
def _pipes(proc: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    """The agent's stdin and stdout: `Place` starts it with both piped, so neither is None."""
    if proc.stdin is None or proc.stdout is None:
        raise HarnessBug("the labgrid agent was started without its pipes")
    return proc.stdin, proc.stdout


class Place:
    """One labgrid place, acquired through the agent: `port` (an rfc2217:// URL), `lines`,
    `set_line()` / `get_line()`, `backend()`, `environment()`, `release()`."""

    def __init__(self, cfg: LabgridConfig, *, where: str = "", log_path: Path | None = None):
        self.cfg = cfg
        self.name = cfg.place
        self.where = where or f"labgrid place {cfg.place!r}"
        self.log_path = log_path
        self.info: dict[str, Any] = {}
        self.lines: dict[str, str] = {}
        self.port: str | None = None
        self.exporter: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self._wall = Clock(1.0)
        self.released = False

    def __repr__(self) -> str:
        return f"Place({self.name!r} at {self.cfg.coordinator}, port={self.port!r})"

    def _say(self, message: str) -> str:
        return f"{self.where}: labgrid place {self.name!r} at {self.cfg.coordinator}: {message}"

    # -- acquiring ------------------------------------------------------------------------------
    def acquire(self, lines: Iterable[str] = ()) -> Place:
        """Start the agent, acquire the place exclusively, and learn its port and `lines`."""
        python = find_python(self.cfg)
        cmd = [python, str(AGENT), "--coordinator", self.cfg.coordinator, "--place", self.name]
        cmd += ["--timeout", f"{self.cfg.timeout:g}"]
        if self.cfg.env is not None:
            cmd += ["--env", str(self.cfg.env)]
        if self.cfg.serial is not None:
            cmd += ["--serial", self.cfg.serial]
        for line in lines:
            cmd += ["--line", line]
        err = self._open_log()
        try:
            # A session of its own: Ctrl+C and a signal to modemcert's group do not reach it; it
            # lets go of the place when its input closes, that is when this process is gone.
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        except OSError as e:
            message = f"cannot run {python} ({e.strerror or e}); {INSTALL}"
            raise LabgridMissing(self._say(message)) from None
        finally:
            if err is not subprocess.DEVNULL:
                err.close()
        first = self._read(self.cfg.timeout * 2 + START_SLACK, "to acquire the place")
        if "error" in first:
            self._wait_exit()
            raise self._fault(first["error"])
        ready = first.get("ready")
        if not isinstance(ready, dict):
            self._kill()
            raise HarnessBug(self._say(f"the labgrid agent said {first!r}"))
        self.info = ready
        self.port = ready["serial"]["url"]
        self.exporter = ready["exporter"]
        self.lines = {name: line["cls"] for name, line in ready["lines"].items()}
        log.info("acquired %s: port %s, lines %s", self.name, self.port, self.lines)
        return self

    def _open_log(self) -> Any:
        if self.log_path is None:
            return subprocess.DEVNULL
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        return self.log_path.open("ab")

    def _fault(self, error: dict[str, str]) -> Exception:
        kind = error.get("kind", "")
        message = error.get("message", "the labgrid agent failed")
        if kind == "labgrid":
            message = f"{message}; {INSTALL}"
        if kind in ("bug", "usage"):
            return HarnessBug(self._say(message + self._log_hint()))
        return FAULTS.get(kind, LabgridFault)(self._say(message))

    def _log_hint(self) -> str:
        return f" (the agent's log: {self.log_path})" if self.log_path is not None else ""

    # -- talking to the agent -------------------------------------------------------------------
    def _read(self, seconds: float, doing: str) -> dict[str, Any]:
        proc = self._need()
        deadline = self._wall.deadline(seconds)
        fd = _pipes(proc)[1].fileno()
        while b"\n" not in self._buffer:
            wall = deadline.wall_remaining()
            ready = select.select([fd], [], [], wall)[0] if wall else []
            if not ready:
                self._kill()
                raise AgentLost(
                    self._say(
                        f"the labgrid agent took over {seconds:g} s {doing}; "
                        f"check the coordinator and the exporter{self._log_hint()}"
                    )
                )
            chunk = os.read(fd, 65536)
            if not chunk:
                code = proc.wait()
                raise AgentLost(
                    self._say(f"the labgrid agent exited (code {code}) {doing}{self._log_hint()}")
                )
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            self._kill()
            raise HarnessBug(self._say(f"the labgrid agent wrote {line[:200]!r}")) from None

    def _request(self, request: dict[str, Any], seconds: float = IO_TIMEOUT) -> dict[str, Any]:
        with self._lock:
            proc = self._need()
            stdin = _pipes(proc)[0]
            try:
                stdin.write(json.dumps(request).encode() + b"\n")
                stdin.flush()
            except (BrokenPipeError, ValueError):
                code = proc.wait()
                raise AgentLost(
                    self._say(f"the labgrid agent exited (code {code}){self._log_hint()}")
                ) from None
            return self._read(seconds, f"to {request['op']} {request.get('line', '')}".rstrip())

    def _need(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self.released:
            raise AgentLost(self._say("the place is not held (not acquired, or released)"))
        return self._proc

    # -- the lines --------------------------------------------------------------------------------
    def set_line(self, line: str, level: bool) -> None:
        answer = self._request({"op": "set", "line": line, "value": bool(level)})
        if not answer.get("ok"):
            raise self._line_fault(line, answer)

    def get_line(self, line: str) -> bool:
        answer = self._request({"op": "get", "line": line})
        if not answer.get("ok"):
            raise self._line_fault(line, answer)
        return bool(answer["value"])

    def _line_fault(self, line: str, answer: dict[str, Any]) -> Exception:
        message = answer.get("error", {}).get("message", "no reason given")
        return LabgridLineError(
            self._say(f"line {line} ({self.lines.get(line, '?')}): {message}"),
            pin=line,
            hint="check the exporter and the device behind the line",
        )

    def backend(self) -> LabgridBackend:
        """The GPIO backend whose lines are this place's digital outputs."""
        return LabgridBackend(self)

    # -- the record ---------------------------------------------------------------------------
    def environment(self) -> dict[str, Any]:
        """What the run record keeps about the place (timings.json `run.labgrid`)."""
        info = self.info
        serial = info.get("serial", {})
        return {
            "coordinator": self.cfg.coordinator,
            "place": self.name,
            "exporter": self.exporter,
            "exporters": info.get("exporters", []),
            "acquired_by": info.get("acquired_by"),
            "labgrid_version": info.get("labgrid"),
            "serial": {k: serial.get(k) for k in ("resource", "url", "speed", "path")},
            "lines": dict(self.lines),
            "tags": info.get("tags", {}),
            "env_file": str(self.cfg.env) if self.cfg.env is not None else None,
        }

    @property
    def simulated(self) -> bool:
        """The place says its module is simulated (a `time_scale` tag): no certification."""
        return "time_scale" in self.info.get("tags", {})

    def properties(self) -> dict[str, str]:
        """The same for Allure's environment.properties (flat strings)."""
        env = self.environment()
        lines = ", ".join(f"{n} ({c})" for n, c in env["lines"].items())
        return {
            "labgrid.coordinator": env["coordinator"],
            "labgrid.place": env["place"],
            "labgrid.exporter": str(env["exporter"]),
            "labgrid.serial": f"{env['serial']['resource']} ({env['serial']['url']})",
            "labgrid.lines": lines or "none",
            "labgrid.version": str(env["labgrid_version"]),
        }

    # -- the end --------------------------------------------------------------------------------
    def release(self) -> None:
        """Give the place back and stop the agent (idempotent). Raises AgentLost if the agent
        was already gone, since the place may then still be acquired."""
        with self._lock:
            if self.released or self._proc is None:
                return
            proc = self._proc
            stdin = _pipes(proc)[0]
            answer: dict[str, Any] | None = None
            with contextlib.suppress(AgentLost, OSError, ValueError):
                stdin.write(b'{"op": "release"}\n')
                stdin.flush()
                answer = self._read(RELEASE_TIMEOUT, "to release the place")
            self.released = True
            with contextlib.suppress(OSError):
                stdin.close()
            self._wait_exit()
        if answer is None or not answer.get("ok"):
            raise AgentLost(
                self._say(
                    "the labgrid agent did not confirm the release; see whether the place is "
                    f"still acquired: labgrid-client -x {self.cfg.coordinator} -p {self.name} "
                    f"show (and release it){self._log_hint()}"
                )
            )
        log.info("released %s", self.name)

    def _wait_exit(self) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
        for stream in _pipes(proc):
            with contextlib.suppress(OSError):
                stream.close()

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.released = True


def acquire_place(rig: Rig, run_dir: str | Path | None = None) -> Place:
    """Acquire the labgrid place a `kind = "labgrid"` rig names, with the rig's lines; its
    agent's log goes to `run_dir`/labgrid.log. The caller must `release()` it."""
    cfg = rig.labgrid
    if cfg is None:
        raise HarnessBug(f"rig {rig.name!r} ({rig.file}) is not a labgrid rig")
    where = f"rig {rig.name!r} ({rig.file})"
    log_path = Path(run_dir) / LOG_FILE if run_dir is not None else None
    resources = [str(line.pin) for line in rig.gpio.lines().values()]  # a pin names a resource
    place = Place(cfg, where=where, log_path=log_path).acquire(resources)
    try:
        _check_time_scale(rig, place)
    except BaseException:
        with contextlib.suppress(LabgridFault):
            place.release()
        raise
    return place


def _check_time_scale(rig: Rig, place: Place) -> None:
    """A compressed clock is right only for a simulated module: the place must say so with a
    `time_scale` tag of the same value (a real module's times would be misread 1/scale-fold)."""
    if rig.time_scale == 1.0:
        return
    tag = place.info.get("tags", {}).get("time_scale")
    try:
        same = tag is not None and float(tag) == rig.time_scale
    except ValueError:
        same = False
    if not same:
        raise PlaceTimeScale(
            place._say(
                f"the rig says time_scale = {rig.time_scale:g}, but the place "
                + (f"is tagged time_scale={tag}" if tag is not None else "has no time_scale tag")
                + ": a real module runs in real time, so set time_scale = 1.0; for a simulated "
                f"one tag the place: labgrid-client -p {place.name} set-tags "
                f"time_scale={rig.time_scale:g}"
            )
        )
