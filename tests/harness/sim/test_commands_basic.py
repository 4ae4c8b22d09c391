"""Basic and GSM commands: framing with echo and ATV0, CMEE, identity, the boot noise of a busy
SIM, registration URCs, CGATT, CFUN, QIURC (PROTOCOL §0, §2, §3)."""

from __future__ import annotations

import re

import pytest

from harness.sim import Profile

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}


@pytest.fixture
def up(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.boot()
    return rig


def test_echo_framing(up):
    assert up.host.at("AT") == b"AT\r\r\nOK\r\n"
    assert up.host.at("ATE0") == b"ATE0\r\r\nOK\r\n"  # the echo of ATE0 itself still comes
    up.host.echo = False
    assert up.host.at("AT") == b"\r\nOK\r\n"
    assert up.host.at("ATE1") == b"\r\nOK\r\n"


def test_numeric_results(up):
    for command, answer in (
        ("ATV0", b"ATV0\r0\r"),
        ("AT+FOO", b"AT+FOO\r4\r"),
        ("AT+CSQ", b"AT+CSQ\r+CSQ: 25,0\r\n0\r"),
    ):
        up.host.write(command + "\r")
        assert up.host.expect(answer) == answer
    assert up.host.collect(0.5) == b""


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("ATI", b"\r\nQuectel_Ltd\r\nQuectel_M95\r\nRevision: M95FAR02A08\r\n\r\nOK\r\n"),
        ("AT+GMR", b"\r\nRevision: M95FAR02A08\r\n\r\nOK\r\n"),
        ("AT+QGMR", b"\r\nM95FAR03A04\r\n\r\nOK\r\n"),
        ("AT+CGMM", b"\r\nQuectel_M95\r\n\r\nOK\r\n"),
        ("AT+GSN", b"\r\n861234050012345\r\n\r\nOK\r\n"),
        ("AT+QCCID", b"\r\n89860012345678901234\r\n\r\nOK\r\n"),
        ("AT+CSQ", b"\r\n+CSQ: 25,0\r\n\r\nOK\r\n"),
        ("AT+CFUN?", b"\r\n+CFUN: 1\r\n\r\nOK\r\n"),
        ("AT+QINISTAT", b"\r\n+QINISTAT: 3\r\n\r\nOK\r\n"),
        ("AT+CGATT?", b"\r\n+CGATT: 1\r\n\r\nOK\r\n"),
        ("AT+CMEE?", b"\r\n+CMEE: 1\r\n\r\nOK\r\n"),
        ("AT+IPR?", b"\r\n+IPR: 0\r\n\r\nOK\r\n"),
        ("AT+QIURC?", b"\r\n+QIURC: 1\r\n\r\nOK\r\n"),
        ("AT+CREG=?", b"\r\n+CREG: (0-2)\r\n\r\nOK\r\n"),
        ("AT+NOSUCH", b"\r\nERROR\r\n"),
        ("ATE7", b"\r\nERROR\r\n"),
        ("AT+IPR=1234", b"\r\nERROR\r\n"),
        ("AT+CPIN=1234", b"\r\n+CME ERROR: 3\r\n"),
    ],
)
def test_answers(up, command, answer):
    assert up.host.at(command) == command.encode() + b"\r" + answer


def test_gmr_without_prefix(make_rig):
    rig = make_rig(Profile(gmr_prefix=False, **QUICK))
    rig.boot()
    assert rig.host.at("AT+GMR").endswith(b"\r\nM95FAR02A08\r\n\r\nOK\r\n")


def test_concatenated_commands_answer_once(up):
    assert up.host.at("AT+CSQ;+CGMM") == (
        b"AT+CSQ;+CGMM\r\r\n+CSQ: 25,0\r\n\r\nQuectel_M95\r\n\r\nOK\r\n"
    )
    assert (
        up.host.at("AT+CSQ;+NOPE;+CGMM") == b"AT+CSQ;+NOPE;+CGMM\r\r\n+CSQ: 25,0\r\n\r\nERROR\r\n"
    )


@pytest.mark.parametrize(
    ("level", "error"), [(0, b"ERROR"), (1, b"+CME ERROR: 14"), (2, b"+CME ERROR: SIM busy")]
)
def test_sim_busy_boot_noise_per_cmee(make_rig, tmp_path, level, error):
    rig = make_rig(Profile(**QUICK), state_dir=tmp_path / f"cmee{level}")
    rig.boot()
    rig.host.at(f"AT+CMEE={level}&W")
    rig.sim.power_off_now()
    rig.sim.inject("sim_busy", seconds=10.0)
    rig.sim.power_on_now()
    assert rig.host.sync() > 0
    assert rig.host.at("AT+CPIN?").endswith(b"\r\n" + error + b"\r\n")
    assert rig.until(lambda: b"READY" in rig.host.at("AT+CPIN?"), 10)


