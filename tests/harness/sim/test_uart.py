"""The UART on the module's loop: the PTY the host opens, output queued in order, bytes the host
writes delivered with their stamp, a host that reads nothing never blocks the loop."""

from __future__ import annotations

import threading

import pytest
import serial

from harness.clock import Clock, stamp
from harness.sim import uart as uart_module
from harness.sim.loop import Loop
from harness.sim.uart import Uart

CLOCK = Clock(0.01)


@pytest.fixture
def loop():
    lp = Loop(CLOCK)
    lp.start()
    yield lp
    lp.stop()
    assert not lp.errors


def test_round_trip_and_host_rate(loop):
    got: list[tuple[bytes, int, int]] = []
    arrived = threading.Event()

    def on_input(data, rate, t_ns):
        assert threading.current_thread().name == loop.name  # read on the module's loop
        got.append((data, rate, t_ns))
        arrived.set()

    uart = Uart(CLOCK, loop, on_input)
    try:
        host = serial.Serial(uart.port, 57600, timeout=CLOCK.to_wall(500))
        assert uart.host_rate() == 57600
        before = stamp()
        host.write(b"AT\r")
        assert CLOCK.wait(arrived, 500)
        [(data, rate, t_ns)] = got
        assert (data, rate) == (b"AT\r", 57600) and before <= t_ns <= stamp()
        for chunk in (b"one ", b"two ", b"three"):
            loop.call(uart.write, chunk)
        assert host.read(13) == b"one two three"
        host.close()
    finally:
        uart.close()
    uart.close()  # closing twice is harmless


def test_written_is_told_once_after_the_last_byte(loop):
    uart = Uart(CLOCK, loop, lambda *_: None)
    stamps: list[int] = []
    told = threading.Event()
    try:
        host = serial.Serial(uart.port, 115200, timeout=CLOCK.to_wall(500))
        before = stamp()
        loop.call(uart.write, b"\r\nOK\r\n", lambda t_ns: (stamps.append(t_ns), told.set()))
        assert host.read(6) == b"\r\nOK\r\n"
        assert CLOCK.wait(told, 500)
        assert len(stamps) == 1 and before <= stamps[0] <= stamp()
        host.close()
    finally:
        uart.close()


def test_a_host_that_reads_nothing_loses_bytes_without_blocking_the_loop(loop, monkeypatch):
    monkeypatch.setattr(uart_module, "WRITE_STALL_WALL", 0.2)
    uart = Uart(CLOCK, loop, lambda *_: None)
    lost = threading.Event()
    try:
        blob = b"x" * 65536  # more than a PTY holds
        loop.call(uart.write, blob, lambda _t: lost.set())  # never all written: never told
        assert loop.call(lambda: "answered") == "answered"  # the loop is not stuck writing
        deadline = CLOCK.deadline(CLOCK.to_module(5.0))
        while loop.call(lambda: uart.dropped) == 0 and not deadline.expired:
            CLOCK.sleep(CLOCK.to_module(0.05))
        assert 0 < uart.dropped < len(blob) and not lost.is_set()
    finally:
        uart.close()
