"""The recommended process against the simulator and the peer: every branch caused for real
(sim faults, peer modes, mutations), asserted by the decisions taken and the peer's digests."""

from __future__ import annotations

import logging

import pytest

from harness import limits
from harness.modem import IpState
from harness.process import (
    HEARTBEAT_DATA,
    Decision,
    Options,
    Phase,
    ProcessError,
    ProcessRigError,
    Reaction,
)

DATA = bytes(range(256)) * 20  # 5120 bytes: four QISEND chunks


def clauses(decisions: list[Decision]) -> list[str]:
    return [d.clause for d in decisions]


def whats(decisions: list[Decision], clause: str) -> list[str]:
    return [d.what for d in decisions if d.clause == clause]


# -- the happy path ------------------------------------------------------------------------------
def test_a_session_walks_the_flow_chart_and_delivers_everything(bench, caplog):
    proc = bench.process()
    mark = bench.peer.mark()
    with caplog.at_level(logging.INFO, logger="modemcert.process"):
        result = proc.session("TCP", bench.host, bench.port, DATA, deactivate=True)
    path = clauses(proc.decisions)
    assert path == [
        "PWR-ON",
        "INIT-SYNC",
        "INIT-CPIN",
        "INIT-CREG",
        "INIT-CGREG",
        "INIT-CGATT",
        "INIT-APN",
        "PDP-ACT",
        "OPEN-TCP",
        "SEND-ACK",
        "CLOSE",
        "PDP-DEACT",
    ]
    assert result.decisions == proc.decisions  # the first step brought the module up too
    assert "OPEN-TCP: CONNECT OK" in caplog.text  # every decision is logged too
    bench.delivered(result.sender, DATA, mark)
    assert proc.reboots == 0 and bench.modem.qistat() is IpState.IP_INITIAL
    assert {t.clause for t in bench.timings} >= {"INIT-CPIN", "INIT-CGATT", "OPEN-TCP", "SEND-ACK"}


def test_received_data_is_kept_per_link_and_pushed_closed_is_only_data(bench):
    proc = bench.process()
    bench.peer.set_mode("push", proto="tcp", count=1, data=b"CLOSED", then="echo")
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    proc.send(b"hello")
    got = proc.receive(60.0, want=len(b"CLOSEDhello"))
    assert got == b"CLOSEDhello", bench.channel.transcript.tail(40)
    proc.close()
    [(link, received)] = list(proc.received())
    assert received == got and link.ended == "closed"
    assert "SEND-WINDOW" not in clauses(proc.decisions)  # CLOSED inside IPD is not a close
    bench.delivered(proc.last, b"hello", mark)


def test_receive_with_qird(bench):
    proc = bench.process(options=Options(indi=True))
    proc.open("TCP", bench.host, bench.port)
    proc.send(b"1234567890abcdefghijklmnopqrstuvwxyz")
    assert proc.receive(60.0, want=36) == b"1234567890abcdefghijklmnopqrstuvwxyz"
    proc.close()


# -- PDP ----------------------------------------------------------------------------------------
def test_qiact_failing_twice_is_retried_after_a_deactivation(bench):
    proc = bench.process()
    proc.bring_up()
    bench.sim.inject("qiact_fail", count=2)
    proc.activate()
    retries = whats(proc.decisions, "PDP-ACT-RETRY")
    assert len(retries) == 2 and all("deactivate and retry" in w for w in retries)
    assert proc.reboots == 0 and proc.context_up


def test_qiact_failing_three_times_reboots(bench):
    proc = bench.process()
    proc.bring_up()
    bench.sim.inject("qiact_fail", count=3)
    proc.activate()
    assert "3 failures in a row: reboot" in whats(proc.decisions, "PDP-ACT-RETRY")[-1]
    reactions = [d.reaction for d in proc.decisions if d.clause == "PDP-ACT-RETRY"]
    assert reactions == [Reaction.DEACTIVATE, Reaction.DEACTIVATE, Reaction.REBOOT]
    path = clauses(proc.decisions)
    assert path.index("PWR-OFF") < path.index("PWR-ON", path.index("PWR-OFF")) < len(path)
    assert proc.reboots == 1 and proc.context_up


