"""The standalone simulator's control socket: JSON lines on a Unix socket or 127.0.0.1 TCP.

One request per line, one answer per line: `{"op": "inject", "fault": "qiact_fail"}` →
`{"ok": true}`; errors come back as `{"ok": false, "error": "..."}`. It also lets a person press
PWRKEY: `{"op": "press", "line": "pwrkey", "seconds": 1.2}`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

from harness.clock import Clock
from harness.gpio.sim import SimPins
from harness.sim.faults import FAULTS
from harness.sim.module import SimulatedModule
from harness.sim.mutations import MUTATIONS
from harness.sim.net import is_loopback, loopback_connect
from harness.sim.power import Wiring

#: Longest PWRKEY/EMERG_OFF press a request may ask for (module seconds).
MAX_PRESS = 30.0


class ControlError(ValueError):
    """A bad control address or request; the message says what is wrong."""


def parse_address(text: str) -> tuple[int, Any]:
    """`tcp:127.0.0.1:PORT` or a Unix socket path → (family, address)."""
    if text.startswith("tcp:"):
        host, _, port = text[4:].rpartition(":")
        if not is_loopback(host) or not port.isdigit():
            raise ControlError(
                f"control address {text!r}: use tcp:127.0.0.1:<port> (loopback only) or a path"
            )
        return socket.AF_INET, (host, int(port))
    if not text:
        raise ControlError("empty control address: give tcp:127.0.0.1:<port> or a socket path")
    return socket.AF_UNIX, str(Path(text).expanduser())


def address_text(family: int, address: Any) -> str:
    return f"tcp:{address[0]}:{address[1]}" if family == socket.AF_INET else str(address)


class ControlServer:
    """Serves requests for one simulator until `stop()`."""

    def __init__(self, sim: SimulatedModule, address: str, pins: SimPins | None = None) -> None:
        self.sim = sim
        self.pins = pins
        self.wiring: Wiring = sim.wiring
        family, where = parse_address(address)
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX and os.path.exists(where):
            os.unlink(where)  # a stale socket file from an earlier run
        if family == socket.AF_INET:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(where)
        self._sock.listen()
        self._family = family
        self.address = address_text(family, self._sock.getsockname())
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, name="sim-control", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        self._thread.join()
        if self._family == socket.AF_UNIX:
            with contextlib.suppress(OSError):
                os.unlink(self.address)

    def _accept(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for raw in stream:
                try:
                    answer = {"ok": True, **self.handle(json.loads(raw))}
                except (ControlError, ValueError, RuntimeError) as exc:
                    answer = {"ok": False, "error": str(exc)}
                stream.write(json.dumps(answer).encode() + b"\n")
                stream.flush()

    # -- requests -------------------------------------------------------------------------------
    def handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            raise ControlError('a request is a JSON object with "op", e.g. {"op": "status"}')
        op = request["op"]
        sim = self.sim
        if op == "status":
            return {"status": dataclasses.asdict(sim.status())}
        if op == "inject":
            params = request.get("params", {})
            if not isinstance(params, dict):
                raise ControlError('"params" must be an object')
            sim.inject(str(request.get("fault")), bool(request.get("persistent", False)), **params)
            return {}
        if op == "clear_faults":
            sim.clear_faults()
            return {}
        if op == "mutate":
            sim.mutate(str(request.get("name")))
            return {}
        if op == "faults":
            return {
                "faults": {
                    n: {"description": f.description, "params": f.params} for n, f in FAULTS.items()
                }
            }
        if op == "mutations":
            return {"mutations": {n: dataclasses.asdict(m) for n, m in MUTATIONS.items()}}
        if op == "power_on":
            return {"booted": sim.power_on_now()}
        if op == "power_off":
            sim.power_off_now()
            return {}
        if op == "press":
            self._press(request)
            return {}
        if op == "supply":
            self._supply(bool(request.get("on", True)))
            return {}
        ops = "status inject clear_faults mutate faults mutations power_on power_off press supply"
        raise ControlError(f"unknown op {op!r}; ops: {ops}")

    def _press(self, request: dict[str, Any]) -> None:
        pins = self._need_pins()
        line = request.get("line", "pwrkey")
        pin = {"pwrkey": self.wiring.pwrkey, "emerg_off": self.wiring.emerg_off}.get(line)
        if pin is None:
            raise ControlError(f'"line" must be "pwrkey" or "emerg_off", not {line!r}')
        try:
            seconds = float(request.get("seconds", 1.2))
        except (TypeError, ValueError):
            raise ControlError('"seconds" must be a number of module seconds') from None
        if not 0 < seconds <= MAX_PRESS:
            raise ControlError(f'"seconds" must be between 0 and {MAX_PRESS}')
        clock: Clock = self.sim.clock
        pins.drive(pin, True)
        clock.sleep(seconds)
        pins.drive(pin, False)
        self.sim.settle()

    def _supply(self, on: bool) -> None:
        pins = self._need_pins()
        if self.wiring.supply is None:
            raise ControlError("this simulator has no supply relay wired")
        pins.drive(self.wiring.supply, on)
        self.sim.settle()

    def _need_pins(self) -> SimPins:
        if self.pins is None:
            raise ControlError("this simulator has no GPIO pins to drive")
        return self.pins


def request(address: str, op: str, **fields: Any) -> dict[str, Any]:
    """Send one request to a running simulator's control socket and return its answer."""
    family, where = parse_address(address)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            if family == socket.AF_INET:
                loopback_connect(sock, where)
            else:
                sock.connect(where)
        except OSError as exc:
            raise ControlError(
                f"cannot reach the simulator's control socket {address} ({exc}); "
                "is `modemcert sim` running with this --control?"
            ) from None
        with sock.makefile("rwb") as stream:
            stream.write(json.dumps({"op": op, **fields}).encode() + b"\n")
            stream.flush()
            line = stream.readline()
    if not line:
        raise ControlError(f"the simulator at {address} closed the connection without answering")
    return json.loads(line)
