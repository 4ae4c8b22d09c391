"""Helpers for the simulator's tests: a raw host on the PTY with a tiny expect, loopback peers,
and a factory for simulators. Deliberately not harness.at: the codec must not test itself."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import select
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import serial

from harness.clock import Clock, stamp
from harness.gpio.sim import SimPins
from harness.sim import Profile, SimulatedModule

#: Module seconds → wall for most tests.
SCALE = 0.01
#: Waiting for something that should happen never gives up sooner than this many wall seconds:
#: a loaded machine may stall a thread for far longer than a scaled timeout (10 s × 0.01).
PATIENCE = 5.0
FINAL = re.compile(
    rb"\r\n(OK|ERROR|\+CME ERROR: [^\r]+|(\d, )?CLOSE OK|DEACT OK|SEND OK|SEND FAIL)\r\n"
)


def patience(clock: Clock, timeout: float, exact: bool = False) -> float:
    return timeout if exact else max(timeout, clock.to_module(PATIENCE))


class Host:
    """The host side of the line: raw pyserial, a reader thread, and expect() in module time."""

    def __init__(self, port: str, clock: Clock, baud: int = 115200) -> None:
        self.clock = clock
        self.ser = serial.Serial(port, baud, timeout=0)
        self.buf = bytearray()
        self.stamps: list[tuple[int, int]] = []  # (offset in buf, stamp_ns) per read
        self.pos = 0
        self.echo = True  # the module echoes (set False after ATE0)
        self._cond = threading.Condition()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        fd = self.ser.fileno()
        while True:
            ready, _, _ = select.select([fd, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            with self._cond:
                self.stamps.append((len(self.buf), stamp()))
                self.buf += data
                self._cond.notify_all()

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join()
        self.ser.close()
        os.close(self._stop_r)
        os.close(self._stop_w)

    def set_baud(self, rate: int) -> None:
        self.ser.baudrate = rate

    def write(self, data: bytes | str) -> None:
        self.ser.write(data.encode("latin-1") if isinstance(data, str) else data)

    def expect(
        self, pattern: bytes | re.Pattern[bytes], timeout: float = 10.0, exact: bool = False
    ) -> bytes:
        """Wait (module seconds, at least PATIENCE wall seconds unless `exact`) for `pattern`
        after what was consumed; return everything up to its end."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = self.clock.deadline(patience(self.clock, timeout, exact))
        with self._cond:
            while True:
                match = regex.search(self.buf, self.pos)
                if match:
                    out = bytes(self.buf[self.pos : match.end()])
                    self.pos = match.end()
                    return out
                left = deadline.wall_remaining()
                if left is not None and left <= 0:
                    tail = bytes(self.buf[self.pos :])[-300:]
                    raise AssertionError(f"no {regex.pattern!r} within {timeout} s; got {tail!r}")
                self._cond.wait(left)

    def wait_for(self, pattern: bytes | re.Pattern[bytes], timeout: float) -> bytes | None:
        """`pattern` if it comes within exactly `timeout` module seconds, else None."""
        try:
            return self.expect(pattern, timeout, exact=True)
        except AssertionError:
            return None

    def collect(self, seconds: float) -> bytes:
        """Everything that arrives within `seconds` (module) from now, consumed."""
        self.clock.sleep(seconds)
        with self._cond:
            out = bytes(self.buf[self.pos :])
            self.pos = len(self.buf)
            return out

    def at(self, command: str, timeout: float = 10.0, final: re.Pattern[bytes] = FINAL) -> bytes:
        """Send `command` + CR, return everything up to its final (echo included). While
        `echo` is on, the final must follow the echo of this very command."""
        self.write(command + "\r")
        if self.echo:
            echo = re.escape(command.encode("latin-1") + b"\r")
            final = re.compile(echo + rb".*?" + final.pattern, re.S)
        return self.expect(final, timeout)

    def sync(self, tries: int = 15, interval: float = 0.5) -> int:
        """INIT-SYNC: AT every `interval` until OK; the number of tries it took (0: none).

        An OK that came late to one try can arrive after the next try's: AT+GSN, whose answer
        no AT can give, then marks the point from which the line is in step again."""
        for n in range(1, tries + 1):
            self.write("AT\r")
            if self.wait_for(b"OK\r\n", interval) is not None:
                self.write("AT+GSN\r")
                imei = rb"\r\n\d{15}\r\n"
                self.expect(re.compile(imei + rb"\r\nOK\r\n|\r\nOK\r\n" + imei))
                return n
        return 0


class TcpPeer:
    """A loopback TCP server for one connection: echo, hold (stop reading) or sink."""

    def __init__(self, mode: str = "echo", rcvbuf: int | None = None) -> None:
        self.mode = mode
        self.server = socket.socket()
        if rcvbuf is not None:
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.conn: socket.socket | None = None
        self.accepted = threading.Event()
        self.ended = threading.Event()
        self._reading = threading.Event()
        if mode != "hold":
            self._reading.set()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        self.conn = conn
        self.accepted.set()
        while True:
            self._reading.wait()
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.ended.set()
                with self._cond:
                    self._cond.notify_all()
                return
            with self._cond:
                self.received += data
                self._cond.notify_all()
            if self.mode == "echo":
                with contextlib.suppress(OSError):
                    conn.sendall(data)

    def wait_accepted(self, clock: Clock) -> bool:
        return clock.wait(self.accepted, patience(clock, 0.0))

    def wait_ended(self, clock: Clock) -> bool:
        return clock.wait(self.ended, patience(clock, 0.0))

    def read_again(self) -> None:
        self._reading.set()

    def wait_received(self, count: int, clock: Clock, timeout: float = 10.0) -> bytes:
        deadline = clock.deadline(patience(clock, timeout))
        with self._cond:
            while len(self.received) < count:
                left = deadline.wall_remaining()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            return bytes(self.received)

    def send(self, data: bytes) -> None:
        assert self.conn is not None, "no connection accepted yet"
        self.conn.sendall(data)

    def close_conn(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)
            self.conn.close()

    def stop(self) -> None:
        self.read_again()
        self.server.close()
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()


