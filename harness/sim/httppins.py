"""The simulated HAT's pins over HTTP, for a GPIO that sits on the network (labgrid's
HttpDigitalOutput): `GET /pins/4` answers `1` or `0`; `PUT /pins/4` with body `1` or `0` drives it.

Only the host's lines (PWRKEY, EMERG_OFF, the supply relay) can be driven; STATUS is the module's
output and is only read. It listens on loopback only, like everything the simulator opens.
"""

from __future__ import annotations

import contextlib
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.gpio.sim import SimPins
from harness.sim.net import is_loopback
from harness.sim.power import Wiring

PREFIX = "/pins/"


class PinServerError(ValueError):
    """A bad --pins-http address; the message says what to write instead."""


def parse_address(text: str) -> tuple[str, int]:
    """`127.0.0.1:PORT` (0 picks a free port) → (host, port); anything off loopback is refused."""
    host, _, port = text.rpartition(":")
    if not is_loopback(host) or not port.isdigit() or int(port) > 65535:
        raise PinServerError(
            f"pins address {text!r}: use 127.0.0.1:<port> (loopback only; 0 picks a free port)"
        )
    return host, int(port)


class PinServer:
    """Serves one simulator's pins until `stop()`; `url` is where it listens."""

    def __init__(self, pins: SimPins, wiring: Wiring, address: str = "127.0.0.1:0") -> None:
        self.pins = pins
        outputs = {"pwrkey": wiring.pwrkey, "emerg_off": wiring.emerg_off, "supply": wiring.supply}
        #: BCM pin → line name, for the lines the host drives.
        self.outputs = {pin: name for name, pin in outputs.items() if pin is not None}
        self.status = wiring.status
        server = self
        self._http = ThreadingHTTPServer(parse_address(address), _handler(server))
        self._http.daemon_threads = True
        host, port = self._http.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else host  # bytes: AF_UNIX only
        self.url = f"http://{text}:{port}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="sim-pins-http", daemon=True
        )

    def start(self) -> PinServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._http.shutdown()
            self._thread.join()
        with contextlib.suppress(OSError):
            self._http.server_close()

    def read(self, pin: int) -> bool:
        self._known(pin)
        return self.pins.level(pin)

    def drive(self, pin: int, level: bool) -> None:
        self._known(pin)
        if pin not in self.outputs:
            raise PermissionError(f"pin {pin} is STATUS, the module's output: it can only be read")
        self.pins.drive(pin, level)

    def _known(self, pin: int) -> None:
        if pin not in self.outputs and pin != self.status:
            wired = ", ".join(f"{p} ({n})" for p, n in sorted(self.outputs.items()))
            raise LookupError(f"pin {pin} is not wired; wired: {wired}, {self.status} (status)")


def _handler(server: PinServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "modemcert-sim-pins"

        def log_message(self, format: str, *args: object) -> None:
            pass  # a press is two requests: printing each would bury the simulator's own lines

        def do_GET(self) -> None:
            self._answer(lambda pin: server.read(pin))

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 16)).strip()
            if body not in (b"0", b"1"):
                self._send(HTTPStatus.BAD_REQUEST, "the body must be 1 (high) or 0 (low)")
                return

            def drive(pin: int) -> bool:
                server.drive(pin, body == b"1")
                return body == b"1"

            self._answer(drive)

        do_POST = do_PUT

        def _answer(self, act) -> None:
            name = self.path.removeprefix(PREFIX)
            if not self.path.startswith(PREFIX) or not name.isdigit():
                self._send(HTTPStatus.NOT_FOUND, f"use {PREFIX}<BCM pin>, e.g. {PREFIX}4")
                return
            try:
                level = act(int(name))
            except LookupError as e:
                self._send(HTTPStatus.NOT_FOUND, str(e))
            except PermissionError as e:
                self._send(HTTPStatus.FORBIDDEN, str(e))
            else:
                self._send(HTTPStatus.OK, "1" if level else "0")

        def _send(self, status: HTTPStatus, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
