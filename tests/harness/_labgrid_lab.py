"""A labgrid lab on loopback, for the labgrid rig's tests and bench/labgrid_verdicts.py.

`Lab(root).start()` runs, each in its own process group and only on 127.0.0.1: a simulated M95
(`modemcert sim --pins-http`), ser2net serving its PTY over RFC 2217 (or the exporter's own
ser2net), labgrid-coordinator, labgrid-exporter with tests/data/labgrid/exporter.yaml, the place
(created, matched, tagged with the time scale) and a peer server on the simulator's clock.
`stop()` ends every process it started, also after a failure. `missing()` names what this
machine lacks (labgrid 24+, ser2net) so a test can skip saying so.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

from harness.clock import Clock

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "labgrid"
RIG_TEMPLATE = REPO / "rigs" / "labgrid-sim.toml"
EXPORTER = "modemcert-lab"
GROUP = "m95-sim"
PLACE = "modemcert-sim"
#: Wall seconds a piece of the lab may take to come up on a loaded 2-core machine.
UP_WALL = 60.0
#: Wall seconds between two looks while waiting for a piece.
LOOK = 0.05
#: Wall seconds a process may take to end after SIGTERM before it is killed.
STOP_WALL = 5.0
#: The environment variable the lab's rig reads its peer token from (doctor wants one).
TOKEN_ENV = "MODEMCERT_LAB_PEER_TOKEN"
#: Where a labgrid environment may be: $MODEMCERT_LABGRID_PYTHON, .ci/run's venv, PATH.
CI_VENV_PYTHON = REPO / ".venv-labgrid" / "bin" / "python"
#: A peer server on the simulator's clock (`modemcert peer` runs in real time, for real modules).
PEER = """
import signal, sys
from harness.clock import Clock
from harness.peer import PeerServer
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
clock, token = Clock(float(sys.argv[1])), sys.argv[2]
server = PeerServer(("127.0.0.1", 0), ("127.0.0.1", 0), token=token, clock=clock).start()
print(server.address[1], server.udp_address[1], server.control_url, flush=True)
try:
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
finally:
    server.stop()
