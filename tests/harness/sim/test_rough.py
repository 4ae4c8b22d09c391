"""The rough line: the same bytes in random chunks with a CR never beside its LF, repeated URCs
only where they are true, boot noise, AT+QISDE; all drawn from the seed."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.clock import Clock
from harness.sim import Profile
from harness.sim.loop import Loop
from harness.sim.rough import BOOT_GARBAGE, RoughLine, UrcSpots, due_urcs
from harness.sim.uart import Uart

QUICK = {
    "lat_uart_ready": (0.1, 0.2),
    "lat_sim_ready": (0.2, 0.3),
    "lat_call_ready": (0.3, 0.4),
    "lat_creg": (0.3, 0.4),
    "lat_cgreg": (0.1, 0.2),
}
#: Module output: lines, prompts, payload bytes.
output = st.lists(
    st.sampled_from([b"\r\n", b"\r", b"\n", b"OK", b"\r\nSEND OK\r\n", b"> ", b"\xff"])
    | st.binary(max_size=40),
    max_size=20,
).map(b"".join)


@given(output, st.integers(min_value=0, max_value=2**32))
def test_pieces_are_the_same_bytes_in_chunks_with_cr_apart_from_lf(data, seed):
    profile = Profile.rough()
    pieces = RoughLine(profile, seed).pieces(data)
    assert b"".join(p for p, _ in pieces) == data
    assert all(1 <= len(p) <= profile.out_chunk_max for p, _ in pieces)
    assert not any(b"\r\n" in p for p, _ in pieces)
    assert all(
        not (a.endswith(b"\r") and b.startswith(b"\n")) or profile.lat_crlf_gap[0] <= gap
        for (a, gap), (b, _) in itertools.pairwise(pieces)
    )
    assert not pieces or pieces[-1][1] == 0.0


def test_the_same_seed_gives_the_same_pieces_and_another_seed_others():
    data = b"\r\n+CREG: 1\r\n" * 20
    one, again, other = (RoughLine(Profile.rough(), s).pieces(data) for s in (3, 3, 4))
    assert one == again and one != other


def test_a_plain_profile_has_no_rough_line():
    assert not RoughLine(Profile.m95(), 0).active and RoughLine(Profile.rough(), 0).active
    assert not UrcSpots(Profile.m95(), 0).active


def test_the_uart_writes_each_piece_apart():
    clock = Clock(0.01)
    written: list[bytes] = []
    done = threading.Event()
    data = b"AT+CSQ\r\r\n+CSQ: 25,0\r\n\r\nOK\r\n" * 3
    loop = Loop(clock)
    uart = Uart(clock, loop, lambda *_: None, rough=RoughLine(Profile.rough(), 1))

    def put(chunk: bytes) -> int:
        written.append(chunk)
        return len(chunk)

    uart._put = put  # type: ignore[method-assign]
    loop.start()
    try:
        loop.call(uart.write, data, lambda _t: done.set())
        assert clock.wait(done, clock.to_module(5.0))
    finally:
        loop.stop()
        uart.close()
    assert b"".join(written) == data and len(written) > 3
    assert not any(b"\r\n" in w for w in written)


def test_boot_noise_and_the_drawn_qisde():
    spots = UrcSpots(Profile.rough(), 5)
    noise = spots.garbage()
    assert 1 <= len(noise) <= 4 and all(bytes([b]) in BOOT_GARBAGE for b in noise)
    assert {spots.qisde_at_boot(True) for _ in range(64)} == {True, False}
    plain = UrcSpots(Profile.m95(), 5)
    assert plain.garbage() == b"" and plain.qisde_at_boot(False) is False


def test_only_urcs_printed_and_still_true_are_due(make_rig):
    rig = make_rig(Profile.rough(urc_spots=0.0, **QUICK))  # spots off: only what is due
    rig.boot()
    fw, call = rig.sim.fw, rig.sim.loop.call
    assert call(due_urcs, fw) == ["Call Ready"]
    rig.host.at("AT+QIURC=0")
    assert call(due_urcs, fw) == []  # the host switched Call Ready off
    rig.host.at("AT+CREG=1")
    assert call(due_urcs, fw) == []  # n=1 now, but no +CREG URC was printed since
    call(fw.boot.set_reg, "creg", 5)
    assert call(due_urcs, fw) == ["+CREG: 5"]
    rig.host.at("AT+CREG=2")
    assert call(due_urcs, fw) == ['+CREG: 5,"2842","0426"']  # in the form <n> asks for now
    call(setattr, fw.v, "creg_stat", 1)  # changed without a URC: the old one is not true
    assert call(due_urcs, fw) == []
    rig.host.at("AT+CREG=0")
    call(fw.boot.set_reg, "creg", 1)
    assert call(due_urcs, fw) == []


def test_repeated_urcs_come_after_finals_and_before_echoes(make_rig):
    """Spots on every time: Call Ready (the only URC due) after each final and before each
    echo; take the repeats out and the exchanges are exactly the plain ones."""
    rig = make_rig(Profile.rough(urc_spots=1.0, **QUICK))
    rig.boot()
    rig.host.collect(0.2)  # the spot after the last boot command's final
    start = len(rig.host.buf)
    for _ in range(5):
        reply = rig.host.at("AT+CSQ")
        assert reply.count(b"+CSQ: 25,0") == 1 and reply.endswith(b"\r\nOK\r\n")
    rig.host.collect(0.2)
    seen = bytes(rig.host.buf[start:])
    urc = b"\r\nCall Ready\r\n"
    assert seen.count(urc) >= 9  # 5 before the echoes, at least 4 after the finals
    assert seen.replace(urc, b"") == b"AT+CSQ\r\r\n+CSQ: 25,0\r\n\r\nOK\r\n" * 5


def test_qisde_switches_the_payload_echo(make_rig, make_peer):
    peer = make_peer("sink")
    rig = make_rig(Profile(**QUICK))
    rig.boot()
    rig.activate()
    rig.open("TCP", "127.0.0.1", peer.port)
    assert rig.host.at("AT+QISDE?").endswith(b"+QISDE: 1\r\n\r\nOK\r\n")
    assert rig.host.at("AT+QISDE=2").endswith(b"\r\nERROR\r\n")
    assert rig.host.at("AT+QISDE=0").endswith(b"\r\nOK\r\n")
    rig.host.write("AT+QISEND=4\r")
    rig.host.expect(b"> ")
    rig.host.write(b"SEND")
    assert rig.host.expect(b"SEND OK\r\n") == b"\r\nSEND OK\r\n"  # no echo of the payload
    assert peer.wait_received(4, rig.clock) == b"SEND"
    assert rig.host.at("AT+QISDE=1").endswith(b"\r\nOK\r\n")
    rig.host.write("AT+QISEND=4\r")
    rig.host.expect(b"> ")
    rig.host.write(b"SEND")
    assert rig.host.expect(b"SEND OK\r\n") == b"SEND\r\nSEND OK\r\n"


@pytest.mark.parametrize("name", ["rough", "seeds", "m95"])
def test_presets_by_name(name):
    assert Profile.named(name).name in (name, "m95")