def test_no_sim(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.sim.inject("no_sim")
    rig.sim.power_on_now()
    assert rig.host.sync() > 0
    rig.clock.sleep(1.0)
    assert rig.host.at("AT+CPIN?").endswith(b"\r\n+CME ERROR: 10\r\n")
    assert rig.host.at("AT+CREG?").endswith(b"+CREG: 0,0\r\n\r\nOK\r\n")
    assert rig.host.at("AT+QINISTAT").endswith(b"+QINISTAT: 0\r\n\r\nOK\r\n")


def test_registration_urcs(make_rig):
    rig = make_rig(Profile(**QUICK), scale=0.02)
    rig.sim.inject("reg_slow", seconds=8.0)
    rig.sim.power_on_now()
    assert rig.host.sync() > 0
    assert rig.host.at("AT+CREG=1").endswith(b"OK\r\n")
    assert rig.host.at("AT+CGREG=2").endswith(b"OK\r\n")
    assert rig.host.expect(b"\r\n+CREG: 1\r\n", 20)
    assert rig.host.expect(b'\r\n+CGREG: 1,"2842","0426"\r\n', 10)
    assert rig.host.at("AT+CGREG?").endswith(b'+CGREG: 2,1,"2842","0426"\r\n\r\nOK\r\n')


def test_registration_denied(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.sim.inject("reg_denied")
    rig.sim.power_on_now()
    assert rig.host.sync() > 0
    assert rig.until(lambda: b"+CREG: 0,3" in rig.host.at("AT+CREG?"), 10)


def test_cgatt(up):
    assert up.host.at("AT+CGATT=0").endswith(b"\r\nOK\r\n")
    assert up.host.at("AT+CGATT?").endswith(b"+CGATT: 0\r\n\r\nOK\r\n")
    assert up.host.at("AT+QIREGAPP").endswith(b"\r\nOK\r\n")
    assert up.host.at("AT+QIACT").endswith(b"\r\nERROR\r\n")  # not attached
    assert up.host.at("AT+CGATT=1").endswith(b"\r\nOK\r\n")
    up.sim.inject("cgatt_fail", persistent=True)
    up.host.at("AT+CGATT=0")
    assert up.host.at("AT+CGATT=1").endswith(b"\r\n+CME ERROR: 100\r\n")


def test_cfun(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.sim.power_on_now()
    rig.clock.sleep(0.15)
    assert rig.host.sync() > 0
    rig.host.at("AT+CREG=1")
    assert rig.until(lambda: b"+CREG: 1,1" in rig.host.at("AT+CREG?"), 10)
    assert rig.host.at("AT+CFUN=0").endswith(b"\r\n+CREG: 0\r\n\r\nOK\r\n")
    assert rig.host.at("AT+CFUN=1").endswith(b"\r\nOK\r\n")
    assert rig.host.expect(b"\r\n+CREG: 1\r\n", 10)
    assert rig.host.at("AT+CFUN=9").endswith(b"\r\nERROR\r\n")
    rig.host.at("AT+CFUN=1,1")
    assert rig.until(lambda: rig.sim.status().boot_count == 2, 5)


def test_cfun_4_waits_for_the_cpin_urc(make_rig):
    rig = make_rig(Profile(**{**QUICK, "lat_sim_ready": (6.0, 6.0)}))
    rig.sim.power_on_now()
    assert rig.host.sync() > 0
    assert rig.host.at("AT+CFUN=4").endswith(b"\r\nERROR\r\n")
    rig.host.expect(b"+CPIN: READY\r\n", 10)
    assert rig.host.at("AT+CFUN=4").endswith(b"\r\nOK\r\n")


def test_qiurc_0_stored_suppresses_call_ready(make_rig, tmp_path):
    rig = make_rig(Profile(**QUICK), state_dir=tmp_path / "urc")
    rig.boot()
    rig.host.at("AT+IPR=115200;+QIURC=0&W")
    rig.sim.power_off_now()
    rig.sim.power_on_now()
    boot = rig.host.expect(b"+CPIN: READY\r\n", 5)
    assert boot.startswith(b"\r\nRDY\r\n")
    assert b"Call Ready" not in rig.host.collect(2.0)


def test_sms_ready_is_a_profile_setting(make_rig, tmp_path):
    state = tmp_path / "sms"
    state.mkdir()
    (state / "sim-settings.json").write_text('{"ipr": 115200}')
    rig = make_rig(Profile(sms_ready=True, **QUICK), state_dir=state)
    rig.sim.power_on_now()
    assert re.search(rb"Call Ready\r\n\r\nSMS Ready\r\n", rig.host.expect(b"SMS Ready\r\n", 5))