"""


class LabError(RuntimeError):
    """A piece of the lab did not come up; the message names it and its log."""


def labgrid_python() -> str | None:
    """An interpreter with labgrid 24+ (gRPC), or None."""
    from harness.labgrid import _shebang

    candidates = [os.environ.get("MODEMCERT_LABGRID_PYTHON"), str(CI_VENV_PYTHON)]
    client = shutil.which("labgrid-client")
    if client:
        candidates.append(_shebang(Path(client)))
    for python in candidates:
        if not python or not os.access(python, os.X_OK):
            continue
        probe = subprocess.run(
            [python, "-c", "from labgrid.util import labgrid_version as v; print(v())"],
            capture_output=True,
            text=True,
            check=False,
        )
        version = probe.stdout.strip().split(".")
        if probe.returncode == 0 and version[0].isdigit() and int(version[0]) >= 24:
            return python
    return None


def ser2net() -> str | None:
    return shutil.which("ser2net") or next(
        (p for p in ("/usr/sbin/ser2net",) if os.access(p, os.X_OK)), None
    )


def missing() -> str | None:
    """What this machine lacks for a labgrid lab (None: nothing)."""
    gone = []
    if labgrid_python() is None:
        gone.append(
            "labgrid 24+ (pip install labgrid into .venv-labgrid, as .ci/run does, or set "
            "MODEMCERT_LABGRID_PYTHON)"
        )
    if ser2net() is None:
        gone.append("ser2net (apt-get install ser2net)")
    return "; ".join(gone) or None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """The processes of one loopback lab; `own_ser2net=False` lets the exporter run ser2net."""

    def __init__(self, root: Path, *, own_ser2net: bool = True) -> None:
        self.root = Path(root)
        #: The rig's time scale: the simulator's, the peer's and the place's tag.
        self.scale = tomllib.loads(RIG_TEMPLATE.read_text())["time_scale"]
        self.own_ser2net = own_ser2net
        self.python = labgrid_python()
        if self.python is None:
            raise LabError(f"no labgrid: {missing()}")
        self.bin = Path(self.python).parent
        self.logs = self.root / "logs"
        self.procs: dict[str, subprocess.Popen] = {}
        self.coordinator = ""
        self.pty = self.pins = ""
        self.peer: tuple[int, int, str] = (0, 0, "")
        self.wall = Clock(1.0)
        self.token = secrets.token_hex(16)
        #: What a modemcert process needs to use this lab's rig: labgrid's Python, the token.
        self.env = {"MODEMCERT_LABGRID_PYTHON": self.python, TOKEN_ENV: self.token}

    # -- starting -----------------------------------------------------------------------------
    def start(self) -> Lab:
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            port = free_port()
            self.coordinator = f"127.0.0.1:{port}"
            (self.root / "coordinator").mkdir(exist_ok=True)  # where it keeps places.yaml
            self._spawn("coordinator", [self.bin / "labgrid-coordinator", "-l", self.coordinator])
            self._until(lambda: _accepts(port), "coordinator", f"to listen on {self.coordinator}")
            self._module()
            self.client("-p", PLACE, "create")
            self.client("-p", PLACE, "add-match", f"{EXPORTER}/{GROUP}/*")
            self.client("-p", PLACE, "set-tags", f"time_scale={self.scale:g}")
            self._peer()
        except BaseException:
            self.stop()
            raise
        return self

    def fresh_module(self) -> None:
        """A new simulated module (its latencies drawn afresh from seed 0, like the sim rig's
        at each run) behind the same place: simulator, ser2net and exporter restarted."""
        for name in ("exporter", "ser2net", "sim"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                stop_group(proc)
        self._until(lambda: not self._exported(), "coordinator", "to drop the old resources")
        self._module()

    def _module(self) -> None:
        """The simulator, its ser2net (unless the exporter runs one) and the exporter."""
        self._sim()
        env = {"MODEMCERT_SIM_PORT": self.pty, "MODEMCERT_SIM_PINS": self.pins}
        if self.own_ser2net:
            port = free_port()
            accepter = f"telnet(rfc2217,mode=server),tcp(nodelay),127.0.0.1,{port}"
            connector = f"serialdev(nouucplock=true),{self.pty},115200n81,local"
            config = [f"connection: &modem#  accepter: {accepter}", f"  connector: {connector}"]
            self._spawn("ser2net", [ser2net(), "-n", "-Y", config[0], "-Y", config[1]])
            self._until(lambda: _accepts(port), "ser2net", f"to listen on 127.0.0.1:{port}")
            env["MODEMCERT_SER2NET_PORT"] = str(port)
        exporter = [self.bin / "labgrid-exporter", "-c", self.coordinator, "-n", EXPORTER]
        exporter += ["--hostname", "127.0.0.1", DATA / "exporter.yaml"]
        self._spawn("exporter", exporter, env=env)
        self._until(self._exported, "exporter", "to offer its resources")

    def _spawn(self, name: str, cmd: list, env: dict[str, str] | None = None) -> None:
        out = (self.logs / f"{name}.log").open("wb")
        cwd = self.root / "coordinator" if name == "coordinator" else self.root
        self.procs[name] = subprocess.Popen(
            [str(c) for c in cmd],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        out.close()

    def _until(self, ready, name: str, what: str) -> None:
        deadline = self.wall.deadline(UP_WALL)
        while not ready():
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise LabError(f"{name} exited (code {proc.returncode}); see {self.log(name)}")
            if deadline.expired:
                raise LabError(f"{name} took over {UP_WALL:g} s {what}; see {self.log(name)}")
            self.wall.sleep(LOOK)

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def _text(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return self.log(name).read_text(errors="replace")
        return ""

    def _sim(self) -> None:
        cmd = [sys.executable, "-m", "harness.cli", "sim", "--scale", f"{self.scale:g}"]
        cmd += ["--power", "off", "--pins-http", "127.0.0.1:0", "--control", "none"]
        self._spawn("sim", cmd)

        self.pty = self.pins = ""

        def up() -> bool:
            text = self._text("sim")
            pty = re.search(r"^(/dev/\S+)$", text, re.M)
            pins = re.search(r"pins (http://127\.0\.0\.1:\d+)", text)
            if pty and pins:
                self.pty, self.pins = pty.group(1), pins.group(1)
            return bool(self.pty)

        self._until(up, "sim", "to print its PTY and pins address")

    def _exported(self) -> bool:
        shown = self.client("resources", check=False).stdout
        return shown.count(f"{EXPORTER}/{GROUP}/") >= 5

    def _peer(self) -> None:
        self._spawn("peer", [sys.executable, "-c", PEER, f"{self.scale:g}", self.token])

        def up() -> bool:
            words = self._text("peer").split()
            if len(words) >= 3 and words[2].startswith("http://"):
                self.peer = (int(words[0]), int(words[1]), words[2])
                return True
            return False

        self._until(up, "peer", "to print its ports")

    # -- using it -----------------------------------------------------------------------------
    def client(self, *args: str, check: bool = True, env: dict[str, str] | None = None):
        """labgrid-client against this lab's coordinator."""
        cmd = [str(self.bin / "labgrid-client"), "-x", self.coordinator, *args]
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=UP_WALL,
            check=False,
        )
        if check and done.returncode != 0:
            raise LabError(f"{' '.join(cmd)}: {done.stderr.strip() or done.stdout.strip()}")
        return done

    def holder(self) -> str | None:
        """Who holds the place now ("host/user"), or None when it is free."""
        shown = self.client("-p", PLACE, "show").stdout
        found = re.search(r"^\s*acquired: (.+)$", shown, re.M)
        holder = found.group(1).strip() if found else None
        return None if holder in (None, "None") else holder

    def rig(self, path: Path, *, extra_labgrid: str = "") -> Path:
        """rigs/labgrid-sim.toml pointed at this lab (and `extra_labgrid` lines in [labgrid])."""
        tcp, udp, control = self.peer
        text = RIG_TEMPLATE.read_text()
        changes = [
            (r'^coordinator = "127\.0\.0\.1:20408"', f'coordinator = "{self.coordinator}"'),
            (r"^port = 7007$", f"port = {tcp}"),
            (r"^udp_port = 7007$", f"udp_port = {udp}"),
            (
                r'^control_url = "http://127\.0\.0\.1:7008"$',
                f'control_url = "{control}"\ntoken_env = "{TOKEN_ENV}"',
            ),
            (r'^place = "modemcert-sim"', f'place = "{PLACE}"\n{extra_labgrid}'),
        ]
        for pattern, new in changes:
            text, count = re.subn(pattern, new.replace("\\", "\\\\"), text, flags=re.M)
            if count != 1:
                raise LabError(f"{RIG_TEMPLATE} no longer has one line matching {pattern}")
        path.write_text(text)
        return path

    # -- stopping -----------------------------------------------------------------------------
    def agents(self) -> list[int]:
        """modemcert's labgrid agents still running against this lab's coordinator."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if any(w.endswith("labgrid_agent.py") for w in words) and self.coordinator in words:
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        """End every process this lab started (its whole process group), newest first, and
        any agent a failed test left holding its place."""
        for pid in self.agents() if self.coordinator else []:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for name in reversed(list(self.procs)):
            stop_group(self.procs[name])
        self.procs.clear()


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group `proc` leads, then SIGKILL what is left after STOP_WALL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(STOP_WALL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # children left in the group (ser2net)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0
