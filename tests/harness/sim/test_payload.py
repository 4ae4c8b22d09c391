"""AT+QISEND: prompt, echo, the special bytes of variable-length input, fixed length, 1460."""

from __future__ import annotations

import pytest

from harness import limits
from harness.sim import Profile

MAX = limits.SEND_MAX  # SEND-MAX
QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}


@pytest.fixture
def sending(make_rig, make_peer):
    def build(**changes):
        peer = make_peer("sink")
        rig = make_rig(Profile(**QUICK, **changes))
        rig.boot()
        rig.activate()
        rig.open("TCP", "127.0.0.1", peer.port)
        return rig, peer

    return build


def test_backspace_deletes_and_ctrl_z_sends(sending):
    rig, peer = sending()
    rig.host.write("AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(b"abX\x08c\x1a")
    assert rig.host.expect(b"SEND OK\r\n") == b"abX\x08c\r\nSEND OK\r\n"  # typed bytes echoed
    assert peer.wait_received(3, rig.clock) == b"abc"


def test_backspace_editing_can_be_off(sending):
    rig, peer = sending(qisend_backspace=False)
    rig.host.write("AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(b"ab\x08c\x1a")
    rig.host.expect(b"SEND OK\r\n")
    assert peer.wait_received(4, rig.clock) == b"ab\x08c"


@pytest.mark.parametrize(("reply", "expected"), [("OK", b"\r\nOK\r\n"), ("", b"")])
def test_escape_abandons_the_send(sending, reply, expected):
    rig, peer = sending(qisend_esc_reply=reply)
    rig.host.write("AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(b"never\x1b")
    assert rig.host.expect(b"never" + expected) == b"never" + expected
    assert rig.host.collect(0.5) == b""
    assert rig.host.at("AT+QISACK").endswith(b"+QISACK: 0, 0, 0\r\n\r\nOK\r\n")
    assert peer.received == bytearray()


def test_fixed_length_sends_special_bytes_as_data(sending):
    rig, peer = sending()
    rig.host.write("AT+QISEND=5\r")
    rig.host.expect(b"> ")
    rig.host.write(b"\x08\x1a\x1b\x00\xff")
    rig.host.expect(b"SEND OK\r\n")
    assert peer.wait_received(5, rig.clock) == b"\x08\x1a\x1b\x00\xff"


def test_1460_is_the_limit(sending):
    rig, peer = sending()
    assert rig.host.at(f"AT+QISEND={MAX + 1}").endswith(b"\r\r\nERROR\r\n")
    assert rig.host.at("AT+QISEND=0").endswith(b"\r\r\nERROR\r\n")
    rig.host.write(f"AT+QISEND={MAX}\r")
    rig.host.expect(b"> ")
    rig.host.write(b"m" * MAX)
    rig.host.expect(b"SEND OK\r\n")
    assert len(peer.wait_received(MAX, rig.clock)) == MAX


def test_less_than_1460_reading(sending):
    rig, _ = sending(send_max_inclusive=False)
    assert rig.host.at(f"AT+QISEND={MAX}").endswith(b"\r\r\nERROR\r\n")


def test_variable_input_longer_than_1460_is_refused(sending):
    rig, peer = sending(echo_payload=False)
    rig.host.write("AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(b"v" * (MAX + 1))
    assert rig.host.expect(b"\r\nERROR\r\n") == b"\r\nERROR\r\n"
    rig.clock.sleep(0.5)
    assert peer.received == bytearray()


def test_empty_input_is_refused(sending):
    rig, _ = sending()
    rig.host.write("AT+QISEND\r")
    rig.host.expect(b"> ")
    rig.host.write(b"\x1a")
    assert rig.host.expect(b"\r\nERROR\r\n")


def test_no_payload_echo_with_echo_off(sending):
    rig, _ = sending()
    rig.host.at("ATE0")
    rig.host.echo = False
    rig.host.write("AT+QISEND=4\r")
    assert rig.host.expect(b"> ") == b"\r\n> "
    rig.host.write(b"abcd")
    assert rig.host.expect(b"SEND OK\r\n") == b"\r\nSEND OK\r\n"


def test_payload_typed_before_the_prompt_is_kept(sending):
    rig, peer = sending()
    rig.host.write(b"AT+QISEND=3\rxyz")  # all at once, before the prompt came
    rig.host.expect(b"SEND OK\r\n")
    assert peer.wait_received(3, rig.clock) == b"xyz"
