"""INIT-SYNC (harness/modem/sync.py) against a scripted channel and a module that answers
only at its rate: the right rate, autobaud, a module found at another rate, the pacing, the
error that names what to check."""

from __future__ import annotations

import pytest
from _line_fakes import BaudModule, FakeChannel

from harness import limits
from harness.clock import Clock, stamp
from harness.errors import RigFault, category_of
from harness.modem import SyncError, sync


def test_sync_at_the_right_rate_fixes_it():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, 115200)
    timings = []
    result = sync(channel, 115200, clock, record=timings.append)
    assert result.tries == 1 and result.rate == 115200 and result.found_at is None
    assert [c for _, c in channel.sent] == ["AT", "AT+IPR=115200&W"]
    assert [t.clause for t in timings] == ["INIT-SYNC", "INIT-IPR"]


def test_sync_in_autobaud_needs_a_few_ats():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, None)
    result = sync(channel, 57600, clock)
    assert result.tries == 2 and result.rate == 57600
    assert channel.answer.rate == 57600


def test_sync_finds_a_module_fixed_at_another_rate_and_refixes_it():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    module = BaudModule(channel, 9600)
    channel.answer = module
    result = sync(channel, 115200, clock, search=(115200, 57600, 9600))
    assert result.found_at == 9600 and result.rate == 115200
    assert result.rates_tried == (115200, 57600, 9600)
    assert module.rate == 115200 and channel.transport.baudrate == 115200
    assert (9600, "AT+IPR=115200&W") in channel.sent
    at_rig_rate = [c for r, c in channel.sent if r == 115200 and c == "AT"]
    assert len(at_rig_rate) == limits.SYNC_TRIES + 1  # 15 unanswered, then the re-sync


def test_sync_paces_ats_500ms_apart():
    clock = Clock(0.01)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, 9600)
    start = stamp()
    with pytest.raises(SyncError):
        sync(channel, 115200, clock)
    # 15 slots of 500 ms each, never fewer (the fake answers "no" at once)
    assert clock.since(start) >= limits.SYNC_TRIES * limits.SYNC_INTERVAL.seconds


def test_sync_error_names_port_rates_and_what_to_check():
    clock = Clock(0.005)
    channel = FakeChannel(clock)
    channel.answer = BaudModule(channel, None, silent=True)
    with pytest.raises(SyncError) as info:
        sync(channel, 115200, clock, search=(57600, 9600))
    text = str(info.value)
    assert "/dev/fake" in text and "115200, 57600, 9600" in text
    assert "TX/RX" in text and "serial.baud" in text
    assert channel.transport.baudrate == 115200


def test_a_silent_module_is_a_rig_fault():
    assert issubclass(SyncError, RigFault) and category_of(SyncError("x")).value == "rig fault"
