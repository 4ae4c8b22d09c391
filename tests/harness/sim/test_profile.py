"""Profiles: the presets, one-field changes from text, and validation."""

from __future__ import annotations

import dataclasses

import pytest

from harness import limits
from harness.sim import Profile
from harness.sim.profile import settable_fields, with_setting


def test_presets_differ_in_identity():
    assert Profile().model == Profile.m95().model == "Quectel_M95"
    assert Profile.mc60().model == "Quectel_MC60"
    assert Profile.m66().model == "Quectel_M66"
    assert Profile.named("mc60", sms_ready=True).sms_ready
    assert Profile.seeds().cpin_space is False and Profile.seeds().qirdi_space is False


def test_every_uncertain_behaviour_is_a_field():
    names = {f.name for f in dataclasses.fields(Profile)}
    for field in (
        "cpin_space",
        "qirdi_space",
        "closed_index",
        "qisend_esc_reply",
        "qisend_backspace",
        "send_max_inclusive",
        "udp_qisack_zero",
        "qimux_initial_only",
        "qimode_initial_only",
        "qiregapp_initial_only",
        "refused_state",
        "qiopen_timeout",
        "emerg_off_min",
        "sms_ready",
        "ipd_trailing_crlf",
        "qistat_mux_form",
        "dns_fail_reply",
        "gmr_prefix",
        "ato_reply",
        "tcfg_wait_unit",
    ):
        assert field in names


def test_with_setting_parses_text():
    p = with_setting(Profile(), "cpin_space", "false")
    p = with_setting(p, "lat_qiact", "0.5,1")
    p = with_setting(p, "qiopen_timeout", "38")
    assert (p.cpin_space, p.lat_qiact, p.qiopen_timeout) == (False, (0.5, 1.0), 38.0)
    assert "lat_qiact" in settable_fields() and "cme_text" not in settable_fields()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("nope", "1", "no setting 'nope'"),
        ("cpin_space", "maybe", "expected a bool"),
        ("lat_qiact", "3", "LOW,HIGH"),
        ("lat_qiact", "3,1", "0 <= low <= high"),
        ("baud_mismatch", "loud", "choose one of"),
        ("refused_state", "IP LOST", "choose one of"),
    ],
)
def test_bad_settings_say_what_is_wrong(name, value, message):
    with pytest.raises(ValueError, match=message):
        with_setting(Profile(), name, value)


def test_unknown_preset():
    with pytest.raises(ValueError, match="m95, mc60, m66"):
        Profile.named("sim800")


def test_the_default_module_agrees_with_the_documents_numbers():
    """The simulator keeps its own numbers (it must not import limits); they must still match."""
    p = Profile()
    assert p.send_max == limits.SEND_MAX
    assert p.send_buffer == limits.SOCKET_SEND_BUFFER
    assert p.tcfg_default == limits.TCFG
    assert p.pwrkey_on_min == limits.PWRKEY_ON_MIN
    assert p.pwrkey_off_min == limits.PWRKEY_OFF_WINDOW[0]
    assert p.lat_qideact == limits.QIDEACT.typical
    assert p.lat_power_down[1] <= limits.POWER_CUT_AFTER.seconds
    assert p.lat_sim_ready[1] < limits.CPIN_READY.seconds
    assert p.lat_creg[1] + p.lat_cgreg[1] < limits.CREG_REGISTERED.seconds
    assert p.lat_qiact[1] < limits.QIACT.seconds and p.qiopen_timeout < limits.QIOPEN.seconds
