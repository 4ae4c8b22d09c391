"""Chapter 5 of the GSM TCPIP Recommended Process: receiving data.

Data pushed straight to the UART (bare, or headed per AT+QIHEAD/QISHOWRA/QISHOWPT), data that
lands between a command and its answer, and data fetched with AT+QIRD after a +QIRDI URC. What
the module prints is compared with what the peer sent, byte for byte and by SHA-256.
"""

from __future__ import annotations

import re

import pytest

from harness import limits
from harness.at import ATChannel, ATTimeout, Received, UrcKind
from harness.modem import IpState, Modem, ResultCode
from harness.peer import sha256_hex as sha

#: The document's example payload (ch. 5: "IPD36TCP:1234567890abcdefghijklmnopqrstuvwxyz").
DOC_TEXT = b"1234567890abcdefghijklmnopqrstuvwxyz"
#: Module seconds we give pushed data to reach the UART (the document sets no limit; this is
#: far above a loopback or GPRS round trip).
ARRIVAL = 20.0
#: RECV-INTERLEAVE: pushes spread over the commands, this many module seconds apart.
PUSHES = 24
PUSH_STEP = 0.25
_QIRDI = re.compile(r"^\+QIRDI:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")
_CSQ = re.compile(r"^\+CSQ: ?\d+,\d+$")


def open_tcp(modem: Modem, peer) -> int:
    """AT+QIOPEN="TCP" to the peer → CONNECT OK; the peer's connection id."""
    modem.channel.drain()
    mark = peer.mark()
    opened = modem.qiopen("TCP", peer.host, peer.port)
    assert opened.outcome is ResultCode.CONNECT_OK, (
        f"OPEN-TCP: AT+QIOPEN answered {opened.outcome!r}; the document says OK, CONNECT OK"
    )
    return peer.wait_connection(limits.QIOPEN.seconds, proto="tcp", after=mark).id


def collect(at: ATChannel, n: int, timeout: float = ARRIVAL) -> list[Received]:
    """Pushed blocks (`IPD<len>:`) until `n` payload bytes came, or what came by `timeout`
    module seconds of silence (the caller's assert says what is missing)."""
    blocks: list[Received] = []
    while sum(len(b.payload) for b in blocks) < n:
        try:
            blocks.append(at.wait_received(timeout))
        except ATTimeout:
            break
    return blocks


# -- RECV-DIRECT --------------------------------------------------------------------------------
@pytest.mark.clause("RECV-DIRECT")
@pytest.mark.requires("peer.push")
@pytest.mark.parametrize("showpt", [0, 1], ids=["showpt0", "showpt1"])
@pytest.mark.parametrize("showra", [0, 1], ids=["showra0", "showra1"])
@pytest.mark.parametrize("head", [0, 1], ids=["head0", "head1"])
def test_received_data_on_the_uart(modem, pdp, peer, at, head, showra, showpt):
    """Received data goes straight to the UART; QIHEAD adds IPD<len>:, QISHOWPT the protocol
    (IPD36TCP:), QISHOWRA a RECV FROM:<ip>:<port> line; with none of them, no header at all."""
    modem.qihead(head)
    modem.qishowra(showra)
    modem.qishowpt(showpt)  # set before the session, as chapter 5 advises
    conn = open_tcp(modem, peer)
    where = f"{peer.host}:{peer.port}"
    if head:
        peer.push(conn, DOC_TEXT)
        blocks = collect(at, len(DOC_TEXT))
        got = b"".join(b.payload for b in blocks)
        assert got == DOC_TEXT, f"RECV-DIRECT: IPD blocks carried {got!r}, not the 36 bytes"
        header = (blocks[0].peer, blocks[0].proto)
        assert header == (where if showra else None, "TCP" if showpt else None), (
            f"RECV-DIRECT: with QIHEAD=1 QISHOWRA={showra} QISHOWPT={showpt} the header said "
            f"RECV FROM {header[0]!r}, protocol {header[1]!r}; expected "
            f"{where if showra else 'no RECV FROM line'}, {'TCP' if showpt else 'no protocol'}"
        )
        sent = DOC_TEXT
    else:
        sent = DOC_TEXT + b"\r\n"  # bare data is only delimited by the peer's own line end
        mark = at.transcript.mark()
        peer.push(conn, sent)
        at.wait_urc(re.escape(DOC_TEXT.decode()), ARRIVAL)
        expected = (f"RECV FROM:{where}\r\n".encode() if showra else b"") + sent
        # The line was seen at its CR; its LF may still be on the way: wait for all of it.
        got = at.rx_since(mark, expected, ARRIVAL)
        i = got.find(expected)
        on_its_own = i == 0 or (i > 0 and got[i - 1 : i] == b"\n")  # a line start, no header
        headed = b"IPD" in got or (not showra and b"RECV FROM" in got)
        assert on_its_own and not headed, (
            f"RECV-DIRECT: with QIHEAD=0 QISHOWRA={showra} the UART carried {got!r}; the "
            f"document says {expected!r} on its own (no IPD header without QIHEAD=1)"
        )
    stats = peer.stats(conn)
    assert stats.sha256_out == sha(sent), "RECV-DIRECT: the peer's digest differs from the UART's"


