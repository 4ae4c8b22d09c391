"""The AT channel over a real PTY against a scripted module (the reader thread, ORDER,
timeouts, URCs, QISEND, transparent mode)."""

import threading

import pytest
from _at_cases import frame
from _at_seeds import ABC, OPEN_TCP

from harness import limits
from harness.at import (
    ALREADY_CONNECT_SETTLE,
    ATChannel,
    ATError,
    ATTimeout,
    PortClosed,
    Reply,
    SendRefused,
    UrcKind,
)
from harness.at import wire as at_wire
from harness.clock import Clock, stamp
from harness.limits import Verdict
from harness.transport import Transport

WALL = Clock(1.0)


def test_command_reply_fields(at_channel, pty_responder):
    pty_responder.on(b"AT+CSQ\r", b"AT+CSQ\r", b"\r\n+CSQ: 25,0\r\n", b"\r\nOK\r\n")
    reply = at_channel.command("AT+CSQ")
    assert (reply.command, reply.lines, reply.final, reply.ok) == (
        "AT+CSQ",
        ["+CSQ: 25,0"],
        "OK",
        True,
    )
    assert reply.echo == "AT+CSQ" and reply.error_code is None
    assert [s.text for s in reply.stages] == ["OK"]
    assert reply.raw == b"AT+CSQ\r\r\n+CSQ: 25,0\r\n\r\nOK\r\n"
    assert reply.final_ns >= reply.sent_ns and reply.elapsed >= 0
    assert reply.elapsed == at_channel.clock.module_between(reply.sent_ns, reply.final_ns)
    timing = reply.timing()
    assert (timing.clause, timing.limit, timing.verdict) == ("AT-TIMEOUT", 60.0, Verdict.PASS)
    assert reply.timing("INIT-CPIN").clause == "INIT-CPIN"


def test_two_stage_open_records_both_stages(at_channel, pty_responder):
    gate = threading.Event()
    pty_responder.on(OPEN_TCP.encode() + b"\r", frame("OK"), gate, frame("CONNECT OK"))
    result = []
    worker = threading.Thread(target=lambda: result.append(at_channel.command(OPEN_TCP)))
    worker.start()
    gate.set()
    worker.join(10)
    (reply,) = result
    assert [s.text for s in reply.stages] == ["OK", "CONNECT OK"] and reply.ok
    assert reply.stages[0].elapsed <= reply.stages[1].elapsed == reply.elapsed
    assert reply.timing().clause == "OPEN-TCP"


def test_check_raises_at_error_with_the_code(at_channel, pty_responder):
    pty_responder.on(b"AT+QIACT\r", frame("+CME ERROR: 3517"))
    with pytest.raises(ATError, match="3517") as e:
        at_channel.command("AT+QIACT", check=True)
    assert e.value.code == 3517 and e.value.reply.final == "+CME ERROR: 3517"


def test_a_command_that_never_answers_times_out_at_its_scaled_limit(pty_responder):
    clock = Clock(0.001)
    with ATChannel(Transport(pty_responder.port), clock) as channel:
        pty_responder.on(OPEN_TCP.encode() + b"\r", frame("OK"))  # then nothing
        start = stamp()
        with pytest.raises(ATTimeout) as e:
            channel.command(OPEN_TCP)
        waited = clock.since(start)
        assert waited >= limits.QIOPEN.seconds  # module seconds: the QIOPEN limit, scaled
        err = e.value
        assert err.limit is limits.QIOPEN and err.reply.final is None and not err.reply.ok
        assert [s.text for s in err.reply.stages] == ["OK"]
        assert "AT+QIOPEN" in err.transcript_tail and "no final answer" in str(err)
        # the late result is a URC, and the channel still works
        pty_responder.send(frame("CONNECT OK"))
        late = channel.wait_urc("CONNECT", 10_000)
        assert late.kind is UrcKind.LATE
        pty_responder.on(b"AT\r", frame("OK"))
        assert channel.command("AT", timeout=10_000).ok


def test_explicit_timeout_overrides_the_limit(pty_responder):
    clock = Clock(0.001)
    with ATChannel(Transport(pty_responder.port), clock) as channel:
        start = stamp()
        with pytest.raises(ATTimeout) as e:
            channel.command("AT+QIACT", timeout=5)
        assert clock.since(start) >= 5
        assert e.value.limit is limits.QIACT and "within 5 s" in str(e.value)


