"""modemcert's hands on a labgrid place, run by labgrid's own Python: acquire the place, report its
serial port and lines, drive its digital outputs, release it when modemcert is done or gone.

harness/labgrid.py starts `<labgrid's python> labgrid_agent.py --coordinator HOST:PORT --place P
[--env FILE] [--serial NAME] [--line NAME ...]` and speaks JSON lines with it, so labgrid and its
pyserial fork stay in their own environment. Imports only the stdlib and labgrid (24 or newer).

Protocol: the first line out is `{"ready": {...}}` or `{"error": {"kind": K, "message": M}}`; then
one answer per request: `{"op": "set", "line": "pwrkey", "value": true}` → `{"ok": true}`,
`{"op": "get", "line": "status"}` → `{"ok": true, "value": false}`, `{"op": "release"}`. The place
is released on `release`, at the end of input (modemcert exited, however it died), or
`TERM_GRACE` seconds after a SIGTERM (modemcert may still need the lines to power the module off).

One file, run as a script: `Coordinator` (the session and the place), `wait_serial()` (its RFC 2217
port), `Lines` (its digital outputs), `Agent` (bring-up and the request loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

# Run as a script, this file's folder (harness/, which holds modemcert's own labgrid.py) would
# come first on sys.path and hide the real labgrid package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

#: labgrid's default coordinator port.
DEFAULT_PORT = 20408
#: The first labgrid whose coordinator speaks gRPC (older ones used crossbar/WAMP).
MIN_LABGRID = (24, 0)
#: Seconds between two looks while waiting for the exporter to start ser2net after acquire.
POLL = 0.05
#: Seconds a release may take at the coordinator.
RELEASE_TIMEOUT = 10.0
#: Seconds the place stays acquired after a SIGTERM if modemcert does not close first.
TERM_GRACE = 30.0
#: labgrid-client's digital I/O drivers by resource class (its `io` command), most specific first.
DIGITAL_OUTPUTS = {
    "WaveshareModbusTCPCoil": "WaveShareModbusCoilDriver",
    "ModbusTCPCoil": "ModbusCoilDriver",
    "Eth008DigitalOutput": "Eth008DigitalOutputDriver",
    "OneWirePIO": "OneWirePIODriver",
    "HttpDigitalOutput": "HttpDigitalOutputDriver",
    "NetworkDeditecRelais8": "DeditecRelaisDriver",
    "NetworkSysfsGPIO": "GpioDigitalOutputDriver",
    "NetworkLXAIOBusPIO": "LXAIOBusPIODriver",
    "NetworkHIDRelay": "HIDRelayDriver",
}


class Failure(Exception):
    """Why the place cannot be used: `kind` tells modemcert which error to raise."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": str(self)}


def import_labgrid() -> str:
    """labgrid's version, if this Python has a labgrid that speaks gRPC."""
    try:
        from labgrid.util import labgrid_version
    except ImportError as e:
        raise Failure(
            "labgrid", f"{sys.executable} cannot import labgrid ({e}); install it there"
        ) from None
    version = labgrid_version()
    numbers = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if numbers < MIN_LABGRID:
        raise Failure(
            "labgrid",
            f"labgrid {version} at {sys.executable} talks to its coordinator over crossbar; "
            "modemcert needs labgrid 24 or newer (gRPC): upgrade it",
        )
    return version


def environment(path: str | None, name: str) -> Any:
    """The labgrid environment file's, with a target for place `name` (None without a file)."""
    if not path:
        return None
    from labgrid import Environment

    try:
        env = Environment(config_file=path)
    except Exception as e:  # labgrid raises its own config errors, YAML's, or OSError
        raise Failure("env", f"environment file {path}: {e}") from None
    from labgrid.remote.client import find_role_by_place

    if find_role_by_place(env.config.get_targets(), name) is None:
        raise Failure(
            "env",
            f"environment file {path} has no target with a RemotePlace named "
            f"{name!r}: add `RemotePlace: {{name: {name}}}` to a target's resources",
        )
    return env


