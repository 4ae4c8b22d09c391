"""The UART: the PTY the host opens, output queued in order, bytes the host writes delivered."""

from __future__ import annotations

import threading

import serial

from harness.clock import Clock
from harness.sim.uart import Uart

CLOCK = Clock(0.01)


def test_round_trip_and_host_rate():
    got: list[tuple[bytes, int]] = []
    arrived = threading.Event()

    def on_input(data, rate, _t):
        got.append((data, rate))
        arrived.set()

    uart = Uart(CLOCK, on_input)
    try:
        host = serial.Serial(uart.port, 57600, timeout=CLOCK.to_wall(500))
        assert uart.host_rate() == 57600
        host.write(b"AT\r")
        assert CLOCK.wait(arrived, 500)
        assert got == [(b"AT\r", 57600)]
        for chunk in (b"one ", b"two ", b"three"):
            uart.write(chunk)
        assert host.read(13) == b"one two three"
        host.close()
    finally:
        uart.close()
    uart.close()  # closing twice is harmless
