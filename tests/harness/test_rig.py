"""Rig files: the shipped rigs load as documented, and each kind of mistake is one clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import rig as rigmod
from harness.rig import CAPABILITIES, RigError, load_rig

HARDWARE = """\
kind = "hardware"
time_scale = 1.0
state_dir = "state"
capabilities = ["power", "status"]

[serial]
port = "/dev/ttyUSB0"
baud = 115200

[gpio]
backend = "rpi"
pwrkey = { pin = 4, polarity = "active-high" }
status = { pin = 27, polarity = "active-low" }

[network]
apn = "internet"

[peer]
host = "203.0.113.10"
port = 7007
control_url = "http://203.0.113.10:7008"
"""

SIM = """\
kind = "sim"
time_scale = 0.02
state_dir = "state"

[gpio]
backend = "sim"
pwrkey = { pin = 4, polarity = "active-high" }
supply = { pin = 22, polarity = "active-high" }

[peer]
host = "127.0.0.1"
"""


def write(tmp_path: Path, text: str, name: str = "bench.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fails(tmp_path: Path, text: str) -> RigError:
    path = write(tmp_path, text)
    with pytest.raises(RigError) as info:
        load_rig(path)
    err = info.value
    assert err.file == str(path), "every rig error names its file"
    assert str(path) in str(err)
    return err


# -- the shipped rigs -------------------------------------------------------------------------
def test_sim_rig_is_the_simulated_hat():
    rig = load_rig("sim")
    assert rig.kind == "sim" and rig.is_sim
    assert rig.file == rigmod.REPO_ROOT / "rigs" / "sim.toml"
    assert rig.time_scale == 0.02
    wiring = {n: (c.pin, c.active_high) for n, c in rig.gpio.lines().items()}
    assert wiring == {
        "pwrkey": (4, True),
        "emerg_off": (17, True),
        "status": (27, True),
        "supply": (22, True),
    }
    assert rig.gpio.backend == "sim" and rig.serial.port is None
    assert rig.peer.host == "127.0.0.1" and rig.peer.port == 0
    assert rig.capabilities == frozenset(CAPABILITIES)
    assert rig.state_dir == rigmod.REPO_ROOT / ".modemcert" / "state" / "sim"
    assert rig.on_exit == "off"
    assert rig.sim is not None and rig.sim.seed == 0


def test_pi_example_is_a_hardware_rig():
    rig = load_rig("pi-m95")
    assert rig.kind == "hardware" and rig.time_scale == 1.0
    assert rig.serial.port == "/dev/serial0"
    assert rig.gpio.backend == "rpi"
    assert {"power", "emerg_off", "status"} <= rig.capabilities
    assert not any(c.startswith("sim.") for c in rig.capabilities)
    assert rig.peer.host == "203.0.113.10"  # TEST-NET-3: an example, never dialled
    assert rig.state_dir == Path("/var/lib/modemcert/pi-m95")
    assert rig.sim is None


def test_uart_only_rig_has_no_power():
    rig = load_rig("uart-only")
    assert rig.gpio.backend == "none" and rig.gpio.lines() == {}
    assert not rig.has("power")
    assert "lacks capability 'power'" in rig.lacks("power")
    assert rig.lacks("peer.refuse") is None


def test_has_rejects_unknown_capability_names():
    with pytest.raises(ValueError, match=r"did you mean 'peer\.hold'"):
        load_rig("sim").has("peer.hodl")


# -- finding a rig ----------------------------------------------------------------------------
def test_a_name_prefers_rigs_in_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "rigs").mkdir()
    write(tmp_path / "rigs", SIM.replace("0.02", "0.05"), "sim.toml")
    monkeypatch.chdir(tmp_path)
    rig = load_rig("sim")
    assert rig.time_scale == 0.05
    # A relative state_dir is relative to the directory that holds rigs/.
    assert rig.state_dir == tmp_path.resolve() / "state"


def test_an_unknown_name_lists_the_known_rigs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RigError, match=r"did you mean 'sim'.*known rigs: .*pi-m95"):
        load_rig("simm")


def test_a_missing_path_says_so(tmp_path):
    with pytest.raises(RigError, match="no such rig file"):
        load_rig(tmp_path / "nope.toml")


# -- one test per kind of mistake -------------------------------------------------------------
def test_toml_syntax_error_gives_the_line(tmp_path):
    err = fails(tmp_path, HARDWARE.replace('apn = "internet"', "apn = internet"))
    line = HARDWARE.splitlines().index('apn = "internet"') + 1
    assert "TOML syntax error" in str(err) and f"line {line}," in str(err)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, HARDWARE)

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(RigError, match="cannot read the rig file: Permission denied") as info:
        load_rig(path)
    assert info.value.file == str(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(HARDWARE.encode() + b"# caf\xe9\n")
    with pytest.raises(RigError, match="not UTF-8"):
        load_rig(path)


@pytest.mark.parametrize(
    ("old", "new", "key", "hint"),
    [
        ("time_scale = 1.0", "timescale = 1.0", "timescale", "did you mean 'time_scale'"),
        ("baud = 115200", "baudrate = 115200", "serial.baudrate", "did you mean 'baud'"),
        (
            'polarity = "active-low" }',
            'polarity = "active-low", pull = 1 }',
            "gpio.status.pull",
            "allowed here: pin, polarity",
        ),
        ("[network]", "[netwrk]", "netwrk", "did you mean 'network'"),
    ],
)
def test_unknown_key_suggests_the_right_one(tmp_path, old, new, key, hint):
    err = fails(tmp_path, HARDWARE.replace(old, new))
    assert err.key == key and "unknown key" in err.message and hint in err.message


@pytest.mark.parametrize(
    ("old", "new", "key", "phrase"),
    [
        ("time_scale = 1.0", 'time_scale = "fast"', "time_scale", "must be a number"),
        ("pin = 4,", 'pin = "4",', "gpio.pwrkey.pin", "must be an integer, not a string"),
        ("baud = 115200", "baud = true", "serial.baud", "must be an integer, not a boolean"),
        (
            'capabilities = ["power", "status"]',
            'capabilities = "power"',
            "capabilities",
            "must be an array",
        ),
        ('kind = "hardware"', 'kind = "hardware"\nnetwork = 3', "network", "must be a table"),
    ],
)
def test_wrong_type(tmp_path, old, new, key, phrase):
    text = HARDWARE.replace(old, new)
    if key == "network":  # the [network] table would clash with the number
        text = text.replace('[network]\napn = "internet"\n', "")
    err = fails(tmp_path, text)
    assert err.key == key and phrase in err.message


def test_missing_pin_for_a_declared_line(tmp_path):
    err = fails(
        tmp_path, HARDWARE.replace('pin = 27, polarity = "active-low"', 'polarity = "active-low"')
    )
    assert err.key == "gpio.status.pin"
    assert "declared but has no pin" in err.message


def test_pin_used_twice(tmp_path):
    err = fails(tmp_path, HARDWARE.replace("pin = 27", "pin = 4"))
    assert err.key == "gpio.status.pin" and "already used by gpio.pwrkey" in err.message


def test_pin_out_of_range(tmp_path):
    err = fails(tmp_path, HARDWARE.replace("pin = 27", "pin = 40"))
    assert err.key == "gpio.status.pin" and "BCM number 0..27" in err.message


def test_bad_polarity_word(tmp_path):
    err = fails(tmp_path, HARDWARE.replace('"active-low"', '"active_low"'))
    assert err.key == "gpio.status.polarity"
    assert "did you mean 'active-low'" in err.message


def test_missing_polarity(tmp_path):
    err = fails(tmp_path, HARDWARE.replace(', polarity = "active-low"', ""))
    assert err.key == "gpio.status.polarity" and "missing" in err.message


@pytest.mark.parametrize(
    ("old", "new", "key", "phrase"),
    [
        ('port = "/dev/ttyUSB0"', 'port = "rfc2217://bench-pi"', "serial.port", "a port 1..65535"),
        ('port = "/dev/ttyUSB0"', 'port = "ftp://bench-pi:21"', "serial.port", "unknown pyserial"),
        ('port = "/dev/ttyUSB0"', 'port = "ttyUSB0"', "serial.port", "absolute device path"),
        ("port = 7007", "port = 70000", "peer.port", "1..65535"),
        ("port = 7007", "port = 0", "peer.port", "1..65535"),
        (
            'control_url = "http://203.0.113.10:7008"',
            'control_url = "http://203.0.113.10"',
            "peer.control_url",
            "a port 1..65535",
        ),
        (
            'control_url = "http://203.0.113.10:7008"',
            'control_url = "gopher://h:70"',
            "peer.control_url",
            "use one of http://",
        ),
    ],
)
def test_bad_url_or_port(tmp_path, old, new, key, phrase):
    err = fails(tmp_path, HARDWARE.replace(old, new))
    assert err.key == key and phrase in err.message


def test_serial_urls_are_accepted(tmp_path):
    rig = load_rig(write(tmp_path, HARDWARE.replace("/dev/ttyUSB0", "rfc2217://192.0.2.20:4000")))
    assert rig.serial.port == "rfc2217://192.0.2.20:4000"


@pytest.mark.parametrize("scale", ["0.0001", "1.5", "0"])
def test_time_scale_out_of_range(tmp_path, scale):
    err = fails(tmp_path, SIM.replace("0.02", scale))
    assert err.key == "time_scale" and "outside 0.001..1.0" in err.message


def test_hardware_must_run_in_real_time(tmp_path):
    err = fails(tmp_path, HARDWARE.replace("time_scale = 1.0", "time_scale = 0.5"))
    assert err.key == "time_scale" and "must be 1.0" in err.message


def test_bad_choice_words(tmp_path):
    err = fails(tmp_path, HARDWARE.replace('"hardware"', '"hw"'))
    assert err.key == "kind" and "not one of sim, hardware" in err.message
    err = fails(tmp_path, HARDWARE.replace('backend = "rpi"', 'backend = "rpio"'))
    assert err.key == "gpio.backend" and "did you mean 'rpi'" in err.message


def test_missing_required_keys(tmp_path):
    err = fails(tmp_path, HARDWARE.replace('port = "/dev/ttyUSB0"\n', ""))
    assert err.key == "serial.port" and "missing" in err.message
    err = fails(tmp_path, HARDWARE.replace('state_dir = "state"\n', ""))
    assert err.key == "state_dir"
    err = fails(tmp_path, HARDWARE.replace('kind = "hardware"\n', ""))
    assert err.key == "kind"


def test_capabilities_are_checked(tmp_path):
    err = fails(tmp_path, HARDWARE.replace('"status"]', '"stauts"]'))
    assert err.key == "capabilities" and "did you mean 'status'" in err.message
    err = fails(tmp_path, HARDWARE.replace('"status"]', '"emerg_off"]'))
    assert "needs a wired emerg_off line" in err.message
    err = fails(tmp_path, HARDWARE.replace('"status"]', '"sim.faults"]'))
    assert "only on the sim rig" in err.message


def test_backend_and_kind_must_agree(tmp_path):
    err = fails(tmp_path, SIM.replace('backend = "sim"', 'backend = "rpi"'))
    assert err.key == "gpio.backend"
    err = fails(tmp_path, HARDWARE.replace('backend = "rpi"', 'backend = "sim"'))
    assert err.key == "gpio.backend"
    err = fails(tmp_path, HARDWARE.replace('backend = "rpi"', 'backend = "none"'))
    assert err.key == "gpio.pwrkey" and 'backend "none" drives no lines' in err.message
    err = fails(tmp_path, HARDWARE.replace("[gpio]", '[gpio]\nchip = "gpiochip4"'))
    assert err.key == "gpio.chip"


def test_gpiod_defaults_to_gpiochip0_and_allows_offsets(tmp_path):
    text = HARDWARE.replace('backend = "rpi"', 'backend = "gpiod"').replace("pin = 27", "pin = 99")
    rig = load_rig(write(tmp_path, text))
    assert rig.gpio.chip == "/dev/gpiochip0" and rig.gpio.status.pin == 99


def test_sim_rig_talks_only_to_loopback(tmp_path):
    err = fails(tmp_path, SIM.replace('host = "127.0.0.1"', 'host = "203.0.113.10"'))
    assert err.key == "peer.host" and "127.0.0.0/8" in err.message
    assert load_rig(write(tmp_path, SIM.replace("127.0.0.1", "127.0.0.9"))).peer.host


def test_sim_rig_takes_no_serial_port(tmp_path):
    err = fails(tmp_path, SIM + '[serial]\nport = "/dev/ttyUSB0"\n')
    assert err.key == "serial.port" and "pseudo-terminal" in err.message


def test_on_exit_on_cannot_hold_with_a_supply_relay(tmp_path):
    err = fails(tmp_path, SIM.replace('state_dir = "state"', 'state_dir = "state"\non_exit = "on"'))
    assert err.key == "on_exit" and "relay opens" in err.message


def test_rate_must_be_one_the_module_takes(tmp_path):
    err = fails(tmp_path, HARDWARE.replace("baud = 115200", "baud = 115201"))
    assert err.key == "serial.baud" and "57600" in err.message
    err = fails(tmp_path, HARDWARE.replace("baud = 115200", "baud = 9600\nsearch_rates = [0]"))
    assert err.key == "serial.search_rates"


# -- secrets ----------------------------------------------------------------------------------
def test_secrets_come_from_the_environment_and_are_never_shown(tmp_path, monkeypatch):
    text = HARDWARE.replace('apn = "internet"', 'apn = "internet"\npassword_env = "APN_PW"')
    text += 'token = "s3cr3t-token"\n'
    rig = load_rig(write(tmp_path, text))
    monkeypatch.setenv("APN_PW", "hunter2")
    assert rig.network.password.reveal() == "hunter2"
    assert rig.peer.token.reveal() == "s3cr3t-token"
    shown = repr(rig) + str(rig) + repr(rig.network) + str(rig.peer.token)
    assert "hunter2" not in shown and "s3cr3t-token" not in shown
    assert "env:APN_PW" in shown  # where it comes from is fine to show


def test_a_missing_secret_says_which_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("APN_PW", raising=False)
    text = HARDWARE.replace('apn = "internet"', 'apn = "internet"\npassword_env = "APN_PW"')
    rig = load_rig(write(tmp_path, text))
    with pytest.raises(RigError, match="APN_PW is not set") as info:
        rig.network.password.reveal()
    assert info.value.key == "network.password_env"


def test_token_file(tmp_path):
    (tmp_path / "token").write_text("from-a-file\n")
    rig = load_rig(write(tmp_path, HARDWARE + f'token_file = "{tmp_path / "token"}"\n'))
    assert rig.peer.token.reveal() == "from-a-file"
    os.unlink(tmp_path / "token")
    with pytest.raises(RigError, match="cannot read"):
        rig.peer.token.reveal()


def test_only_one_source_per_secret(tmp_path):
    err = fails(tmp_path, HARDWARE + 'token = "a"\ntoken_env = "B"\n')
    assert "give only one of token, token_env" in err.message


# -- values with bounds, found when the file is loaded (exit 2 naming the key) ----------------
@pytest.mark.parametrize(
    ("old", "new", "key", "phrase"),
    [
        ('host = "127.0.0.1"', 'host = "localhost"', "peer.host", "not a dotted IPv4"),
        ('host = "127.0.0.1"', 'host = "10.1.2.3"', "peer.host", "not a loopback"),
        ('state_dir = "state"', 'state_dir = "/dev/null"', "state_dir", "not a directory"),
        ('state_dir = "state"', 'state_dir = "/dev/null/sub"', "state_dir", "not a directory"),
        ("time_scale = 0.02", "time_scale = 1" + "0" * 400, "time_scale", "out of range"),
        ("time_scale = 0.02", "time_scale = nan", "time_scale", "not a finite number"),
        ("time_scale = 0.02", "time_scale = inf", "time_scale", "not a finite number"),
        ('kind = "sim"', 'kind = "sim"\nname = "' + "n" * 300 + '"', "name", "characters"),
        ('kind = "sim"', 'kind = "sim"\nname = "a/b"', "name", "cannot name a run directory"),
        ('kind = "sim"', 'kind = "sim"\nname = "../../x"', "name", "cannot name a run"),
        ('kind = "sim"', 'kind = "sim"\nname = "a\\u0000b"', "name", "NUL"),
        ('kind = "sim"', 'kind = "sim"\nname = ".hidden"', "name", "cannot name a run"),
        ("[peer]", '[network]\napn = "' + "a" * 1_000_000 + '"\n[peer]', "network.apn", "at most"),
        ("[peer]", '[network]\napn = "a\\"b"\n[peer]', "network.apn", "AT+QICSGP"),
        ("[peer]", '[network]\nuser = "é"\n[peer]', "network.user", "AT+QICSGP"),
        ("[peer]", '[sim]\nprofile = "m99"\n[peer]', "sim.profile", "unknown module profile"),
        ("[peer]", "[sim]\nseed = -1\n[peer]", "sim.seed", "not a seed"),
        (
            "[peer]",
            "[sim.overrides]\nno_such = 1\n[peer]",
            "sim.overrides.no_such",
            "has no setting",
        ),
        ("[peer]", '[sim.overrides]\nlat_qiact = "x"\n[peer]', "sim.overrides.lat_qiact", "LOW"),
    ],
)
def test_values_out_of_bounds_are_one_error_naming_the_key(tmp_path, old, new, key, phrase):
    err = fails(tmp_path, SIM.replace(old, new, 1))
    assert err.key == key, err
    assert phrase in err.message, err
    assert len(str(err)) < 400, "one readable line, not the whole value"


def test_an_inline_password_that_cannot_be_sent_is_refused_without_showing_it(tmp_path):
    err = fails(tmp_path, SIM + '[network]\npassword = "se\\"cret"\n')
    assert err.key == "network.password" and "secret" not in str(err)


def test_a_state_dir_that_is_not_writable_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere: nothing to prove here
        pytest.skip("running as root: every directory is writable")
    err = fails(tmp_path, SIM.replace('state_dir = "state"', f'state_dir = "{locked}/s"'))
    assert err.key == "state_dir" and "not writable" in err.message


def test_a_hardware_peer_must_be_an_address_the_module_can_dial(tmp_path):
    err = fails(tmp_path, HARDWARE.replace('host = "203.0.113.10"', 'host = "peer.example"'))
    assert err.key == "peer.host" and "AT+QIOPEN" in err.message


def test_profile_overrides_load_into_the_simulator_profile(tmp_path):
    rig = load_rig(
        write(tmp_path, SIM + "[sim.overrides]\nlat_qiact = [0.5, 3]\ncpin_space = false\n")
    )
    profile = rig.sim.build()
    assert profile.lat_qiact == (0.5, 3.0) and profile.cpin_space is False
