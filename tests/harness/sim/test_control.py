"""The control socket: JSON lines over a Unix socket or loopback TCP."""

from __future__ import annotations

import socket

import pytest

from harness.clock import Clock
from harness.gpio.sim import SimPins
from harness.sim import Profile, SimulatedModule, Wiring
from harness.sim.control import ControlError, ControlServer, parse_address, request

QUICK = {"lat_uart_ready": (0.1, 0.2), "lat_sim_ready": (0.2, 0.3), "lat_call_ready": (0.3, 0.4)}


@pytest.fixture
def served(tmp_path):
    pins = SimPins()
    sim = SimulatedModule(Profile(**QUICK), Clock(0.01), pins=pins, state_dir=tmp_path).start()
    server = ControlServer(sim, str(tmp_path / "control.sock"), pins).start()
    yield sim, server, pins
    server.stop()
    sim.stop()
    assert not sim.errors


def test_status_inject_mutate_and_clear(served):
    sim, server, _ = served
    answer = request(server.address, "status")
    assert answer["ok"] and answer["status"]["powered"] is False
    assert request(server.address, "inject", fault="reg_slow", params={"seconds": 50})["ok"]
    assert request(server.address, "mutate", name="csq_70s")["ok"]
    status = sim.status()
    assert status.faults == ("reg_slow",) and status.mutations == ("csq_70s",)
    assert request(server.address, "clear_faults")["ok"]
    assert sim.status().faults == ()


def test_press_pwrkey_boots_and_emerg_off_stops(served):
    sim, server, pins = served
    assert request(server.address, "press", line="pwrkey", seconds=1.2)["ok"]
    assert pins.level(Wiring().status) and sim.status().powered
    assert request(server.address, "press", line="emerg_off", seconds=0.1)["ok"]
    assert not sim.status().powered
    assert request(server.address, "power_on")["booted"] is True
    assert request(server.address, "supply", on=False)["ok"]
    assert not sim.status().powered


@pytest.mark.parametrize(
    ("op", "fields", "message"),
    [
        ("launch", {}, "unknown op"),
        ("inject", {"fault": "nope"}, "unknown fault"),
        ("mutate", {"name": "nope"}, "unknown mutation"),
        ("press", {"line": "reset"}, "pwrkey"),
        ("press", {"seconds": 99}, "between"),
        ("inject", {"fault": "qiact_fail", "params": [1]}, "object"),
    ],
)
def test_bad_requests_get_an_error_answer(served, op, fields, message):
    _, server, _ = served
    answer = request(server.address, op, **fields)
    assert answer["ok"] is False and message in answer["error"]


def test_catalogues(served):
    _, server, _ = served
    assert "qiact_hang" in request(server.address, "faults")["faults"]
    assert (
        request(server.address, "mutations")["mutations"]["qideact_100s"]["clause"] == "PDP-DEACT"
    )


def test_not_json_and_not_an_object(served):
    _, server, _ = served
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(server.address)
        stream = sock.makefile("rwb")
        stream.write(b"{oops\n[1]\n")
        stream.flush()
        assert b'"ok": false' in stream.readline()
        assert b"JSON object" in stream.readline()


def test_tcp_control_only_on_loopback(tmp_path):
    assert parse_address("tcp:127.0.0.1:0")[1] == ("127.0.0.1", 0)
    with pytest.raises(ControlError, match="loopback only"):
        parse_address("tcp:0.0.0.0:9000")
    with pytest.raises(ControlError, match="is `modemcert sim` running"):
        request(str(tmp_path / "nobody.sock"), "status")
    sim = SimulatedModule(clock=Clock(0.01)).start()
    server = ControlServer(sim, "tcp:127.0.0.1:0").start()
    try:
        assert server.address.startswith("tcp:127.0.0.1:")
        assert request(server.address, "status")["ok"]
        answer = request(server.address, "press")
        assert answer["ok"] is False and "no GPIO" in answer["error"]
    finally:
        server.stop()
        sim.stop()