def test_port_disappearing_mid_command_is_port_closed(at_channel, pty_responder):
    def vanish():
        threading.Thread(target=pty_responder.disappear, daemon=True).start()

    pty_responder.on(b"AT+QIACT\r", vanish)
    with pytest.raises(PortClosed, match="AT\\+QIACT"):
        at_channel.command("AT+QIACT")
    with pytest.raises(PortClosed):
        at_channel.command("AT")


def test_concurrent_callers_are_serialised(at_channel, pty_responder):
    gate = threading.Event()
    pty_responder.on(b"AT+A\r", gate, frame("+A: 1", "OK"))
    pty_responder.on(b"AT+B\r", frame("+B: 2", "OK"))
    replies = {}
    a = threading.Thread(target=lambda: replies.setdefault("a", at_channel.command("AT+A")))
    a.start()
    assert pty_responder.wait_for(b"AT+A\r")
    b = threading.Thread(target=lambda: replies.setdefault("b", at_channel.command("AT+B")))
    b.start()
    # B must not be written while A waits for its answer (ORDER)
    assert not pty_responder.wait_for(b"AT+B\r", wall_timeout=0.2)
    gate.set()
    a.join(10)
    b.join(10)
    assert replies["a"].lines == ["+A: 1"] and replies["b"].lines == ["+B: 2"]
    assert pty_responder.received == b"AT+A\rAT+B\r"


