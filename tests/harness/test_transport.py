"""The UART layer on a real PTY: open/lock/errors, bytes both ways, the transcript."""

import json
import os
import subprocess
import sys
import threading

import pytest

from harness.clock import Clock, stamp
from harness.transport import (
    PortBusy,
    PortClosed,
    PortNotFound,
    Transcript,
    Transport,
    TransportError,
    escape,
    port_holder,
)

WALL = Clock(1.0)


def test_bytes_both_ways_are_stamped_and_transcribed(pty_responder):
    pty_responder.on(b"AT\r", b"\r\nOK\r\n")
    transcript = Transcript()
    with Transport(pty_responder.port, transcript=transcript) as port:
        assert port.is_open
        before = stamp()
        sent = port.write(b"AT\r")
        data = b""
        while not data.endswith(b"OK\r\n"):
            chunk, t = port.read_stamped(64, wall_timeout=5)
            assert chunk, "the responder did not answer"
            assert sent >= before and t >= sent
            data += chunk
    assert data == b"\r\nOK\r\n"
    io = [(e.dir, e.data) for e in transcript.entries() if e.dir != "note"]
    assert io[0] == ("tx", b"AT\r") and b"".join(d for k, d in io if k == "rx") == data
    assert not port.is_open


def test_read_times_out_empty_and_cancel_wakes_a_blocked_read(pty_responder):
    with Transport(pty_responder.port) as port:
        assert port.read(16, wall_timeout=0.01) == b""
        got = []
        reader = threading.Thread(target=lambda: got.append(port.read(16, None)))
        reader.start()
        port.cancel_read()
        reader.join(5)
        assert not reader.is_alive() and got == [b""]


def test_close_wakes_a_blocked_read_with_port_closed(pty_responder):
    port = Transport(pty_responder.port)
    port.open()
    errors = []

    def read():
        try:
            port.read(16, None)
        except PortClosed as e:
            errors.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    port.close()
    reader.join(5)
    assert not reader.is_alive() and len(errors) == 1


def test_port_not_found_names_the_port():
    with pytest.raises(PortNotFound, match="/dev/ttyNOPE0") as e:
        Transport("/dev/ttyNOPE0").open()
    assert "ls /dev/ttyUSB*" in str(e.value)


def test_unknown_url_scheme_is_port_not_found():
    with pytest.raises(PortNotFound, match="pyserial URL"):
        Transport("nosuchscheme://x").open()


def test_busy_port_names_the_holder(pty_responder):
    with Transport(pty_responder.port):
        with pytest.raises(PortBusy) as e:
            Transport(pty_responder.port).open()
        assert e.value.port == pty_responder.port
        assert e.value.holder and str(os.getpid()) in e.value.holder
        assert pty_responder.port in str(e.value) and "busy" in str(e.value)
        assert str(os.getpid()) in port_holder(pty_responder.port)
    with Transport(pty_responder.port):  # free again after close
        pass


def test_non_exclusive_open_is_allowed(pty_responder):
    with Transport(pty_responder.port), Transport(pty_responder.port, exclusive=False):
        pass


def test_device_disappearing_gives_port_closed(pty_responder):
    with Transport(pty_responder.port) as port:
        pty_responder.disappear()
        with pytest.raises(PortClosed, match="went away"):
            while True:
                port.read(16, wall_timeout=5)
        assert not port.is_open
        with pytest.raises(PortClosed, match="went away"):
            port.write(b"AT\r")


def test_write_and_read_on_a_closed_port():
    port = Transport("loop://")
    with pytest.raises(PortClosed, match="not open"):
        port.write(b"x")
    with pytest.raises(PortClosed):
        port.read(1, 0)