class Coordinator:
    """The session with labgrid's coordinator and the one place it holds for this run."""

    def __init__(self, coordinator: str, name: str, timeout: float) -> None:
        self.coordinator = coordinator
        self.name = name
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None
        self.session: Any = None
        self.place: Any = None
        self.acquired = False
        self._release_lock = threading.Lock()

    def running(self) -> asyncio.AbstractEventLoop:
        """The session's event loop, made by `connect` (every later step comes after it)."""
        if self.loop is None:
            raise RuntimeError("the labgrid agent is not connected to its coordinator")
        return self.loop

    def connect(self, env: Any) -> None:
        import grpc
        from labgrid.remote.client import ClientSession, ServerError
        from labgrid.util.proxy import proxymanager

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        address = proxymanager.get_grpc_address(self.coordinator, default_port=DEFAULT_PORT)
        self.session = ClientSession(address, self.loop, env=env)
        try:
            self.loop.run_until_complete(asyncio.wait_for(self.session.start(), self.timeout))
        except (TimeoutError, ServerError, grpc.RpcError, OSError) as e:
            raise Failure(
                "unreachable",
                f"no labgrid coordinator answers at {self.coordinator} ({e or 'timed out'}): "
                "check that labgrid-coordinator runs there and the address and port are right",
            ) from None

    def find_place(self) -> Any:
        places = self.session.places
        place = places.get(self.name)
        if place is None:
            place = next((p for p in places.values() if self.name in p.aliases), None)
        if place is None:
            known = ", ".join(sorted(places)) or "none"
            raise Failure(
                "no-place",
                f"the coordinator at {self.coordinator} has no place {self.name!r} (places: "
                f"{known}); create it: labgrid-client -x {self.coordinator} -p {self.name} create",
            )
        return place

    def me(self) -> str:
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    def check_free(self) -> None:
        holder = self.place.acquired
        if not holder:
            return
        if holder == self.me():
            raise Failure(
                "busy",
                f"place {self.name!r} is already acquired by {holder} (this user on this host): "
                "if no other modemcert run or labgrid-client uses it, free it with "
                f"labgrid-client -x {self.coordinator} -p {self.name} release",
            )
        raise Failure(
            "busy",
            f"place {self.name!r} is acquired by {holder}: wait until they release it "
            f"(labgrid-client -x {self.coordinator} -p {self.name} who)",
        )

    def resource_paths(self) -> list[tuple[str, str, str, str]]:
        return [
            (exporter, group_name, entry.cls, resource_name)
            for exporter, groups in self.session.resources.items()
            for group_name, group in groups.items()
            for resource_name, entry in group.items()
            if "cls" in entry.data
        ]

    def check_matches(self) -> None:
        if not self.place.matches:
            raise Failure(
                "missing",
                f"place {self.name!r} matches no resources: add the exporter's group, e.g. "
                f"labgrid-client -p {self.name} add-match 'EXPORTER/GROUP/*'",
            )
        match = self.place.unmatched(self.resource_paths())
        if match is not None:
            raise Failure(
                "missing",
                f"place {self.name!r} matches {match}, which no exporter offers: check that its "
                "labgrid-exporter runs and is connected to this coordinator",
            )

    def acquire(self) -> None:
        import grpc
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        request = pb2.AcquirePlaceRequest(placename=self.place.name)
        try:
            self.running().run_until_complete(self.session.stub.AcquirePlace(request))
        except grpc.aio.AioRpcError as e:
            held = [
                f"{'/'.join(path)} (by place {self.entry(path).acquired})"
                for path in self.resource_paths()
                if self.place.getmatch(path) is not None and self.entry(path).acquired
            ]
            raise Failure(
                "busy",
                f"the coordinator refused to acquire place {self.name!r}: {e.details()}"
                + (f"; resources in use: {', '.join(held)}" if held else ""),
            ) from None
        self.acquired = True
        self.running().run_until_complete(self.session.sync_with_coordinator())

    def entry(self, path: tuple[str, str, str, str] | list[str]) -> Any:
        exporter, group_name, _, resource_name = path
        return self.session.resources.get(exporter, {}).get(group_name, {}).get(resource_name)

    def named(self, path: list[str]) -> str:
        match = self.place.getmatch(path)
        return match.rename if match is not None and match.rename else path[3]

    def release(self) -> None:
        """Give the place back (idempotent); never raises."""
        with self._release_lock:
            if not self.acquired:
                return
            self.acquired = False
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        request = pb2.ReleasePlaceRequest(placename=self.place.name)

        async def give_back() -> None:
            await asyncio.wait_for(self.session.stub.ReleasePlace(request), RELEASE_TIMEOUT)

        try:
            loop = self.running()
            if loop.is_running():
                asyncio.run_coroutine_threadsafe(give_back(), loop).result(RELEASE_TIMEOUT + 1)
            else:
                loop.run_until_complete(give_back())
        except Exception as e:
            print(f"labgrid agent: could not release place {self.name!r}: {e}", file=sys.stderr)


