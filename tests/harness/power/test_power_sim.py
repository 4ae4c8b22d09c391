"""Power, INIT-SYNC and identity end to end: the sim rig's lines drive the real simulator."""

from __future__ import annotations

import pytest

from harness import limits
from harness.at import UrcKind
from harness.limits import Verdict
from harness.modem import SyncError, identify, sync
from harness.power import PowerError
from harness.rig import load_rig


def status_rises(bench, within: float) -> bool:
    """Wait up to `within` module seconds for STATUS (pin 27) to go high."""
    deadline = bench.clock.deadline(within)
    while not deadline.expired:
        if bench.pins.level(bench.rig.gpio.status.pin):
            return True
        bench.clock.sleep(0.05)
    return bench.pins.level(bench.rig.gpio.status.pin)


def test_the_sim_boots_only_on_a_long_enough_press(bench):
    lines = bench.power.lines
    lines.supply.set_active(True)
    lines.pwrkey.set_active(True)
    bench.clock.sleep(limits.PWRKEY_ON_MIN / 2)  # half the hold the manual asks
    lines.pwrkey.set_active(False)
    assert not status_rises(bench, limits.PWRKEY_ON.seconds)
    before = bench.sim.status()
    assert not before.powered

    result = bench.power.power_on()
    assert result.evidence == "STATUS"
    st = bench.sim.status()
    assert st.powered and st.boot_count == before.boot_count + 1
    press = next(t for t in bench.timings if t.command == "PWRKEY on")
    assert press.clause == "PWR-ON" and press.verdict is not Verdict.FAIL
    # The step judges the module (STATUS rising, by the last read that saw it low); the pin
    # history says when the press began and STATUS rose: only after the hold the manual asks.
    pressed = bench.pins.history(bench.rig.gpio.pwrkey.pin)[-2][0]
    rose = bench.pins.history(bench.rig.gpio.status.pin)[-1][0]
    assert bench.clock.module_between(pressed, rose) >= limits.PWRKEY_ON_MIN
    assert press.measured < limits.PWRKEY_ON.seconds
    assert bench.channel.command("AT").ok  # autobaud locks on the first AT


def test_wrong_pwrkey_polarity_really_fails_to_boot(bench_factory, tmp_path):
    text = load_rig("sim").file.read_text()
    wrong = text.replace(
        'pwrkey    = { pin = 4,  polarity = "active-high" }',
        'pwrkey    = { pin = 4,  polarity = "active-low" }',
    )
    assert wrong != text
    (tmp_path / "rigs").mkdir()
    path = tmp_path / "rigs" / "sim-wrong.toml"
    path.write_text(wrong)
    bench = bench_factory(load_rig(path))
    with pytest.raises(PowerError, match="STATUS stayed low"):
        bench.power.power_on()
    assert not bench.sim.status().powered


def test_power_off_end_to_end(bench):
    bench.power.power_on()
    bench.timings.clear()
    result = bench.power.power_off()
    assert result.evidence in ("NORMAL POWER DOWN", "STATUS low")
    assert not bench.sim.status().powered
    assert [t.command for t in bench.timings] == [
        "PWRKEY off pulse",
        "power down after PWRKEY",
        "supply cut after PWRKEY",
    ]
    pulse, down, cut = bench.timings
    assert all(t.clause == "PWR-OFF" for t in bench.timings)
    assert pulse.verdict is Verdict.PASS and cut.verdict is Verdict.PASS  # the harness's own
    # the module's logout (2–12 s in the simulator) is judged, whatever it was
    assert down.verdict is limits.POWER_CUT_AFTER.judge(down.measured)
    assert cut.measured >= limits.POWER_CUT_AFTER.seconds >= down.measured - 0.5
    supply = bench.rig.gpio.supply.pin
    assert bench.pins.history(supply)[-1][1] is False


def test_normal_power_down_urc_once_synchronised(bench):
    bench.power.power_on()
    sync(bench.channel, 115200, bench.clock)
    bench.power.power_off()
    urc = bench.channel.wait_urc(UrcKind.POWER_DOWN, 0)  # it was seen, and stays queued
    assert urc.text == "NORMAL POWER DOWN"


def test_emergency_off_end_to_end(bench):
    bench.power.power_on()
    result = bench.power.emergency_off()
    assert result.evidence == "STATUS low"
    assert not bench.sim.status().powered
    assert bench.timings[-1].clause == "PWR-EMERG"


def test_reboot_end_to_end_then_rdy_once_the_rate_is_fixed(bench):
    bench.power.power_on()
    assert bench.power.power_on().evidence == "already on"  # never pressed twice
    sync(bench.channel, 115200, bench.clock)  # autobaud → AT+IPR=115200&W
    bench.timings.clear()
    before = bench.sim.status().boot_count
    result = bench.power.reboot("e2e")
    assert bench.sim.status().boot_count == before + 1
    assert [t.command for t in result.timings][-1] == "RDY after PWRKEY"  # fixed rate: RDY
    assert bench.channel.command("AT").ok


def test_safe_state_leaves_the_sim_off_and_the_pins_free(bench):
    with pytest.raises(RuntimeError), bench.power.safe_state():
        bench.power.power_on()
        raise RuntimeError("a test failed mid-way")
    assert not bench.sim.status().powered
    assert bench.pins.claimed() == set()


# -- INIT-SYNC against the simulator ------------------------------------------------------------
def test_sync_in_autobaud(bench):
    bench.power.power_on()
    assert bench.sim.status().rate is None  # not locked yet
    result = sync(bench.channel, 115200, bench.clock, record=bench.timings.append)
    st = bench.sim.status()
    assert st.ipr == 115200 and st.stored_ipr == 115200
    assert result.found_at is None and result.tries >= 1
    assert [t.clause for t in bench.timings][-2:] == ["INIT-SYNC", "INIT-IPR"]


def test_sync_finds_a_module_fixed_at_another_rate(bench_factory):
    rig = load_rig("sim")
    bench = bench_factory(stored={"ipr": 9600})
    bench.power.power_on()
    result = sync(bench.channel, 115200, bench.clock, search=rig.serial.search_rates)
    assert result.found_at == 9600 and result.rate == 115200
    assert 9600 in result.rates_tried
    st = bench.sim.status()
    assert st.ipr == 115200 and st.stored_ipr == 115200
    assert bench.channel.transport.baudrate == 115200
    assert bench.channel.command("AT").ok


def test_sync_with_the_module_off_names_port_and_rates(bench):
    with pytest.raises(SyncError) as info:
        sync(bench.channel, 115200, bench.clock, search=(57600, 9600))
    text = str(info.value)
    assert bench.sim.port in text and "57600, 9600" in text


# -- identity ---------------------------------------------------------------------------------
def test_identify_the_simulated_m95(bench):
    bench.power.power_on()
    sync(bench.channel, 115200, bench.clock)
    ident = identify(bench.channel)
    p = bench.sim.profile
    assert (ident.model, ident.revision, ident.firmware) == (p.model, p.revision, p.firmware)
    assert ident.imei == p.imei and ident.iccid == p.iccid
    assert ident.as_dict()["imei"].endswith(p.imei[-3:])
    assert ident.missing == ()