def test_many_threads_never_mix_replies(at_channel, pty_responder):
    outstanding = []
    violations = []

    def answer(n):
        def reply():
            if outstanding:
                violations.append(n)
            outstanding.append(n)
            outstanding.pop()
            pty_responder.send(frame(f"+TAG: {n}", "OK"))

        return reply

    for n in range(40):
        pty_responder.on(f"AT+TAG={n}\r", answer(n))
    results = {}

    def worker(first):
        for n in range(first, 40, 4):
            results[n] = at_channel.command(f"AT+TAG={n}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not violations
    assert {n: r.lines for n, r in results.items()} == {n: [f"+TAG: {n}"] for n in range(40)}


def test_urc_in_the_middle_of_a_reply(at_channel, pty_responder):
    pty_responder.on(
        b"AT+CREG?\r", frame("+CREG: 0,1"), frame("+QIRDI: 0,1,0"), frame("+CREG: 5"), frame("OK")
    )
    reply = at_channel.command("AT+CREG?")
    assert reply.lines == ["+CREG: 0,1"] and reply.final == "OK"
    urc = at_channel.wait_urc("QIRDI", 10)
    assert urc.text == "+QIRDI: 0,1,0" and urc.kind is UrcKind.QIRDI
    assert reply.sent_ns <= urc.t_ns <= reply.final_ns
    assert at_channel.wait_urc(UrcKind.CREG, 10).text == "+CREG: 5"


def test_wait_urc_keeps_the_others_and_times_out(at_channel, pty_responder):
    pty_responder.send(frame("Call Ready", "+CPIN: READY", "SMS Ready"))
    assert at_channel.wait_urc(r"^\+CPIN", 100).text == "+CPIN: READY"
    with pytest.raises(ATTimeout, match="URC matching"):
        at_channel.wait_urc("never", 1)
    assert [u.text for u in at_channel.urcs()] == ["Call Ready", "SMS Ready"]
    assert at_channel.urcs() == []


def test_wait_received_pushed_data(at_channel, pty_responder):
    pty_responder.send(b"\r\nRECV FROM:116.228.146.250:7070\r\nIPD36TCP:" + ABC + b"\r\n")
    r = at_channel.wait_received(100)
    assert (r.payload, r.peer, r.proto) == (ABC, "116.228.146.250:7070", "TCP")
    with pytest.raises(ATTimeout):
        at_channel.wait_received(1)


def test_a_missing_payload_is_ended_by_the_frame_gap(at_channel, pty_responder):
    pty_responder.send(b"\r\nIPD10:abc")
    r = at_channel.wait_received(10_000)
    assert r.payload == b"abc" and not r.complete
    pty_responder.on(b"AT\r", frame("OK"))
    assert at_channel.command("AT").ok


def test_qird_reply_carries_the_data(at_channel, pty_responder):
    pty_responder.on(
        b"AT+QIRD=0,1,0,1024\r",
        b"\r\n+QIRD:116.228.146.250:7070,TCP,36\r\n" + ABC[:10],
        ABC[10:] + frame("OK"),
    )
    reply = at_channel.command("AT+QIRD=0,1,0,1024")
    assert reply.data == ABC and reply.blocks[0].peer == "116.228.146.250:7070"


def test_echo_mux_and_mode_are_tracked_from_successful_commands(at_channel, pty_responder):
    pty_responder.on(b"ATE1\r", b"ATE1\r\r\nOK\r\n")
    pty_responder.on(b"AT+QIMUX=1\r", b"AT+QIMUX=1\r" + frame("OK"))
    pty_responder.on(b"AT+QIMODE=1\r", b"AT+QIMODE=1\r" + frame("ERROR"))
    assert at_channel.echo is None
    at_channel.command("ATE1")
    at_channel.command("AT+QIMUX=1")
    at_channel.command("AT+QIMODE=1")
    assert at_channel.echo is True and at_channel.mux is True and at_channel.mode == 0
    pty_responder.on(b"ATE0\r", b"ATE0\r\r\nOK\r\n")
    at_channel.command("ATE0")
    assert at_channel.echo is False
    pty_responder.send(frame("RDY"))  # a reboot: defaults again
    assert at_channel.wait_urc(UrcKind.RDY, 100)
    assert (at_channel.echo, at_channel.mux, at_channel.mode) == (None, False, 0)


def test_mux_changes_the_framing_of_the_next_commands(at_channel, pty_responder):
    pty_responder.on(b"AT+QIMUX=1\r", frame("OK"))
    at_channel.command("AT+QIMUX=1")
    pty_responder.on(b"AT+QISTAT\r", frame('+QISTAT: 0, "", ""', "OK"))
    assert at_channel.command("AT+QISTAT").final == "OK"
    pty_responder.on(b"AT+QISEND=2,3\r", b"\r\n> ")
    pty_responder.on(b"abc", frame("SEND OK"))
    assert at_channel.send_data(b"abc", link=2).final == "SEND OK"
    with pytest.raises(SendRefused, match="QIMUX"):
        at_channel.send_data(b"abc", fixed=False)


def test_already_connect_then_error_does_not_reach_the_next_command(at_channel, pty_responder):
    pty_responder.on(OPEN_TCP.encode() + b"\r", frame("ALREADY CONNECT"), frame("ERROR"))
    pty_responder.on(b"AT+QICLOSE\r", frame("CLOSE OK"))
    reply = at_channel.command(OPEN_TCP)
    assert reply.final == "ALREADY CONNECT" and not reply.ok
    assert at_channel.command("AT+QICLOSE").final == "CLOSE OK"
    assert at_channel.urcs() == []


def test_already_connect_without_error_waits_only_the_settle_window(at_channel, pty_responder):
    pty_responder.on(OPEN_TCP.encode() + b"\r", frame("ALREADY CONNECT"))
    start = stamp()
    at_channel.command(OPEN_TCP)
    assert at_channel.clock.since(start) >= ALREADY_CONNECT_SETTLE
    pty_responder.on(b"AT+QICLOSE\r", frame("ERROR"))
    assert at_channel.command("AT+QICLOSE").final == "ERROR"


def test_observers_see_every_finished_command(pty_responder):
    seen = []
    with ATChannel(Transport(pty_responder.port), Clock(0.001)) as channel:
        remove = channel.add_observer(seen.append)
        pty_responder.on(b"AT\r", frame("OK"))
        channel.command("AT", timeout=10_000)
        with pytest.raises(ATTimeout):
            channel.command("AT+QIDEACT")
        remove()
        pty_responder.on(b"ATI\r", frame("OK"))
        channel.command("ATI", timeout=10_000)
    assert [type(x) for x in seen] == [Reply, ATTimeout]
    assert seen[0].command == "AT" and seen[1].reply.command == "AT+QIDEACT"


def test_bad_command_lines_are_refused(at_channel):
    for bad in ("AT\r", "hello", "AT\nAT", "ATé"):
        with pytest.raises(SendRefused, match="not one AT command line"):
            at_channel.command(bad)
    with pytest.raises(SendRefused, match="str"):
        at_channel.command(b"AT")


def test_closed_channel_refuses_with_port_closed(pty_responder):
    channel = ATChannel(Transport(pty_responder.port), Clock(0.01))
    with pytest.raises(PortClosed, match="not started"):
        channel.command("AT")
    channel.start()
    channel.close()
    channel.close()
    with pytest.raises(PortClosed, match="closed"):
        channel.command("AT")


# -- AT+QISEND --------------------------------------------------------------------------------
def test_send_fixed_length(at_channel, pty_responder):
    pty_responder.on(b"AT+QISEND=3\r", b"\r\n> ")
    pty_responder.on(b"\x08\x1a\x1b", frame("SEND OK"))
    reply = at_channel.send_data(b"\x08\x1a\x1b")
    assert [s.text for s in reply.stages] == [">", "SEND OK"] and reply.ok
    assert pty_responder.received == b"AT+QISEND=3\r\x08\x1a\x1b"
    assert reply.sent_ns > reply.stages[0].t_ns  # elapsed counts from the payload


def test_send_variable_with_echo_on(at_channel, pty_responder):
    pty_responder.on(b"ATE1\r", b"ATE1\r\r\nOK\r\n")
    at_channel.command("ATE1")
    pty_responder.on(b"AT+QISEND\r", b"AT+QISEND\r\r\n> ")
    pty_responder.on(b"Hello\x1a", b"Hello", frame("SEND OK"))
    reply = at_channel.send_data(b"Hello", fixed=False)
    assert reply.final == "SEND OK" and reply.lines == [] and reply.echo == "AT+QISEND"


def test_send_refusals(at_channel):
    with pytest.raises(SendRefused, match="1460"):
        at_channel.send_data(b"x" * (limits.SEND_MAX + 1))
    with pytest.raises(SendRefused, match="0x1A"):
        at_channel.send_data(b"ab\x1acd", fixed=False)
    with pytest.raises(SendRefused, match="empty"):
        at_channel.send_data(b"")


def test_send_raw_input_types_the_bytes_verbatim(at_channel, pty_responder):
    pty_responder.on(b"AT+QISEND\r", b"\r\n> ")
    pty_responder.on(b"AB\x08C\x1b", frame("OK"))
    reply = at_channel.send_data(b"AB\x08C\x1b", fixed=False, raw_input=True)
    assert reply.final == "OK" and pty_responder.received.endswith(b"AB\x08C\x1b")


def test_send_error_instead_of_prompt(at_channel, pty_responder):
    pty_responder.on(b"AT+QISEND=4\r", frame("ERROR"))
    reply = at_channel.send_data(b"data")
    assert reply.final == "ERROR" and not reply.ok and b"data" not in pty_responder.received


def test_send_without_prompt_times_out(pty_responder):
    with ATChannel(Transport(pty_responder.port), Clock(0.001)) as channel:
        with pytest.raises(ATTimeout):
            channel.send_data(b"data")
        assert b"data" not in pty_responder.received


# -- what a faithful module sends, however it frames it ----------------------------------------
def echo_on(channel: ATChannel, responder) -> None:
    """Show the channel that echo is on (an echoed ATE1)."""
    responder.on(b"ATE1\r", b"ATE1\r" + frame("OK"))
    assert channel.command("ATE1").ok


def test_the_next_command_waits_for_the_lf_of_a_final(pty_responder, monkeypatch):
    """A final ended in CR with its LF due: the next command is written only after that LF, so
    its echo cannot come before it (RECV-INTERLEAVE on a module whose LF came late)."""
    lf = threading.Event()
    pty_responder.on(b"AT\r", b"AT\r\r\nOK\r", lf, b"\n")
    pty_responder.on(b"AT+CSQ\r", b"AT+CSQ\r" + frame("+CSQ: 25,0", "OK"))
    monkeypatch.setattr(at_wire, "LF_DUE", 10.0)  # the negative wait below cannot outlast it
    with ATChannel(Transport(pty_responder.port), WALL) as channel:
        assert channel.command("AT").final == "OK"
        replies = []
        worker = threading.Thread(target=lambda: replies.append(channel.command("AT+CSQ")))
        worker.start()
        assert not pty_responder.wait_for(b"AT+CSQ\r", wall_timeout=0.05)
        lf.set()
        worker.join(10)
        assert replies[0].lines == ["+CSQ: 25,0"]
        assert pty_responder.received == b"AT\rAT+CSQ\r"


def test_a_missing_lf_delays_the_next_command_only_briefly(at_channel, pty_responder):
    pty_responder.on(b"AT\r", b"AT\r\r\nOK\r")  # the LF never comes
    pty_responder.on(b"AT+CSQ\r", b"AT+CSQ\r" + frame("+CSQ: 25,0", "OK"))
    assert at_channel.command("AT").ok
    assert at_channel.command("AT+CSQ").lines == ["+CSQ: 25,0"]


def test_a_late_lf_that_splits_the_next_echo_is_noise(at_channel, pty_responder):
    """The echo overtook the LF of the previous final: `A`, `\\n`, `T+CSQ`."""
    pty_responder.on(b"AT\r", b"AT\r\r\nOK\r")
    pty_responder.on(b"AT+CSQ\r", b"A", b"\nT+CSQ\r", frame("+CSQ: 25,0", "OK"))
    assert at_channel.command("AT").ok
    reply = at_channel.command("AT+CSQ")
    assert (reply.echo, reply.lines, reply.final) == ("AT+CSQ", ["+CSQ: 25,0"], "OK")


def test_with_echo_on_a_urc_before_the_echo_is_queued_not_answered(at_channel, pty_responder):
    echo_on(at_channel, pty_responder)
    pty_responder.on(b"AT+CPIN?\r", frame("+CPIN: READY"), b"AT+CPIN?\r", frame("+CME ERROR: 14"))
    reply = at_channel.command("AT+CPIN?")
    assert (reply.lines, reply.final) == ([], "+CME ERROR: 14")
    assert at_channel.wait_urc(UrcKind.CPIN, 10).text == "+CPIN: READY"


def test_a_late_answer_to_a_timed_out_sync_at_is_not_the_next_reply(at_channel, pty_responder):
    """At small time scales a sync `AT` can time out and be answered late: that echo and OK
    belong to it, not to the command now in flight."""
    echo_on(at_channel, pty_responder)
    with pytest.raises(ATTimeout):
        at_channel.command("AT", timeout=1)
    pty_responder.on(b"AT+CSQ\r", b"AT\r" + frame("OK"), b"AT+CSQ\r", frame("+CSQ: 25,0", "ERROR"))
    reply = at_channel.command("AT+CSQ")
    assert (reply.lines, reply.final) == (["+CSQ: 25,0"], "ERROR")
    assert [(u.text, u.kind) for u in at_channel.urcs()] == [
        ("AT", UrcKind.STRAY),
        ("OK", UrcKind.STRAY),
    ]


@pytest.mark.parametrize("payload", [b"S123", b"SEND", b"OK", b"\r\nxy"])
def test_send_with_echo_on_to_a_module_that_does_not_echo_payload(
    at_channel, pty_responder, payload
):
    """AT+QISDE=0 (or firmware): the fixed-length payload is not echoed; SEND OK follows."""
    echo_on(at_channel, pty_responder)
    command = b"AT+QISEND=%d\r" % len(payload)
    pty_responder.on(command, command + b"\r\n> ")
    pty_responder.on(payload, b"\r", b"\nSE", b"ND OK\r\n")
    reply = at_channel.send_data(payload)
    assert ([s.text for s in reply.stages], reply.lines) == ([">", "SEND OK"], [])


def test_rx_since_waits_for_the_bytes_still_on_the_way(at_channel, pty_responder):
    """A URC is seen at its CR; its LF may still be on the line: rx_since waits for it."""
    mark = at_channel.transcript.mark()
    pty_responder.send(b"\r\nhello\r")
    at_channel.wait_urc("hello", 100)
    got = []
    worker = threading.Thread(
        target=lambda: got.append(at_channel.rx_since(mark, b"hello\r\n", 10_000))
    )
    worker.start()
    pty_responder.send(b"\n")
    worker.join(10)
    assert got == [b"\r\nhello\r\n"]
    assert at_channel.rx_since(mark, b"never", 1) == b"\r\nhello\r\n"


def test_channel_errors_say_whose_fault_they_are():
    from harness.at import ChannelError
    from harness.errors import Category, category_of

    reply = Reply("AT", [], "ERROR", False, [], 0.0)
    assert category_of(ATTimeout("late")) is Category.LIMIT_EXCEEDED
    assert category_of(ATError(reply)) is Category.PROTOCOL_DEVIATION
    assert category_of(SendRefused("no")) is Category.USAGE_ERROR
    assert all(issubclass(e, ChannelError) for e in (ATTimeout, ATError, SendRefused))
