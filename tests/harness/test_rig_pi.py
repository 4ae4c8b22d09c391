"""The rig keys a real Pi rig needs: model, open-drain lines, gpiod line names, RTS/CTS,
reconnect and low latency; each mistake is one RigError naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageFault
from harness.rig import RigError, load_rig

ROOT = Path(__file__).resolve().parents[2]


def variant(tmp_path: Path, old: str, new: str, base: str = "pi-m95") -> Path:
    text = (ROOT / "rigs" / f"{base}.toml").read_text()
    assert old in text, old
    path = tmp_path / "rig.toml"
    path.write_text(text.replace(old, new))
    return path


def test_shipped_rigs_name_their_model():
    assert load_rig("pi-m95").model == "M95" and load_rig("sim").model == "M95"


def test_an_unknown_model_is_refused_with_the_known_ones(tmp_path):
    path = variant(tmp_path, 'model = "M95"', 'model = "M96"')
    with pytest.raises(RigError, match=r"model: 'M96' has no documented.*M95, M66") as info:
        load_rig(path)
    assert isinstance(info.value, UsageFault)


def test_open_drain_lines_must_be_active_low(tmp_path):
    path = variant(
        tmp_path,
        'pwrkey    = { pin = 4,  polarity = "active-high" }',
        'pwrkey    = { pin = 4,  polarity = "active-low", drive = "open-drain" }',
    )
    assert load_rig(path).gpio.pwrkey.drive == "open-drain"
    path = variant(
        tmp_path,
        'pwrkey    = { pin = 4,  polarity = "active-high" }',
        'pwrkey    = { pin = 4,  polarity = "active-high", drive = "open-drain" }',
    )
    with pytest.raises(RigError, match=r"gpio\.pwrkey\.drive: open-drain .*active-low"):
        load_rig(path)


def test_gpiod_lines_may_be_named(tmp_path):
    text = (ROOT / "rigs" / "pi-m95.toml").read_text()
    text = text.replace('backend = "rpi"', 'backend = "gpiod"').replace(
        "pwrkey    = { pin = 4,", 'pwrkey    = { pin = "GPIO4",'
    )
    path = tmp_path / "rig.toml"
    path.write_text(text)
    assert load_rig(path).gpio.pwrkey.pin == "GPIO4"
    path.write_text(text.replace('backend = "gpiod"', 'backend = "rpi"'))
    with pytest.raises(RigError, match=r"gpio\.pwrkey\.pin: must be an integer"):
        load_rig(path)


def test_serial_keys(tmp_path):
    path = variant(
        tmp_path,
        "# rtscts = true ",
        "rtscts = true\nreconnect = 5\nlow_latency = false\n# ",
    )
    serial = load_rig(path).serial
    assert serial.rtscts is True and serial.reconnect == 5 and serial.low_latency is False
    assert load_rig("pi-m95").serial.reconnect == 60.0
    path = variant(tmp_path, "# reconnect = 60 ", "reconnect = -1\n# ")
    with pytest.raises(RigError, match=r"serial\.reconnect"):
        load_rig(path)
