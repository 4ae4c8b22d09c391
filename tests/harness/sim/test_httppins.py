"""The simulated HAT's pins over HTTP (`modemcert sim --pins-http`): read every wired pin, drive
only the host's lines, refuse the rest with a status that says why, and stay on loopback."""

from __future__ import annotations

import http.client
import sys
import threading

import pytest

from harness.clock import Clock
from harness.gpio.sim import SimPins
from harness.sim import SimulatedModule
from harness.sim.httppins import PinServer, PinServerError, parse_address
from harness.sim.power import Wiring

#: Module seconds: the simulated M95 boots well within this after a PWRKEY press.
BOOT = 20.0


@pytest.fixture
def pins():
    pins = SimPins()
    server = PinServer(pins, Wiring()).start()
    yield pins, server
    server.stop()


def call(server: PinServer, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def test_put_drives_a_host_line_and_get_reads_it(pins):
    sim_pins, server = pins
    assert call(server, "GET", "/pins/4") == (200, "0")
    assert call(server, "PUT", "/pins/4", "1") == (200, "1")
    assert sim_pins.level(4) is True
    assert call(server, "GET", "/pins/4") == (200, "1")
    assert call(server, "POST", "/pins/17", "1\n") == (200, "1")  # labgrid's method is settable
    assert call(server, "PUT", "/pins/4", "0") == (200, "0")
    assert [level for _, level in sim_pins.history(4)] == [True, False]


def test_status_is_read_never_driven(pins):
    sim_pins, server = pins
    sim_pins.drive(27, True)  # the module raises STATUS
    assert call(server, "GET", "/pins/27") == (200, "1")
    status, text = call(server, "PUT", "/pins/27", "0")
    assert status == 403 and "STATUS" in text
    assert sim_pins.level(27) is True


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("GET", "/pins/5", None, 404, "not wired"),
        ("PUT", "/pins/5", "1", 404, "not wired"),
        ("GET", "/gpio/4", None, 404, "/pins/<BCM pin>"),
        ("GET", "/pins/four", None, 404, "/pins/<BCM pin>"),
        ("PUT", "/pins/4", "on", 400, "1 (high) or 0 (low)"),
    ],
)
def test_bad_requests_say_what_is_wrong(pins, method, path, body, status, words):
    sim_pins, server = pins
    got, text = call(server, method, path, body)
    assert got == status and words in text
    assert not sim_pins.history(4)


@pytest.mark.parametrize("address", ["0.0.0.0:0", "192.0.2.1:80", "localhost:0", "127.0.0.1:x"])
def test_only_loopback_addresses(address):
    with pytest.raises(PinServerError, match="loopback only"):
        parse_address(address)


def test_a_press_over_http_boots_the_simulated_module(tmp_path):
    clock = Clock(0.02)
    sim_pins = SimPins()
    sim = SimulatedModule(clock=clock, pins=sim_pins, wiring=Wiring(), state_dir=tmp_path).start()
    server = PinServer(sim_pins, sim.wiring).start()
    booted = threading.Event()
    sim_pins.watch(lambda pin, level, t: pin == 27 and level and booted.set())
    try:
        call(server, "PUT", "/pins/4", "1")
        clock.sleep(1.5)  # hold PWRKEY past the documented minimum
        call(server, "PUT", "/pins/4", "0")
        assert clock.wait(booted, BOOT), "STATUS did not rise after a 1.5 s press over HTTP"
        assert call(server, "GET", "/pins/27") == (200, "1")
    finally:
        server.stop()
        sim.stop()


def test_modemcert_sim_prints_where_its_pins_are(tmp_path):
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sim", "--pins-http", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        proc.stdout.readline()  # the PTY
        first = proc.stderr.readline()
        assert first.startswith("modemcert sim: pins http://127.0.0.1:"), first
        assert first.rstrip().endswith("/pins/<BCM>")
    finally:
        proc.terminate()
        proc.wait(10)