def wait_serial(c: Coordinator, wanted: str | None) -> dict[str, Any]:
    """The place's NetworkSerialPort, once its exporter has started ser2net for it."""
    latest: list[str] = ["the place's resources did not arrive"]

    async def ready() -> dict[str, Any]:
        while True:
            found = serial_now(c, wanted, latest)
            if found is not None:
                return found
            await asyncio.sleep(POLL)

    try:
        return c.running().run_until_complete(asyncio.wait_for(ready(), c.timeout))
    except TimeoutError:
        raise Failure("unavailable", f"{latest[0]} within {c.timeout:g} s") from None


def serial_now(c: Coordinator, wanted: str | None, latest: list[str]) -> dict[str, Any] | None:
    """The port if it can be used now; else None, with why not in `latest[0]`."""
    place = c.place
    if place.acquired != c.me() or not place.acquired_resources:
        latest[0] = f"place {c.name!r} was not yet shown as acquired by {c.me()}"
        return None
    ports = [p for p in place.acquired_resources if p[2] == "NetworkSerialPort"]
    if wanted:
        ports = [p for p in ports if wanted in (p[3], c.named(p))]
    if not ports:
        named = f"named {wanted!r} " if wanted else ""
        raise Failure(
            "missing",
            f"place {c.name!r} has no NetworkSerialPort {named}: export the module's UART "
            "(RawSerialPort or USBSerialPort, which labgrid-exporter serves with ser2net) "
            "and match it to the place",
        )
    if len(ports) > 1:
        names = ", ".join(c.named(p) for p in ports)
        raise Failure(
            "missing",
            f"place {c.name!r} has {len(ports)} NetworkSerialPorts ({names}): name the "
            "module's in the rig file's [labgrid] serial",
        )
    path = ports[0]
    entry = c.entry(path)
    where = "/".join(path)
    if entry is None:
        latest[0] = f"the exporter of {where} is gone"
        return None
    if not entry.avail:
        latest[0] = f"{where} is not available at its exporter (is the device there?)"
        return None
    params = entry.params
    protocol = params.get("protocol", "rfc2217")
    if protocol != "rfc2217":
        raise Failure(
            "missing",
            f"{where} speaks {protocol}, not RFC 2217: modemcert sets the line rate, so the "
            "exporter must serve it with ser2net's rfc2217 (labgrid's default)",
        )
    if not params.get("port"):
        latest[0] = f"the exporter did not start ser2net for {where}"
        return None
    host = params["host"]
    shown = f"[{host}]" if ":" in host else host
    return {
        # ign_set_control: ser2net answers DTR/RTS changes its own way (labgrid does the same)
        "url": f"rfc2217://{shown}:{params['port']}?ign_set_control",
        "host": host,
        "port": params["port"],
        "speed": params.get("speed"),
        "name": c.named(path),
        "resource": where,
        "path": entry.extra.get("path"),
    }


class Lines:
    """The place's digital outputs by resource name, with the labgrid drivers that switch them."""

    def __init__(self, c: Coordinator) -> None:
        self.c = c
        self.drivers: dict[str, Any] = {}

    def target(self, env: Any) -> Any:
        from labgrid import Target
        from labgrid.remote.client import find_role_by_place
        from labgrid.resource.remote import RemotePlace, RemotePlaceManager

        c = self.c
        manager = RemotePlaceManager.get()
        manager.session = c.session  # our session: no second connection to the coordinator
        manager.loop = c.loop
        try:
            if env is not None:
                role = find_role_by_place(env.config.get_targets(), c.place.name)
                return env.get_target(role)
            target = Target(c.place.name)
            RemotePlace(target, name=c.place.name)
            return target
        except Failure:
            raise
        except Exception as e:
            raise Failure("env", f"labgrid could not make a target of place {c.name!r}: {e}")

    def driver(self, target: Any, name: str) -> dict[str, str]:
        """Find or make the DigitalOutputProtocol driver for the resource called `name`."""
        from labgrid import target_factory
        from labgrid.exceptions import NoDriverFoundError

        place = self.c.name
        resource = next((r for r in target.resources if r.name == name), None)
        try:
            driver = target.get_driver("DigitalOutputProtocol", name=name)
        except NoDriverFoundError:
            if resource is None:
                names = ", ".join(sorted(r.name for r in target.resources if r.name)) or "none"
                raise Failure(
                    "missing",
                    f"place {place!r} has no resource named {name!r} (it has: {names}): "
                    "export the line and match it to the place under that name",
                ) from None
            classes = [c.__name__ for c in type(resource).__mro__]
            driver_name = next((DIGITAL_OUTPUTS[c] for c in classes if c in DIGITAL_OUTPUTS), None)
            if driver_name is None:
                raise Failure(
                    "missing",
                    f"{name!r} of place {place!r} is a {classes[0]}, not a digital output "
                    f"labgrid drives ({', '.join(DIGITAL_OUTPUTS)})",
                ) from None
            cls = target_factory.class_from_string(driver_name)
            [binding] = cls.bindings
            target.set_binding_map({binding: name})
            try:
                driver = cls(target, name=name)
                target.activate(driver)
            except Exception as e:
                raise Failure("missing", f"labgrid cannot drive {name!r} ({e})") from None
        self.drivers[name] = driver
        cls_name = type(resource).__name__ if resource is not None else "?"
        return {"cls": cls_name, "driver": type(driver).__name__}