def test_pyserial_url_ports_work_without_a_descriptor():
    transcript = Transcript()
    with Transport("loop://", transcript=transcript) as port:
        port.write(b"AT\r")
        assert port.read(64, wall_timeout=1) == b"AT\r"
        assert port.read(64, wall_timeout=0.01) == b""
        port.baudrate = 9600
        assert port.baudrate == 9600
    assert [e.dir for e in transcript.entries() if e.dir != "note"] == ["tx", "rx"]


def test_bad_baudrate_is_a_transport_error():
    with Transport("loop://") as port, pytest.raises(TransportError, match="baud"):
        port.baudrate = -5


# -- transcript -------------------------------------------------------------------------------
def test_escape_makes_control_bytes_readable():
    assert escape(b"AT\r\r\nOK\r\n") == "AT\\r\\r\\nOK\\r\\n"
    assert escape(b"> x\x1a\xff\\") == "> x<1A><FF>\\\\"


def test_text_has_one_line_per_direction_change_and_notes_apart():
    t = Transcript()
    t.record("tx", b"AT\r", 1_000)
    t.record("rx", b"\r\n", 2_000)
    t.record("rx", b"OK\r\n", 3_000)
    t.note("step two")
    t.record("tx", b"ATI\r", 4_000)
    lines = t.text().splitlines()
    assert len(lines) == 4
    assert lines[0].split()[1:] == ["tx", "AT\\r"]
    assert lines[1].split()[1:] == ["rx", "\\r\\nOK\\r\\n"]
    assert lines[2].split(None, 2)[1:] == ["note", "step two"]
    assert lines[3].endswith("tx   ATI\\r")
    assert t.tail(2).splitlines() == lines[-2:]


def test_mark_and_since():
    t = Transcript()
    t.record("tx", b"a")
    mark = t.mark()
    t.record("rx", b"b")
    t.note("c")
    assert [e.data for e in t.since(mark)] == [b"b", b"c"]
    assert t.since(t.mark()) == []


def test_memory_is_bounded_but_marks_stay_valid():
    t = Transcript(keep=3)
    for i in range(10):
        t.record("rx", bytes([i]))
    assert [e.data for e in t.entries()] == [b"\x07", b"\x08", b"\x09"]
    assert [e.data for e in t.since(8)] == [b"\x08", b"\x09"]
    assert [e.data for e in t.since(0)] == [b"\x07", b"\x08", b"\x09"]


def test_json_lines_file_roundtrip(tmp_path):
    path = tmp_path / "sub" / "t.jsonl"
    t = Transcript(path)
    t.record("tx", b"AT\r", 5)
    t.record("rx", b"\r\nOK\r\n\xff", 6)
    t.note("noise: ff")
    # flushed per record: readable before close
    records = [json.loads(x) for x in path.read_text().splitlines()]
    assert records[0] == {"t": 5, "dir": "tx", "hex": b"AT\r".hex()}
    assert records[2] == {"t": records[2]["t"], "dir": "note", "text": "noise: ff"}
    t.close()
    back = Transcript.load(path)
    assert [(e.t_ns, e.dir, e.data) for e in back.entries()] == [
        (e.t_ns, e.dir, e.data) for e in t.entries()
    ]


def test_load_rejects_a_file_that_is_not_a_transcript(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 1, "dir": "rx", "hex": "0d0a"}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a modemcert transcript"):
        Transcript.load(path)


def test_a_crash_loses_nothing_already_recorded(tmp_path):
    """Each record is flushed on its own. (Only bytes that could still become a secret or an
    IMEI with the next chunk wait for it — digits here are avoided — see test_redact.py.)"""
    path = tmp_path / "crash.jsonl"
    code = (
        "import os, sys\n"
        "from harness.transport import Transcript\n"
        "t = Transcript(sys.argv[1])\n"
        "for i in range(50): t.record('tx' if i % 2 else 'rx', bytes([65 + i % 26]))\n"
        "os._exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], timeout=60)
    assert proc.returncode == 3
    entries = Transcript.load(path).entries()
    assert [e.data for e in entries] == [bytes([65 + i % 26]) for i in range(50)]