def test_qiact_without_an_answer_restarts_with_emerg_off(bench):
    proc = bench.process()
    proc.bring_up()
    bench.sim.inject("qiact_hang")
    proc.activate()
    [silent] = [d for d in proc.decisions if d.clause == "PDP-ACT" and "no answer" in d.what]
    assert "no answer to AT+QIACT" in silent.what and silent.reaction is Reaction.EMERGENCY
    assert "PWR-EMERG" in clauses(proc.decisions) and proc.reboots == 1
    assert any(t.clause == "PWR-EMERG" for t in bench.timings)


def test_pdp_lost_deactivates_and_resends(bench):
    proc = bench.process()
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    proc.send(DATA[:2000])
    proc.flush()
    bench.sim.inject("pdp_deact")  # +PDP DEACT comes before the answer to the next command
    proc.send(DATA[2000:])
    proc.close()
    path = clauses(proc.decisions)
    assert path[path.index("PDP-LOST") :][:4] == ["PDP-LOST", "PDP-DEACT", "PDP-ACT", "OPEN-TCP"]
    bench.delivered(proc.last, DATA, mark)
    assert len(proc.last.links) == 2


def test_a_context_dropped_while_idle_is_met_at_the_next_open(bench):
    proc = bench.process()
    proc.activate()
    bench.sim.inject("pdp_deact")
    proc.open("TCP", bench.host, bench.port)
    path = clauses(proc.decisions)
    assert path[path.index("PDP-LOST") :] == ["PDP-LOST", "PDP-DEACT", "PDP-ACT", "OPEN-TCP"]
    proc.close()


def test_qideact_without_an_answer_reboots(bench):
    proc = bench.process()
    proc.activate()
    bench.sim.inject("qideact_hang")
    proc.deactivate()
    assert any("no answer to AT+QIDEACT" in w for w in whats(proc.decisions, "PDP-DEACT"))
    assert proc.reboots == 1 and not proc.context_up


# -- OPEN ---------------------------------------------------------------------------------------
def test_connect_fail_from_a_refusing_peer_deactivates_and_retries(bench):
    def lift(d: Decision) -> None:
        if d.clause == "OPEN-FAIL":
            bench.peer.reset()

    proc = bench.process(observer=lift)
    bench.peer.set_mode("refuse")
    proc.open("TCP", bench.host, bench.port)
    fail = whats(proc.decisions, "OPEN-FAIL")
    assert fail == ["CONNECT FAIL in IP CLOSE: QIDEACT"]
    path = clauses(proc.decisions)
    assert path[path.index("OPEN-FAIL") :][:4] == ["OPEN-FAIL", "PDP-DEACT", "PDP-ACT", "OPEN-TCP"]
    proc.close()


def test_connect_fail_in_tcp_connecting_closes_and_keeps_the_context(bench):
    proc = bench.process()
    proc.activate()
    bench.sim.inject("peer_unreachable")
    proc.open("TCP", bench.host, bench.port)
    assert whats(proc.decisions, "OPEN-FAIL") == [
        "CONNECT FAIL in TCP CONNECTING: QICLOSE, the context stays up"
    ]
    assert "PDP-DEACT" not in clauses(proc.decisions)
    proc.close()


def test_no_answer_to_qiopen_deactivates_and_tries_again(bench):
    proc = bench.process()
    proc.activate()
    bench.sim.inject("qiopen_hang")
    proc.open("TCP", bench.host, bench.port)
    path = clauses(proc.decisions)
    i = path.index("OPEN-RETRY")
    assert path[i:][:4] == ["OPEN-RETRY", "PDP-DEACT", "PDP-ACT", "OPEN-TCP"]
    proc.close()


def test_five_failures_then_rounds_end_in_emerg_off(bench):
    proc = bench.process()
    proc.activate()
    bench.sim.inject("qiopen_hang", persistent=True, seconds=1.0)  # CONNECT FAIL after 1 s

    def heal(d: Decision) -> None:
        if d.clause == "PWR-EMERG":
            bench.sim.clear_faults()

    proc.observer = heal
    proc.open("TCP", bench.host, bench.port)
    retry = whats(proc.decisions, "OPEN-RETRY")
    assert retry[0] == f"{limits.QIOPEN_FAILURES} failures in a row: QIDEACT, try again"
    assert retry[-1].endswith(": EMERG_OFF") and proc.reboots == 1
    proc.close()


