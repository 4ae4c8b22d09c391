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


class Agent:
    """One place, acquired for one modemcert run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.coordinator = args.coordinator
        self.name = args.place
        self.loop: asyncio.AbstractEventLoop | None = None
        self.session: Any = None
        self.place: Any = None
        self.acquired = False
        self.drivers: dict[str, Any] = {}
        self._release_lock = threading.Lock()

    # -- bring-up -------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        version = self._import_labgrid()
        env = self._environment()
        self._connect(env)
        self.place = self._find_place()
        self._check_free()
        self._check_matches()
        self._acquire()
        serial = self._wait_serial()
        # From here the loop runs on its own thread: the coordinator's updates keep flowing, and
        # labgrid's resource polls (which would each wait 0.1 s on an idle loop) do not stall.
        loop = self._loop()
        threading.Thread(target=loop.run_forever, name="labgrid-loop", daemon=True).start()
        target = self._target(env)
        lines = {name: self._driver(target, name) for name in self.args.line}
        exporters = sorted({path[0] for path in self.place.acquired_resources})
        return {
            "place": self.place.name,
            "coordinator": self.coordinator,
            "acquired_by": self.place.acquired,
            "labgrid": version,
            "tags": dict(self.place.tags),
            "exporter": serial["resource"].split("/")[0],
            "exporters": exporters,
            "serial": serial,
            "lines": lines,
        }

    def _loop(self) -> asyncio.AbstractEventLoop:
        """The session's event loop, made by `_connect` (every later step comes after it)."""
        if self.loop is None:
            raise RuntimeError("the labgrid agent is not connected to its coordinator")
        return self.loop

    def _import_labgrid(self) -> str:
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

    def _environment(self) -> Any:
        if not self.args.env:
            return None
        from labgrid import Environment

        try:
            env = Environment(config_file=self.args.env)
        except Exception as e:  # labgrid raises its own config errors, YAML's, or OSError
            raise Failure("env", f"environment file {self.args.env}: {e}") from None
        from labgrid.remote.client import find_role_by_place

        if find_role_by_place(env.config.get_targets(), self.name) is None:
            raise Failure(
                "env",
                f"environment file {self.args.env} has no target with a RemotePlace named "
                f"{self.name!r}: add `RemotePlace: {{name: {self.name}}}` to a target's resources",
            )
        return env

    def _connect(self, env: Any) -> None:
        import grpc
        from labgrid.remote.client import ClientSession, ServerError
        from labgrid.util.proxy import proxymanager

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        address = proxymanager.get_grpc_address(self.coordinator, default_port=DEFAULT_PORT)
        self.session = ClientSession(address, self.loop, env=env)
        try:
            self.loop.run_until_complete(asyncio.wait_for(self.session.start(), self.args.timeout))
        except (TimeoutError, ServerError, grpc.RpcError, OSError) as e:
            raise Failure(
                "unreachable",
                f"no labgrid coordinator answers at {self.coordinator} ({e or 'timed out'}): "
                "check that labgrid-coordinator runs there and the address and port are right",
            ) from None

    def _find_place(self) -> Any:
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

    def _me(self) -> str:
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    def _check_free(self) -> None:
        holder = self.place.acquired
        if not holder:
            return
        if holder == self._me():
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

    def _resource_paths(self) -> list[tuple[str, str, str, str]]:
        return [
            (exporter, group_name, entry.cls, resource_name)
            for exporter, groups in self.session.resources.items()
            for group_name, group in groups.items()
            for resource_name, entry in group.items()
            if "cls" in entry.data
        ]

    def _check_matches(self) -> None:
        if not self.place.matches:
            raise Failure(
                "missing",
                f"place {self.name!r} matches no resources: add the exporter's group, e.g. "
                f"labgrid-client -p {self.name} add-match 'EXPORTER/GROUP/*'",
            )
        match = self.place.unmatched(self._resource_paths())
        if match is not None:
            raise Failure(
                "missing",
                f"place {self.name!r} matches {match}, which no exporter offers: check that its "
                "labgrid-exporter runs and is connected to this coordinator",
            )

    def _acquire(self) -> None:
        import grpc
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        request = pb2.AcquirePlaceRequest(placename=self.place.name)
        try:
            self._loop().run_until_complete(self.session.stub.AcquirePlace(request))
        except grpc.aio.AioRpcError as e:
            held = [
                f"{'/'.join(path)} (by place {self._entry(path).acquired})"
                for path in self._resource_paths()
                if self.place.getmatch(path) is not None and self._entry(path).acquired
            ]
            raise Failure(
                "busy",
                f"the coordinator refused to acquire place {self.name!r}: {e.details()}"
                + (f"; resources in use: {', '.join(held)}" if held else ""),
            ) from None
        self.acquired = True
        self._loop().run_until_complete(self.session.sync_with_coordinator())

    def _entry(self, path: tuple[str, str, str, str] | list[str]) -> Any:
        exporter, group_name, _, resource_name = path
        return self.session.resources.get(exporter, {}).get(group_name, {}).get(resource_name)

    def _named(self, path: list[str]) -> str:
        match = self.place.getmatch(path)
        return match.rename if match is not None and match.rename else path[3]

    def _wait_serial(self) -> dict[str, Any]:
        """The place's NetworkSerialPort, once its exporter has started ser2net for it."""
        latest: list[str] = ["the place's resources did not arrive"]

        async def ready() -> dict[str, Any]:
            while True:
                found = self._serial_now(latest)
                if found is not None:
                    return found
                await asyncio.sleep(POLL)

        try:
            return self._loop().run_until_complete(asyncio.wait_for(ready(), self.args.timeout))
        except TimeoutError:
            raise Failure("unavailable", f"{latest[0]} within {self.args.timeout:g} s") from None

    def _serial_now(self, latest: list[str]) -> dict[str, Any] | None:
        place = self.place
        if place.acquired != self._me() or not place.acquired_resources:
            latest[0] = f"place {self.name!r} was not yet shown as acquired by {self._me()}"
            return None
        ports = [p for p in place.acquired_resources if p[2] == "NetworkSerialPort"]
        if self.args.serial:
            ports = [p for p in ports if self.args.serial in (p[3], self._named(p))]
        if not ports:
            wanted = f"named {self.args.serial!r} " if self.args.serial else ""
            raise Failure(
                "missing",
                f"place {self.name!r} has no NetworkSerialPort {wanted}: export the module's UART "
                "(RawSerialPort or USBSerialPort, which labgrid-exporter serves with ser2net) "
                "and match it to the place",
            )
        if len(ports) > 1:
            names = ", ".join(self._named(p) for p in ports)
            raise Failure(
                "missing",
                f"place {self.name!r} has {len(ports)} NetworkSerialPorts ({names}): name the "
                "module's in the rig file's [labgrid] serial",
            )
        path = ports[0]
        entry = self._entry(path)
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
            "name": self._named(path),
            "resource": where,
            "path": entry.extra.get("path"),
        }

    def _target(self, env: Any) -> Any:
        from labgrid import Target
        from labgrid.remote.client import find_role_by_place
        from labgrid.resource.remote import RemotePlace, RemotePlaceManager

        manager = RemotePlaceManager.get()
        manager.session = self.session  # our session: no second connection to the coordinator
        manager.loop = self.loop
        try:
            if env is not None:
                role = find_role_by_place(env.config.get_targets(), self.place.name)
                return env.get_target(role)
            target = Target(self.place.name)
            RemotePlace(target, name=self.place.name)
            return target
        except Failure:
            raise
        except Exception as e:
            raise Failure("env", f"labgrid could not make a target of place {self.name!r}: {e}")

    def _driver(self, target: Any, name: str) -> dict[str, str]:
        """Find or make the DigitalOutputProtocol driver for the resource called `name`."""
        from labgrid import target_factory
        from labgrid.exceptions import NoDriverFoundError

        resource = next((r for r in target.resources if r.name == name), None)
        try:
            driver = target.get_driver("DigitalOutputProtocol", name=name)
        except NoDriverFoundError:
            if resource is None:
                names = ", ".join(sorted(r.name for r in target.resources if r.name)) or "none"
                raise Failure(
                    "missing",
                    f"place {self.name!r} has no resource named {name!r} (it has: {names}): "
                    "export the line and match it to the place under that name",
                ) from None
            classes = [c.__name__ for c in type(resource).__mro__]
            driver_name = next((DIGITAL_OUTPUTS[c] for c in classes if c in DIGITAL_OUTPUTS), None)
            if driver_name is None:
                raise Failure(
                    "missing",
                    f"{name!r} of place {self.name!r} is a {classes[0]}, not a digital output "
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

    # -- serving --------------------------------------------------------------------------------
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
            return {"ok": True, "acquired_by": self.place.acquired}
        line = request.get("line")
        driver = self.drivers.get(line) if line is not None else None
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
        with self._release_lock:
            if not self.acquired:
                return
            self.acquired = False
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        request = pb2.ReleasePlaceRequest(placename=self.place.name)

        async def give_back() -> None:
            await asyncio.wait_for(self.session.stub.ReleasePlace(request), RELEASE_TIMEOUT)

        try:
            loop = self._loop()
            if loop.is_running():
                asyncio.run_coroutine_threadsafe(give_back(), loop).result(RELEASE_TIMEOUT + 1)
            else:
                loop.run_until_complete(give_back())
        except Exception as e:
            print(f"labgrid agent: could not release place {self.name!r}: {e}", file=sys.stderr)


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