class UdpPeer:
    """A loopback UDP socket that records datagrams and can answer the last sender."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def receive(self, clock: Clock, timeout: float = 5.0) -> tuple[bytes, tuple[str, int]]:
        self.sock.settimeout(clock.to_wall(patience(clock, timeout)))
        return self.sock.recvfrom(65535)

    def stop(self) -> None:
        self.sock.close()


@dataclasses.dataclass
class Rig:
    """A started simulator, its pins and a host on its line."""

    sim: SimulatedModule
    host: Host
    pins: SimPins
    clock: Clock

    def boot(self, sync: bool = True) -> None:
        """Power on and (by default) synchronise and wait until the SIM and GPRS are ready."""
        self.sim.power_on_now()
        if not sync:
            return
        assert self.host.sync(tries=30) > 0, "the module never answered AT"
        self.wait_ready()

    def wait_ready(self) -> None:
        """Poll AT+CGREG? until GPRS is registered (URCs before the sync are lost, §3)."""
        ok = self.until(lambda: b"+CGREG: 0,1" in self.host.at("AT+CGREG?"), 30)
        assert ok, "GPRS never registered"

    def until(self, condition: Callable[[], object], timeout: float, poll: float = 0.5) -> bool:
        """Poll `condition` every `poll` module seconds until true or `timeout` (with patience)."""
        deadline = self.clock.deadline(patience(self.clock, timeout))
        while not condition():
            if deadline.expired:
                return False
            self.clock.sleep(poll)
        return True

    def activate(self) -> bytes:
        """QIREGAPP, QIACT, QILOCIP (PDP-ACT); returns the QILOCIP reply."""
        assert b"OK" in self.host.at("AT+QIREGAPP")
        assert b"\r\nOK\r\n" in self.host.at("AT+QIACT", 10)
        self.host.write("AT+QILOCIP\r")
        return self.host.expect(re.compile(rb"\r\n(\d+\.\d+\.\d+\.\d+)\r\n"))

    def qistat(self) -> str:
        """AT+QISTAT (single connection): the state word after the leading OK."""
        self.host.write("AT+QISTAT\r")
        line = self.host.expect(re.compile(rb"STATE: ([^\r]+)\r\n"))
        return line.rsplit(b"STATE: ", 1)[1][:-2].decode()

    def open(self, proto: str, where: str, port: int, expect: bytes = b"CONNECT OK\r\n") -> bytes:
        reply = self.host.at(f'AT+QIOPEN="{proto}","{where}","{port}"')
        assert reply.endswith(b"\r\nOK\r\n"), reply
        return self.host.expect(expect, 10)


def fast(profile: Profile | None = None, **changes: object) -> Profile:
    """A profile as given, with `changes` applied (a helper for readability)."""
    return dataclasses.replace(profile or Profile(), **changes)


@pytest.fixture
def make_rig(tmp_path) -> Iterator[Callable[..., Rig]]:
    """Build rigs: make_rig(profile=..., scale=..., mutate=[...], **SimulatedModule kwargs)."""
    made: list[Rig] = []

    def build(
        profile: Profile | None = None,
        scale: float = SCALE,
        mutate: tuple[str, ...] | list[str] = (),
        baud: int = 115200,
        **kwargs: object,
    ) -> Rig:
        clock = Clock(scale)
        pins = kwargs.pop("pins", None) or SimPins()
        kwargs.setdefault("state_dir", tmp_path / f"state{len(made)}")
        sim = SimulatedModule(profile=profile, clock=clock, pins=pins, **kwargs)  # type: ignore[arg-type]
        sim.start()
        for name in mutate:
            sim.mutate(name)
        rig = Rig(sim, Host(sim.port, clock, baud), pins, clock)
        made.append(rig)
        return rig

    yield build
    errors = []
    for rig in made:
        rig.host.close()
        errors += rig.sim.errors
        rig.sim.stop()
    assert not errors, errors


@pytest.fixture
def rig(make_rig) -> Rig:
    return make_rig()


@pytest.fixture
def peer() -> Iterator[TcpPeer]:
    p = TcpPeer("echo")
    yield p
    p.stop()


@pytest.fixture
def make_peer() -> Iterator[Callable[..., TcpPeer | UdpPeer]]:
    """Build loopback peers: make_peer("echo" / "hold" / "sink", rcvbuf=None), make_peer("udp")."""
    made: list[TcpPeer | UdpPeer] = []

    def build(mode: str = "echo", rcvbuf: int | None = None) -> TcpPeer | UdpPeer:
        p: TcpPeer | UdpPeer = UdpPeer() if mode == "udp" else TcpPeer(mode, rcvbuf)
        made.append(p)
        return p

    yield build
    for p in made:
        p.stop()
