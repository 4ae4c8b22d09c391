"""Who the module is (harness/modem/identity.py): every field, one missing answer at a time,
prefixed numbers, and the masked IMEI of shared reports."""

from __future__ import annotations

from _line_fakes import FakeChannel

from harness.clock import Clock
from harness.modem import Identity, identify
from harness.runrecord import mask_imei

# -- identity -------------------------------------------------------------------------------
M95 = {
    "ATI": ["Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08"],
    "AT+CGMM": ["Quectel_M95"],
    "AT+GMR": ["Revision: M95FAR02A08"],
    "AT+QGMR": ["M95FAR03A04"],
    "AT+GSN": ["861234567890123"],
    "AT+QCCID": ["89860012345678901234"],
}


def test_identify_reads_every_field():
    channel = FakeChannel(Clock(0.01), answer=lambda cmd: ("OK", M95[cmd]))
    ident = identify(channel)
    assert ident == Identity(
        "Quectel_M95", "M95FAR02A08", "M95FAR03A04", "861234567890123", "89860012345678901234"
    )
    assert ident.as_dict()["imei"] == "xxxxxxxxxxxx123"
    assert ident.as_dict(mask=False)["imei"] == "861234567890123"


def test_identify_tolerates_error_or_silence_from_any_one():
    def answer(cmd):
        if cmd in ("AT+QGMR", "AT+CGMM"):
            return "ERROR", []
        if cmd == "AT+QCCID":
            return None, []  # timeout
        return "OK", M95[cmd]

    ident = identify(Channel := FakeChannel(Clock(0.01), answer=answer))
    assert ident.model == "Quectel_M95"  # from ATI
    assert ident.firmware == "M95FAR02A08"  # no AT+QGMR: the revision
    assert ident.iccid is None and ident.imei == "861234567890123"
    assert set(ident.missing) == {"AT+QGMR", "AT+CGMM", "AT+QCCID"}
    assert len(Channel.sent) == 6


def test_identify_accepts_prefixed_numbers():
    def answer(cmd):
        return "OK", {"AT+GSN": ["+GSN: 861234567890123"], "AT+QCCID": ["+QCCID: 8986001F"]}.get(
            cmd, []
        )

    ident = identify(FakeChannel(Clock(0.01), answer=answer))
    assert ident.imei == "861234567890123" and ident.iccid == "8986001F"
    assert ident.model is None


def test_mask_imei():
    assert mask_imei("861234567890123") == "xxxxxxxxxxxx123"
    assert mask_imei(None) is None
    assert mask_imei("12") == "12"