@pytest.mark.clause("RECV-DIRECT")
@pytest.mark.requires("peer.push")
def test_received_binary_stays_framed(modem, pdp, peer, at):
    """Every byte value and text that looks like answers (OK, CLOSED, +QISACK) arrive as data
    inside IPD<len>: and never reach the command that runs next."""
    modem.qihead(1)
    conn = open_tcp(modem, peer)
    payload = bytes(range(256)) + b"\r\nOK\r\n\r\nCLOSED\r\n+QISACK: 9, 9, 0\r\nERROR\r\n"
    peer.push(conn, payload)
    got = b"".join(b.payload for b in collect(at, len(payload)))
    assert got == payload, f"RECV-DIRECT: {len(got)} bytes came framed, not the {len(payload)}"
    assert peer.stats(conn).sha256_out == sha(got), "RECV-DIRECT: digest differs from the peer's"
    ack = modem.qisack()
    assert (ack.sent, ack.nacked) == (0, 0), f"RECV-DIRECT: AT+QISACK answered {ack} after data"
    assert modem.qistat() is IpState.CONNECT_OK, "RECV-DIRECT: the session did not stay up"


@pytest.mark.clause("RECV-DIRECT")
@pytest.mark.requires("peer.push")
def test_received_udp_datagram(modem, pdp, peer, at):
    """UDP data is headed like TCP's: RECV FROM:<ip>:<port>, then IPD<len>UDP: and the bytes."""
    modem.qihead(1)
    modem.qishowra(1)
    modem.qishowpt(1)
    at.drain()
    mark = peer.mark()
    opened = modem.qiopen("UDP", peer.host, peer.udp_port)
    assert opened.outcome is ResultCode.CONNECT_OK, (
        f"OPEN-UDP: AT+QIOPEN answered {opened.outcome!r}"
    )
    assert modem.qisend(b"hello").ok, "SEND-VAR: the first datagram was not sent"
    flow = peer.wait_connection(ARRIVAL, proto="udp", after=mark)
    collect(at, len(b"hello"))  # the peer's echo of it
    peer.push(flow.id, DOC_TEXT)
    block = at.wait_received(ARRIVAL)
    assert (block.payload, block.proto) == (DOC_TEXT, "UDP"), (
        f"RECV-DIRECT: the datagram came as {block.proto} {block.payload!r}"
    )
    assert block.peer == f"{peer.host}:{peer.udp_port}", (
        f"RECV-DIRECT: RECV FROM said {block.peer!r}, not the peer's address"
    )


