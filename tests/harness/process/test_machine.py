"""The process's state machine on its own: the one transition function, the reactions, the
decisions and who hears of them (no simulator needed)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from harness.clock import Clock
from harness.errors import HarnessBug, UsageFault
from harness.process import (
    TRANSITIONS,
    Decision,
    Event,
    Options,
    Phase,
    Process,
    Reaction,
    StreamNotOpen,
    transition,
)
from harness.process.state import State
from harness.runrecord import RunRecorder


def a_state() -> State:
    modem = SimpleNamespace(channel=SimpleNamespace(), clock=Clock(0.01))
    return State(modem, modem.clock, Options())  # type: ignore[arg-type]


def test_the_happy_path_walks_every_phase_and_back():
    phase = Phase.OFF
    for event, want in [
        (Event.SYNCED, Phase.SYNCED),
        (Event.CONFIGURED, Phase.READY),
        (Event.ACTIVATED, Phase.CONTEXT),
        (Event.OPENED, Phase.CONNECTED),
        (Event.CLOSED, Phase.CONTEXT),
        (Event.DEACTIVATED, Phase.READY),
    ]:
        phase = transition(phase, event)
        assert phase is want, (event, phase)


@pytest.mark.parametrize("phase", list(Phase))
def test_a_restart_is_a_move_from_every_phase_back_to_off(phase):
    assert transition(phase, Event.RESTARTED) is Phase.OFF


def test_a_move_the_chart_does_not_have_is_a_harness_bug():
    with pytest.raises(HarnessBug, match=r"'opened' in phase 'ready'.*activated"):
        transition(Phase.READY, Event.OPENED)
    with pytest.raises(HarnessBug):
        transition(Phase.OFF, Event.DEACTIVATED)  # no context before the bring-up


def test_every_phase_has_its_moves_and_every_target_is_a_phase():
    assert set(TRANSITIONS) == set(Phase)
    assert all(target in Phase for moves in TRANSITIONS.values() for target in moves.values())


def test_only_reboot_and_emergency_restart_the_module():
    assert {r for r in Reaction if r.restarts} == {Reaction.REBOOT, Reaction.EMERGENCY}


def test_the_phase_answers_the_old_questions():
    state = a_state()
    assert not state.ready and not state.context_up and not state.connected
    for event in (Event.SYNCED, Event.CONFIGURED, Event.ACTIVATED, Event.OPENED):
        state.enter(event)
    assert state.ready and state.context_up and state.connected
    state.drop_link()  # CLOSED seen: back to the context
    assert state.phase is Phase.CONTEXT
    state.drop_link()  # no link to drop: nothing changes
    assert state.phase is Phase.CONTEXT


def test_every_decision_reaches_every_observer_in_order():
    state = a_state()
    heard: list[tuple[str, str]] = []
    state.observer = lambda d: heard.append(("first", d.clause))
    state.observers.append(lambda d: heard.append(("second", d.clause)))
    d = state.decide("PDP-ACT-RETRY", "ERROR (1 of 3): deactivate and retry", Reaction.DEACTIVATE)
    assert heard == [("first", "PDP-ACT-RETRY"), ("second", "PDP-ACT-RETRY")]
    assert state.decisions == [d] and d.reaction is Reaction.DEACTIVATE
    assert d.title == "PDP-ACT-RETRY: ERROR (1 of 3): deactivate and retry"


def test_a_process_observer_can_be_added_and_removed():
    modem = SimpleNamespace(channel=SimpleNamespace(), clock=Clock(0.01))
    proc = Process(modem)  # type: ignore[arg-type]
    heard: list[Decision] = []
    stop = proc.add_observer(heard.append)
    proc.state.decide("CLOSE", "no session left to close")
    stop()
    proc.state.decide("CLOSE", "no session left to close")
    assert len(heard) == 1 and len(proc.decisions) == 2 and proc.phase is Phase.OFF


def test_a_stream_step_before_open_is_the_callers_mistake():
    modem = SimpleNamespace(channel=SimpleNamespace(), clock=Clock(0.01))
    proc = Process(modem)  # type: ignore[arg-type]
    with pytest.raises(StreamNotOpen, match="call open"):
        proc.send(b"x")
    assert issubclass(StreamNotOpen, UsageFault)


def test_decisions_are_kept_in_timings_json(tmp_path):
    recorder = RunRecorder(tmp_path, {"id": "t"})
    d = Decision("OPEN-FAIL", "CONNECT FAIL in IP CLOSE: QIDEACT", 12.5, Reaction.DEACTIVATE)
    recorder.add_decision("suites/test_flow.py::t", d.clause, d.what, 1.0, d.reaction.value)
    recorder.flush()
    [row] = json.loads((tmp_path / "timings.json").read_text())["decisions"]
    assert row == {
        "test": "suites/test_flow.py::t",
        "clause": "OPEN-FAIL",
        "what": "CONNECT FAIL in IP CLOSE: QIDEACT",
        "reaction": "deactivate",
        "at": 1.0,
    }
