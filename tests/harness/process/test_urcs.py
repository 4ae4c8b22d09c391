"""The process reads the URCs it reacts to through a subscription of its own: a test waiting
for the same URC still gets it (and the process gets one a test has already read)."""

from __future__ import annotations

from _at_cases import frame

from harness.at import UrcKind
from harness.modem import Modem
from harness.process import Options
from harness.process.state import State

PATIENCE = 1000.0  # module seconds at the AT tests' scale: 10 s of wall time


def test_the_process_and_a_test_both_see_pdp_deact(at_channel, pty_responder):
    state = State(Modem(at_channel), at_channel.clock, Options())
    pty_responder.send(frame("+PDP DEACT", "CLOSED"))
    assert at_channel.wait_urc(UrcKind.CLOSED, PATIENCE).text == "CLOSED"  # both arrived
    assert state.urc_since(UrcKind.PDP_DEACT, 0)  # the process reads it first ...
    assert not state.urc_since(UrcKind.PDP_DEACT, 0)  # (once)
    assert at_channel.wait_urc(UrcKind.PDP_DEACT, 0).text == "+PDP DEACT"  # ... the test too
    assert state.urc_since(UrcKind.CLOSED, 0)  # the test read CLOSED first: still the process's
    assert at_channel.urcs() == []


def test_the_process_ignores_urcs_from_before_the_stamp_it_is_given(at_channel, pty_responder):
    state = State(Modem(at_channel), at_channel.clock, Options())
    pty_responder.send(frame("+PDP DEACT"))
    urc = at_channel.wait_urc(UrcKind.PDP_DEACT, PATIENCE)
    assert not state.urc_since(UrcKind.PDP_DEACT, urc.t_ns + 1)