def test_error_with_qimux_1_sets_it_back_to_0(bench):
    proc = bench.process()
    proc.bring_up()
    assert bench.modem.qimux(True)  # allowed in IP INITIAL
    proc.open("TCP", bench.host, bench.port)
    assert whats(proc.decisions, "OPEN-ERR-MUX") == ["ERROR with QIMUX 1: QIMUX=0 and retry"]
    assert not bench.modem.qimux() and proc.connected
    proc.close()


def test_error_in_tcp_connecting_closes_first(bench):
    proc = bench.process()
    proc.activate()
    bench.sim.inject("qiopen_hang")
    assert bench.modem.qiopen("TCP", bench.host, bench.port, timeout=2.0).timed_out
    proc.open("TCP", bench.host, bench.port)
    assert whats(proc.decisions, "OPEN-ERR-STATE") == [
        "ERROR in TCP CONNECTING: QICLOSE, the context stays up"
    ]
    proc.close()


def test_already_connect_closes_the_old_session(bench):
    proc = bench.process()
    proc.activate()
    assert bench.modem.qiopen("TCP", bench.host, bench.port).connected
    proc.open("TCP", bench.host, bench.port)
    assert clauses(proc.decisions)[-2:] == ["OPEN-ALREADY", "OPEN-TCP"]
    proc.close()


def test_a_malformed_open_is_a_process_error(bench):
    proc = bench.process()
    with pytest.raises(ProcessError) as e:
        proc.open("TCP", "peer.example", bench.port)  # a name without AT+QIDNSIP=1
    assert e.value.clause == "OPEN-ERR-FORMAT" and "QIDNSIP" in str(e.value)


# -- SEND and KEEP ------------------------------------------------------------------------------
def test_a_held_peer_makes_the_sender_wait_then_go_on(bench):
    def release(d: Decision) -> None:
        if d.clause == "SEND-WINDOW" and "poll QISACK" in d.what:
            [conn] = [c for c in bench.peer.stats() if c.ended == "still open"]
            bench.peer.release(conn)

    proc = bench.process(observer=release)
    bench.peer.set_mode("hold", proto="tcp", count=1)
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    proc.send(DATA * 2)
    proc.close()
    window = whats(proc.decisions, "SEND-WINDOW")
    assert window[0].startswith("nAcked") and "go on" in window[1]
    bench.delivered(proc.last, DATA * 2, mark)
    assert len(proc.last.links) == 1


def test_a_gateway_drop_breaks_the_window_and_the_tail_is_resent(bench):
    proc = bench.process()
    data = DATA * 2
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    proc.send(data[:1000])
    proc.flush()
    bench.sim.inject("nat_drop", idle=5.0)
    proc.send(data[1000:1100])  # re-arms the gateway's idle timer
    proc.flush()
    bench.clock.sleep(10.0)  # idle: the gateway forgets the port
    proc.send(data[1100:])  # nAcked passes 3000 and stays there
    proc.close()
    window = whats(proc.decisions, "SEND-WINDOW")
    assert window[0].startswith("nAcked") and "the connection is broken" in window[1]
    assert window[2] == f"reopen and resend {3 * limits.SEND_MAX} unacknowledged"
    bench.delivered(proc.last, data, mark)
    assert [link.ended for link in proc.last.links] == ["broken", "closed"]


def test_no_ack_in_90_s_reopens_and_resends(bench):
    proc = bench.process()
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    bench.sim.inject("nat_drop", idle=5.0)
    proc.send(b"x")  # arms the timer
    proc.flush()
    bench.clock.sleep(10.0)
    proc.send(b"lost unless resent")
    proc.close()
    assert any("no ACK within" in w for w in whats(proc.decisions, "SEND-ACK"))
    bench.delivered(proc.last, b"xlost unless resent", mark)


