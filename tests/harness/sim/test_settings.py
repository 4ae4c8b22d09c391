"""AT&W settings: a JSON file in the state directory that survives reboots and restarts."""

from __future__ import annotations

import pytest

from harness.sim import Profile
from harness.sim.settings import SettingsError, StoredSettings

QUICK = {"lat_uart_ready": (0.1, 0.2), "lat_sim_ready": (0.2, 0.3), "lat_call_ready": (0.3, 0.4)}


def test_ipr_with_w_survives_reboot_and_restart(make_rig, tmp_path):
    state = tmp_path / "state"
    rig = make_rig(Profile(**QUICK), state_dir=state)
    rig.boot(sync=False)
    assert rig.host.sync() > 0
    assert rig.host.at("AT+IPR=115200&W") == b"AT+IPR=115200&W\r\r\nOK\r\n"
    rig.sim.power_off_now()
    rig.sim.power_on_now()
    assert rig.host.expect(b"\r\nRDY\r\n", 5)  # a fixed rate: RDY goes out at boot
    rig.sim.stop()

    again = make_rig(Profile(**QUICK), state_dir=state)
    again.sim.power_on_now()
    assert again.host.expect(b"Call Ready\r\n", 5).startswith(b"\r\nRDY\r\n")
    assert again.host.at("AT+IPR?") == b"AT+IPR?\r\r\n+IPR: 115200\r\n\r\nOK\r\n"


def test_ipr_then_w_as_two_commands(make_rig, tmp_path):
    rig = make_rig(Profile(**QUICK), state_dir=tmp_path / "two")
    rig.boot(sync=False)
    rig.host.sync()
    rig.host.at("AT+IPR=115200")
    rig.host.at("AT&W")
    assert StoredSettings(tmp_path / "two", Profile()).values["ipr"] == 115200


def test_ipr_without_w_is_lost_and_factory_reset_keeps_the_rate(make_rig, tmp_path):
    rig = make_rig(Profile(**QUICK), state_dir=tmp_path / "lost")
    rig.boot(sync=False)
    rig.host.sync()
    rig.host.at("AT+IPR=115200")
    rig.sim.power_off_now()
    rig.sim.power_on_now()
    assert rig.host.collect(1.0) == b""  # autobaud again: no RDY
    rig.host.sync()
    rig.host.at("AT+IPR=115200&W")
    rig.host.at("AT&F")
    assert rig.host.at("AT+IPR?").endswith(b"+IPR: 115200\r\n\r\nOK\r\n")


def test_echo_stored_with_w_is_restored(make_rig, tmp_path):
    rig = make_rig(Profile(**QUICK), state_dir=tmp_path / "echo")
    rig.boot()
    rig.host.at("ATE0&W")
    rig.host.echo = False
    rig.sim.power_off_now()
    rig.sim.power_on_now()
    assert rig.host.sync() > 0
    assert rig.host.at("AT") == b"\r\nOK\r\n"
    assert rig.host.at("ATE1") == b"\r\nOK\r\n"
    assert rig.host.at("ATZ") == b"ATZ\r\r\nOK\r\n"  # back to the stored E0 after this line
    assert rig.host.at("AT") == b"\r\nOK\r\n"


def test_without_a_state_dir_settings_live_in_memory(tmp_path):
    settings = StoredSettings(None, Profile())
    settings.store({"ipr": 9600}, ("ipr",))
    assert settings.values["ipr"] == 9600
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["{not json", "[1]", '{"ipr": 1234}'])
def test_a_bad_state_file_is_one_clear_error(tmp_path, text):
    (tmp_path / "sim-settings.json").write_text(text)
    with pytest.raises(SettingsError, match=r"sim-settings\.json.*or delete"):
        StoredSettings(tmp_path, Profile())


def test_chosen_names_what_a_host_stored(tmp_path):
    settings = StoredSettings(tmp_path, Profile())
    assert settings.chosen == set() and settings.values["ipr"] == 0  # factory: nothing chosen
    settings.store({"ipr": 0, "echo": True}, ("ipr",))
    assert settings.chosen == {"ipr"}
    assert "ipr" in StoredSettings(tmp_path, Profile()).chosen  # read back from the file
