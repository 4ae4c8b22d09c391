"""Line speed: garbage at the wrong rate, autobaud on the first AT, stored rates, pacing."""

from __future__ import annotations

import json
import os
import termios
import tty

from harness.sim import Profile
from harness.sim.baud import Autobaud, garble, host_rate

QUICK = {"lat_uart_ready": (0.1, 0.2), "lat_sim_ready": (0.2, 0.3), "lat_call_ready": (0.3, 0.4)}


def test_garble_is_deterministic_and_never_text():
    a = garble(b"\r\nOK\r\n", 115200, 9600)
    assert a == garble(b"\r\nOK\r\n", 115200, 9600)
    assert a != garble(b"\r\nOK\r\n", 57600, 9600)
    assert all(b >= 0x80 for b in garble(b"AT\r" * 100, 9600, 115200))
    assert len(garble(b"x" * 120, 115200, 9600)) == 10  # fewer bytes at the slower host
    assert garble(b"", 9600, 115200) == b""


def test_autobaud_counts_at_or_at_lowercase_only():
    auto = Autobaud(1)
    assert auto.feed(b"xyz", 9600) is None
    assert auto.feed(b"At\r", 9600) is None  # only "AT" or "at" (PROTOCOL §2)
    assert auto.feed(b"junk at+cpin?\r", 9600) == b"at+cpin?\r"


def test_autobaud_across_reads_and_rate_changes():
    auto = Autobaud(2)
    assert auto.feed(b"AT\r", 9600) is None
    assert auto.feed(b"A", 115200) is None  # new rate: counting starts again
    assert auto.feed(b"T\r", 115200) is None
    assert auto.feed(b"A", 115200) is None
    assert auto.feed(b"T\r", 115200) == b"AT\r"  # the "A" of the previous read is kept


def test_host_rate_is_visible_on_the_master():
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[4] = attrs[5] = termios.B9600
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        assert host_rate(master) == 9600
    finally:
        os.close(master)
        os.close(slave)
    assert host_rate(-1) == 0


def _store_rate(path, rate: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "sim-settings.json").write_text(json.dumps({"ipr": rate}))


def test_fixed_rate_and_host_at_another_speed_gives_nothing_useful(make_rig, tmp_path):
    _store_rate(tmp_path / "fixed", 115200)
    rig = make_rig(Profile(**QUICK), state_dir=tmp_path / "fixed", baud=9600)
    rig.sim.power_on_now()
    rig.clock.sleep(1.0)
    for _ in range(5):
        rig.host.write("AT\r")
        rig.clock.sleep(0.5)
    assert rig.until(lambda: len(rig.host.buf) > 0, 5), "it talks (RDY, answers) at its own rate"
    rig.clock.sleep(0.5)
    assert all(b >= 0x80 for b in rig.host.collect(0.5))  # garbage: no OK, no RDY
    assert rig.sim.status().rate == 115200
    rig.host.set_baud(115200)
    assert rig.host.at("AT") == b"AT\r\r\nOK\r\n"


def test_fixed_rate_mismatch_can_be_silence(make_rig, tmp_path):
    _store_rate(tmp_path / "quiet", 115200)
    rig = make_rig(
        Profile(baud_mismatch="silence", **QUICK), state_dir=tmp_path / "quiet", baud=9600
    )
    rig.sim.power_on_now()
    rig.clock.sleep(1.0)
    rig.host.write("AT\r")
    assert rig.host.collect(1.0) == b""


def test_fixed_rate_sends_rdy_at_boot(make_rig, tmp_path):
    _store_rate(tmp_path / "rdy", 115200)
    rig = make_rig(Profile(**QUICK), state_dir=tmp_path / "rdy")
    rig.sim.power_on_now()
    assert rig.host.expect(b"Call Ready\r\n", 5).startswith(b"\r\nRDY\r\n\r\n+CFUN: 1\r\n")


def test_autobaud_sends_nothing_before_the_first_at(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.sim.power_on_now()
    assert rig.host.collect(2.0) == b""  # RDY, +CFUN: 1, +CPIN: READY, Call Ready all lost
    assert rig.sim.status().rate is None
    assert rig.host.at("AT") == b"AT\r\r\nOK\r\n"
    assert rig.host.collect(1.0) == b""  # and they do not come later either
    assert rig.sim.status().rate == 115200


def test_autobaud_locks_at_the_hosts_rate(make_rig):
    rig = make_rig(Profile(**QUICK), baud=9600)
    rig.sim.power_on_now()
    assert rig.host.sync() > 0
    assert rig.sim.status().rate == 9600
    rig.host.set_baud(115200)
    rig.host.write("AT\r")
    assert b"OK" not in rig.host.collect(1.0)


def test_early_urcs_can_be_replayed_after_sync(make_rig):
    rig = make_rig(Profile(autobaud_early_urcs="replay", **QUICK))
    rig.sim.power_on_now()
    rig.clock.sleep(1.0)
    rig.host.write("AT\r")
    assert b"RDY" in rig.host.expect(b"OK\r\n", 3)


def test_paced_output_takes_line_time(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(Profile(pace_output=True, **QUICK), scale=0.02, baud=9600)
    rig.boot()
    rig.activate()
    rig.open("TCP", "127.0.0.1", peer.port)
    assert peer.wait_accepted(rig.clock)
    rig.host.collect(0.5)
    start = len(rig.host.buf)
    payload = bytes(range(32, 127)) * 10 + b"<END>"  # 955 bytes: about 1 s at 9600 baud
    peer.send(payload)
    assert rig.host.expect(b"<END>", 10).endswith(payload)
    stamps = [t for offset, t in rig.host.stamps if offset >= start]
    first, last = stamps[0], stamps[-1]
    # paced at rate/10 bytes per module second: it cannot all arrive sooner than that
    assert rig.clock.module_between(first, last) >= 0.8 * len(payload) / 960


def test_ipr_switches_the_rate_after_its_ok(make_rig):
    rig = make_rig(Profile(**QUICK))
    rig.boot(sync=False)
    assert rig.host.sync() > 0
    assert rig.host.at("AT+IPR=9600") == b"AT+IPR=9600\r\r\nOK\r\n"  # still at the old rate
    rig.host.write("AT\r")
    assert rig.host.collect(1.0) == b""  # at 9600 now: a 115200 "AT" means nothing to it
    rig.host.set_baud(9600)
    assert rig.host.at("AT") == b"AT\r\r\nOK\r\n"
    assert rig.sim.status().rate == 9600 and rig.sim.status().stored_ipr == 0