def test_keep_check_before_a_heartbeat(bench):
    proc = bench.process()
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    proc.send(b"data")
    proc.flush()
    bench.sim.inject("nat_drop", idle=5.0)
    proc.heartbeat()  # the check passes; this heartbeat re-arms the idle timer
    proc.flush()
    bench.clock.sleep(10.0)
    proc.heartbeat()  # passes again: nothing is unacknowledged; this one is held
    proc.heartbeat()  # now the last heartbeat is unacknowledged: 24 polls, then reopen
    proc.close()
    keep = whats(proc.decisions, "KEEP-CHECK")
    assert keep[:2] == ["last data acknowledged (poll 1)"] * 2
    assert any("after 24 polls" in w for w in keep)
    bench.delivered(proc.last, b"data" + HEARTBEAT_DATA * 3, mark)


def test_a_silent_module_is_restarted_and_nothing_is_lost(bench):
    proc = bench.process()
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    proc.send(DATA[:3000])
    proc.flush()
    bench.sim.inject("silent")
    proc.send(DATA[3000:])
    proc.close()
    assert "PWR-EMERG" in clauses(proc.decisions) and proc.reboots == 1
    bench.delivered(proc.last, DATA, mark)


def test_a_peer_close_ends_the_session_cleanly(bench):
    proc = bench.process()
    mark = bench.peer.mark()
    proc.open("TCP", bench.host, bench.port)
    proc.send(b"bye")
    proc.flush()
    [conn] = [c for c in bench.peer.stats() if c.id > mark]
    bench.peer.set_mode("close", conn=conn)
    bench.channel.wait_urc("CLOSED", 30)
    proc.close()
    assert "the session had already ended" in whats(proc.decisions, "CLOSE")[-1]
    bench.delivered(proc.last, b"bye", mark)


# -- INIT and PWR -------------------------------------------------------------------------------
def test_no_sim_reboots(bench):
    bench.sim.inject("no_sim")
    proc = bench.process()
    proc.bring_up()
    assert "reboot" in whats(proc.decisions, "INIT-CPIN")[0] and proc.reboots == 1
    assert whats(proc.decisions, "INIT-CPIN")[1].startswith("SIM ready")


def test_registration_denied_reboots(bench):
    bench.sim.inject("reg_denied")
    proc = bench.process()
    proc.bring_up()
    assert "reboot" in whats(proc.decisions, "INIT-CREG")[0] and proc.reboots == 1


def test_slow_gprs_registration_goes_on(mutant_bench):
    bench = mutant_bench("cgreg_after_40s")
    proc = bench.process()
    proc.bring_up()
    assert whats(proc.decisions, "INIT-CGREG")[0].endswith("go on") and proc.reboots == 0


def test_no_gprs_attach_reboots(bench):
    bench.sim.inject("cgatt_fail")
    proc = bench.process()
    proc.bring_up()
    assert "reboot" in whats(proc.decisions, "INIT-CGATT")[0] and proc.reboots == 1


def test_a_reboot_streak_waits_as_the_back_off_says(bench):
    proc = bench.process()
    proc.bring_up()
    proc.recover("first")
    proc.recover("second")
    backoff = whats(proc.decisions, "PWR-BACKOFF")
    assert backoff[0].endswith("at once") and "wait" in backoff[1]
    assert [r.reason for r in bench.backoff.history()] == ["first", "second"]


def test_reboots_in_a_row_end_in_a_process_error(bench):
    proc = bench.process(max_reboots=1)
    proc.bring_up()
    bench.sim.inject("qiact_fail", persistent=True)
    with pytest.raises(ProcessError) as e:
        proc.activate()
    assert e.value.clause == "PDP-ACT-RETRY" and "1 reboots in a row" in str(e.value)


def test_without_power_a_reboot_is_a_rig_error_not_the_modules(bench):
    bench.sim.power_on_now()
    proc = bench.process(power=False)
    proc.bring_up()
    bench.sim.inject("silent")
    with pytest.raises(ProcessRigError, match="no Power is wired") as e:
        proc.activate()
    assert not isinstance(e.value, ProcessError) and e.value.clause == "AT-TIMEOUT"
    assert proc.phase is Phase.OFF  # what the module is now is not known


def test_backoff_given_twice_is_refused(bench):
    bench.power.backoff = bench.backoff
    with pytest.raises(ValueError, match="not both"):
        bench.process()
