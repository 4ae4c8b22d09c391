"""The firmware's line editor and command runner: echo, backspace, A/, input during a command,
lines without AT, long lines."""

from __future__ import annotations

from harness.clock import stamp
from harness.sim import Profile

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}


def booted(make_rig, **changes):
    rig = make_rig(Profile(**QUICK, **changes))
    rig.boot()
    return rig


def test_input_before_the_uart_is_ready_is_ignored(make_rig):
    rig = make_rig(Profile(**{**QUICK, "lat_uart_ready": (5.0, 5.0)}))
    rig.sim.power_on_now()
    rig.host.write("AT\r")
    assert rig.host.collect(1.0) == b""
    assert rig.host.sync() > 1  # answered only once the UART is up


def test_backspace_edits_the_command_line(make_rig):
    rig = booted(make_rig)
    assert rig.host.at("AT+CSX\x08Q") == b"AT+CSX\x08Q\r\r\n+CSQ: 25,0\r\n\r\nOK\r\n"


def test_a_slash_repeats_the_last_line(make_rig):
    rig = booted(make_rig)
    rig.host.at("AT+CGMM")
    rig.host.write("A/")
    assert rig.host.expect(b"OK\r\n") == b"A/\r\nQuectel_M95\r\n\r\nOK\r\n"


def test_text_without_at_is_ignored_and_lf_is_harmless(make_rig):
    rig = booted(make_rig)
    rig.host.write("+++\r")
    assert rig.host.expect(b"+++\r") == b"+++\r"
    assert rig.host.collect(1.0) == b""  # echoed, never answered (TRANS-CLOSED)
    assert rig.host.at("\nAT") == b"\nAT\r\r\nOK\r\n"
    assert rig.host.at("xyzAT") == b"xyzAT\r\r\nOK\r\n"


def test_lowercase_at(make_rig):
    rig = booted(make_rig)
    assert rig.host.at("at+cgmm") == b"at+cgmm\r\r\nQuectel_M95\r\n\r\nOK\r\n"


def test_a_line_typed_during_a_command_waits_its_turn(make_rig):
    rig = booted(make_rig, lat_qiregapp=(3.0, 3.0))
    rig.host.write("AT+QIREGAPP\rAT+CGMM\r")
    got = rig.host.expect(b"Quectel_M95\r\n\r\nOK\r\n")
    assert got == b"AT+QIREGAPP\r\r\nOK\r\nAT+CGMM\r\r\nQuectel_M95\r\n\r\nOK\r\n"


def test_input_during_a_command_can_be_dropped(make_rig):
    rig = booted(make_rig, lat_qiregapp=(10.0, 10.0), input_while_busy="drop")
    rig.host.write("AT+QIREGAPP\r")
    rig.clock.sleep(0.5)
    rig.host.write("AT+CGMM\r")
    assert rig.host.expect(b"OK\r\n", 12) == b"AT+QIREGAPP\r\r\nOK\r\n"
    assert rig.host.collect(1.0) == b""  # AT+CGMM came while busy: dropped


def test_an_overlong_line_is_an_error(make_rig):
    rig = booted(make_rig, at_line_max=40)
    assert rig.host.at("AT" + "E1" * 30).endswith(b"\r\nERROR\r\n")


def test_status_snapshot(make_rig, peer):
    rig = booted(make_rig)
    rig.activate()
    rig.open("TCP", "127.0.0.1", peer.port)
    status = rig.sim.status()
    assert (status.powered, status.mode, status.ip_state, status.rate) == (
        True,
        "command",
        "CONNECT OK",
        115200,
    )
    (link,) = status.links
    assert (link.proto, link.remote, link.state) == ("TCP", f"127.0.0.1:{peer.port}", "CONNECTED")


def test_qideact_during_a_connect_ends_it_without_a_late_connect_fail(make_rig, peer):
    rig = make_rig(Profile(**QUICK), scale=0.002)
    rig.boot()
    rig.activate()
    rig.sim.inject("qiopen_hang", seconds=150.0)  # CONNECT FAIL would come 150 s after OK
    rig.open("TCP", "127.0.0.1", peer.port, expect=b"")
    assert rig.host.at("AT+QIDEACT").endswith(b"\r\nDEACT OK\r\n")
    assert rig.qistat() == "IP INITIAL"
    assert b"CONNECT FAIL" not in rig.host.collect(200.0)  # the connect died with the context


def test_finals_carry_the_simulators_own_stamps(make_rig):
    """When the line was read and when its final left: never before the host sent it, never
    after the host had it, and held at least the command latency after the read."""
    rig = booted(make_rig)
    sent = stamp()
    rig.host.at("AT+CSQ")
    arrived = rig.host.stamps[-1][1]  # the host's read that completed the final
    final = rig.sim.finals()[-1]
    assert (final.line, final.final) == ("AT+CSQ", "OK")
    assert sent <= final.read_ns <= final.written_ns <= arrived
    least = rig.clock.to_wall(Profile().lat_plain[0]) * 1e9
    assert final.written_ns - final.read_ns >= least