class Agent:
    """One place, acquired for one modemcert run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.coordinator = Coordinator(args.coordinator, args.place, args.timeout)
        self.lines = Lines(self.coordinator)

    def start(self) -> dict[str, Any]:
        c = self.coordinator
        version = import_labgrid()
        env = environment(self.args.env, c.name)
        c.connect(env)
        c.place = c.find_place()
        c.check_free()
        c.check_matches()
        c.acquire()
        serial = wait_serial(c, self.args.serial)
        # From here the loop runs on its own thread: the coordinator's updates keep flowing, and
        # labgrid's resource polls (which would each wait 0.1 s on an idle loop) do not stall.
        loop = c.running()
        threading.Thread(target=loop.run_forever, name="labgrid-loop", daemon=True).start()
        target = self.lines.target(env)
        lines = {name: self.lines.driver(target, name) for name in self.args.line}
        exporters = sorted({path[0] for path in c.place.acquired_resources})
        return {
            "place": c.place.name,
            "coordinator": c.coordinator,
            "acquired_by": c.place.acquired,
            "labgrid": version,
            "tags": dict(c.place.tags),
            "exporter": serial["resource"].split("/")[0],
            "exporters": exporters,
            "serial": serial,
            "lines": lines,
        }

    def serve(self, requests: Any, out: Any) -> None:
        for raw in requests:
            request: dict[str, Any] = {}
            try:
                request = json.loads(raw)
                answer = self.handle(request)
            except Failure as f:
                answer = {"ok": False, "error": f.as_dict()}
            except Exception as e:  # a driver's own error: the line could not be switched
                answer = {"ok": False, "error": {"kind": "io", "message": f"{e}"}}
            send(out, answer)
            if request.get("op") == "release":
                break
        self.release()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "release":
            self.release()
            return {"ok": True}
        if op == "ping":
            return {"ok": True, "acquired_by": self.coordinator.place.acquired}
        line = request.get("line")
        driver = self.lines.drivers.get(line) if line is not None else None
        if driver is None:
            raise Failure("missing", f"no line {request.get('line')!r} was set up")
        if op == "set":
            driver.set(bool(request["value"]))
            return {"ok": True}
        if op == "get":
            return {"ok": True, "value": bool(driver.get())}
        raise Failure("usage", f"unknown op {op!r}")

    def release(self) -> None:
        """Give the place back (idempotent); never raises."""
        self.coordinator.release()


def send(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--coordinator", required=True, help="HOST[:PORT] of labgrid-coordinator")
    p.add_argument("--place", required=True)
    p.add_argument("--env", help="labgrid environment file with a RemotePlace for the place")
    p.add_argument("--serial", help="name of the NetworkSerialPort when the place has several")
    p.add_argument("--line", action="append", default=[], help="a digital output to drive")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to connect and acquire")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever labgrid prints goes to the log, never into the protocol
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is modemcert's: it releases through us
    agent = Agent(args)

    def on_term(signum: int, frame: Any) -> None:
        def give_up() -> None:
            agent.release()
            os._exit(0)

        threading.Timer(TERM_GRACE, give_up).start()

    signal.signal(signal.SIGTERM, on_term)
    try:
        ready = agent.start()
    except Failure as f:
        send(out, {"error": f.as_dict()})
        agent.release()
        return 1
    except BaseException as e:
        send(out, {"error": {"kind": "bug", "message": f"labgrid agent failed: {e!r}"}})
        agent.release()
        raise
    send(out, {"ready": ready})
    agent.serve(sys.stdin, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