# -- RECV-INTERLEAVE ----------------------------------------------------------------------------
@pytest.mark.clause("RECV-INTERLEAVE")
@pytest.mark.requires("peer.push")
def test_data_between_a_command_and_its_answer(modem, pdp, peer, at):
    """Data pushed while commands run may land between a command and its answer; every answer
    must still be whole and every byte must still reach the host, in order."""
    modem.qihead(1)
    conn = open_tcp(modem, peer)
    chunks = [b"<%02d:" % i + DOC_TEXT + b">" for i in range(PUSHES)]
    for i, chunk in enumerate(chunks):
        peer.push(conn, chunk, delay=(i + 1) * PUSH_STEP)
    expected = b"".join(chunks)
    replies: list = []
    stop_watching = at.add_observer(replies.append)
    deadline = at.clock.deadline(PUSHES * PUSH_STEP + PUSH_STEP)
    try:
        while not deadline.expired:
            reply = at.command("AT+CSQ")
            one_csq = len(reply.lines) == 1 and _CSQ.match(reply.lines[0])
            assert reply.code is ResultCode.OK and one_csq, (
                f"RECV-INTERLEAVE: AT+CSQ answered {reply.lines} {reply.final!r} while data "
                "arrived; the answer must stay one +CSQ: <rssi>,<ber> line and OK"
            )
            assert modem.qistat() is IpState.CONNECT_OK, "RECV-INTERLEAVE: QISTAT lost its state"
            ack = modem.qisack()
            assert ack.sent == 0, f"RECV-INTERLEAVE: AT+QISACK answered {ack}; nothing was sent"
    finally:
        stop_watching()
    blocks = collect(at, len(expected))
    got = b"".join(b.payload for b in blocks)
    assert got == expected, (
        f"RECV-INTERLEAVE: the host got {len(got)} bytes, not the {len(expected)} pushed in order"
    )
    assert peer.stats(conn).sha256_out == sha(got), "RECV-INTERLEAVE: digest differs"
    answered = [r for r in replies if getattr(r, "final_ns", None)]
    inside = [b for b in blocks if any(r.sent_ns < b.t_ns < r.final_ns for r in answered)]
    assert inside, (
        f"RECV-INTERLEAVE: none of {len(blocks)} blocks arrived while one of {len(replies)} "
        "commands was waiting for its answer, so the interleaving was not exercised"
    )


# -- RECV-QIRD ----------------------------------------------------------------------------------
@pytest.mark.clause("RECV-QIRD")
@pytest.mark.requires("peer.push")
def test_qird_fetches_announced_data(modem, pdp, peer, at):
    """With AT+QINDI=1: +QIRDI: 0,1,0 announces data; AT+QIRD=0,1,0,1024 returns +QIRD:
    <ip>:<port>,TCP,<len> and at most 1024 bytes per call until the buffer is empty."""
    modem.qindi(1)  # before the session, as chapter 5.2 says
    conn = open_tcp(modem, peer)
    payload = bytes(range(256)) * 8  # 2048 bytes: more than one AT+QIRD may return
    peer.push(conn, payload)
    got, calls = b"", 0
    while len(got) < len(payload):
        urc = at.wait_urc(UrcKind.QIRDI, ARRIVAL)
        m = _QIRDI.match(urc.text)
        assert m and tuple(map(int, m.groups())) == (0, 1, 0), (
            f"RECV-QIRD: the URC was {urc.text!r}; the document says +QIRDI: 0,1,0 "
            "(context 0, client, link 0)"
        )
        while True:
            result = modem.qird(limits.QIRD_MAX)
            calls += 1
            assert not result.closed, "RECV-QIRD: AT+QIRD answered ERROR with data pending"
            if not result.data:
                break
            for block in result.blocks:
                assert (block.peer, block.proto) == (f"{peer.host}:{peer.port}", "TCP"), (
                    f"RECV-QIRD: the header named {block.peer},{block.proto}; the document "
                    "says +QIRD: <peer ip>:<port>,TCP,<len>"
                )
            got += result.data
    assert got == payload, f"RECV-QIRD: AT+QIRD returned {len(got)} bytes, not the 2048 pushed"
    assert calls >= 3, f"RECV-QIRD: 2048 bytes came in {calls - 1} calls of at most 1024"
    assert peer.stats(conn).sha256_out == sha(got), "RECV-QIRD: digest differs from the peer's"


@pytest.mark.clause("RECV-QIRD")
@pytest.mark.requires("peer.push", "peer.close")
def test_qird_after_the_peer_closed(modem, pdp, peer, at):
    """Data the peer sent before closing is still fetched; then AT+QIRD answers ERROR (link
    closed, buffer empty: PROTOCOL.md §8)."""
    modem.qindi(1)
    peer.set_mode("push", proto="tcp", count=1, data=DOC_TEXT, then="close")
    open_tcp(modem, peer)
    at.wait_urc(UrcKind.QIRDI, ARRIVAL)
    at.wait_urc(UrcKind.CLOSED, ARRIVAL)
    result = modem.qird(limits.QIRD_MAX)
    assert result.data == DOC_TEXT, f"RECV-QIRD: after the close AT+QIRD gave {result.data!r}"
    result = modem.qird(limits.QIRD_MAX)
    assert result.closed and not result.data, (
        f"RECV-QIRD: closed and empty, AT+QIRD answered {result.reply.final!r}; PROTOCOL.md §8 "
        "says ERROR"
    )
