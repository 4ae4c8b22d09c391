"""The seed exchanges byte for byte (both editions of the document), with and without echo,
and the URCs and pushed blocks that may interrupt them at a line boundary."""

from __future__ import annotations

from collections.abc import Sequence

from _at_cases import Case, frame, run, with_echo

from harness.protocol import Codec, spec_for

ABC = b"1234567890abcdefghijklmnopqrstuvwxyz"  # the seeds' 36-byte payload
OPEN_TCP = 'AT+QIOPEN="TCP","116.226.39.202","7007"'
OPEN_UDP = 'AT+QIOPEN="UDP","116.226.39.202","7007"'

#: Every example exchange of the two seed documents (English ch. 2–8; the Chinese edition adds
#: AT+CGATT? and spells the URCs `+CREG:1` / `+CERG:5`), with the spellings of the seeds.
SEED_CASES: tuple[Case, ...] = (
    Case("ipr", "AT+IPR=115200&W", (frame("OK"),), final="OK", ok=True, stages=("OK",)),
    Case(
        "cpin",
        "AT+CPIN?",
        (frame("+CPIN:READY"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+CPIN:READY",),
        stages=("OK",),
    ),
    Case(
        "creg",
        "AT+CREG?",
        (frame("+CREG: 0,1"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+CREG: 0,1",),
        stages=("OK",),
    ),
    Case(
        "cgatt-cn",
        "AT+CGATT?",
        (frame("+CGATT: 1"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+CGATT: 1",),
        stages=("OK",),
    ),
    *(
        Case(f"set-{cmd}", cmd, (frame("OK"),), final="OK", ok=True, stages=("OK",))
        for cmd in (
            "AT+QIFGCNT=0",
            'AT+QICSGP=1,"CMNET"',
            "AT+QIDNSIP=1",
            "AT+QINDI=1",
            "AT+QIHEAD=1",
            "AT+QISHOWRA=1",
            "AT+QISHOWPT=1",
            "AT+QIMODE=1",
            "AT+QITCFG=3,2,512,1",
            "AT+QIMUX=0",
        )
    ),
    Case(
        "qiopen-tcp",
        OPEN_TCP,
        (frame("OK"), frame("CONNECT OK")),
        final="CONNECT OK",
        ok=True,
        stages=("OK", "CONNECT OK"),
    ),
    Case(
        "qiopen-udp",
        OPEN_UDP,
        (frame("OK"), frame("CONNECT OK")),
        final="CONNECT OK",
        ok=True,
        stages=("OK", "CONNECT OK"),
    ),
    Case("qiopen-error", OPEN_TCP, (frame("ERROR"),), final="ERROR", ok=False, stages=("ERROR",)),
    Case(
        "qiopen-already",
        OPEN_TCP,
        (frame("ALREADY CONNECT"), frame("ERROR")),
        final="ALREADY CONNECT",
        ok=False,
        stages=("ALREADY CONNECT",),
        absorbed=1,
    ),
    Case(
        "qiopen-fail",
        OPEN_TCP,
        (frame("OK"), frame("CONNECT FAIL")),
        final="CONNECT FAIL",
        ok=False,
        stages=("OK", "CONNECT FAIL"),
    ),
    Case(
        "qimux-read",
        "AT+QIMUX?",
        (frame("+QIMUX: 1"), frame("OK")),
        final="OK",
        ok=True,
        lines=("+QIMUX: 1",),
        stages=("OK",),
    ),
    Case(
        "qistat-connecting",
        "AT+QISTAT",
        (frame("OK"), frame("STATE: TCP CONNECTING")),
        final="STATE: TCP CONNECTING",
        ok=True,
        stages=("OK", "STATE: TCP CONNECTING"),
    ),
    Case(
        "qisend-test",
        "AT+QISEND",
        (b"\r\n> ",),
        payload=b"TEST",
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    Case(
        "qisend-fixed-special",
        "AT+QISEND=3",
        (b"\r\n> ",),
        payload=b"\x08\x1a\x1b",
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    Case(
        "qisend-abc",
        "AT+QISEND",
        (b"\r\n> ",),
        payload=ABC,
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    Case(
        "qisend-heart",
        "AT+QISEND",
        (b"\r\n> ",),
        payload=b"Heart01",
        after=(frame("SEND OK"),),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
    ),
    *(
        Case(
            f"qisack-{ack}",
            "AT+QISACK",
            (frame(f"+QISACK: {ack}"), frame("OK")),
            final="OK",
            ok=True,
            lines=(f"+QISACK: {ack}",),
            stages=("OK",),
        )
        for ack in (
            "4, 4, 0",
            "17, 17, 0",
            "1448, 1448, 0",
            "1484,1448,36",
            "1484,1484,0",
            "1491,1491,0",
        )
    ),
    Case(
        "recv-direct",
        None,
        (b"\r\nRECV FROM:116.228.146.250:7070\r\nIPD36TCP:" + ABC, b"\r\n"),
        received=(ABC,),
    ),
    Case("qirdi", None, (frame("+QIRDI:0,1,0"),), urcs=("+QIRDI:0,1,0",)),
    Case(
        "qird",
        "AT+QIRD=0,1,0,1024",
        (b"\r\n+QIRD:116.228.146.250:7070,TCP,36\r\n" + ABC, frame("OK")),
        final="OK",
        ok=True,
        stages=("OK",),
        blocks=(ABC,),
    ),
    Case(
        "qiclose",
        "AT+QICLOSE",
        (frame("CLOSE OK"),),
        final="CLOSE OK",
        ok=True,
        stages=("CLOSE OK",),
    ),
    Case(
        "qideact",
        "AT+QIDEACT",
        (frame("DEACT OK"),),
        final="DEACT OK",
        ok=True,
        stages=("DEACT OK",),
    ),
    Case("creg-urc-1", None, (frame("+CREG: 1"),), urcs=("+CREG: 1",)),
    Case("creg-urc-5", None, (frame("+CREG: 5"),), urcs=("+CREG: 5",)),
    Case("cgreg-urc-1", None, (frame("+CGREG: 1"),), urcs=("+CGREG: 1",)),
    Case("cgreg-urc-5", None, (frame("+CGREG: 5"),), urcs=("+CGREG: 5",)),
    Case("creg-urc-cn", None, (frame("+CREG:1"),), urcs=("+CREG:1",)),
    Case("cerg-typo-cn", None, (frame("+CERG:5"),), urcs=("+CERG:5",)),
)

#: Facts of PROTOCOL.md beyond the seeds, as exchanges (the quirk tests add more by hand).
PROTOCOL_CASES: tuple[Case, ...] = (
    Case(
        "qilocip",
        "AT+QILOCIP",
        (frame("10.152.38.7"),),
        final="10.152.38.7",
        ok=True,
        stages=("10.152.38.7",),
    ),
    Case(
        "qiopen-mux",
        'AT+QIOPEN=0,"TCP","127.0.0.1",7007',
        (frame("OK"), frame("0, CONNECT OK")),
        mux=True,
        final="0, CONNECT OK",
        ok=True,
        stages=("OK", "0, CONNECT OK"),
    ),
    Case(
        "qiclose-mux",
        "AT+QICLOSE=0",
        (frame("0, CLOSE OK"),),
        mux=True,
        final="0, CLOSE OK",
        ok=True,
        stages=("0, CLOSE OK",),
    ),
    Case(
        "qistat-mux",
        "AT+QISTAT",
        (frame('+QISTAT: 0, "TCP", "127.0.0.1", 7007'), frame("OK")),
        mux=True,
        final="OK",
        ok=True,
        lines=('+QISTAT: 0, "TCP", "127.0.0.1", 7007',),
        stages=("OK",),
    ),
    Case(
        "qidnsgip",
        'AT+QIDNSGIP="localhost"',
        (frame("OK"), frame("127.0.0.1")),
        final="127.0.0.1",
        ok=True,
        stages=("OK", "127.0.0.1"),
    ),
    Case(
        "qpowd",
        "AT+QPOWD=1",
        (frame("NORMAL POWER DOWN"),),
        final="NORMAL POWER DOWN",
        ok=True,
        stages=("NORMAL POWER DOWN",),
    ),
    Case(
        "ati",
        "ATI",
        (frame("Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08"), frame("OK")),
        final="OK",
        ok=True,
        lines=("Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08"),
        stages=("OK",),
    ),
    Case(
        "gsn",
        "AT+GSN",
        (frame("861234567890123"), frame("OK")),
        final="OK",
        ok=True,
        lines=("861234567890123",),
        stages=("OK",),
    ),
    Case(
        "cme-3517",
        "AT+QIACT",
        (frame("+CME ERROR: 3517"),),
        final="+CME ERROR: 3517",
        ok=False,
        code=3517,
        stages=("+CME ERROR: 3517",),
    ),
    Case(
        "qird-udp-blocks",
        "AT+QIRD=0,1,0,1500",
        (
            b"\r\n+QIRD: 127.0.0.1:7007,UDP,5\r\nOK\r\nX",
            b"\r\n+QIRD: 127.0.0.1:7007,UDP,6\r\nCLOSED",
            frame("OK"),
        ),
        final="OK",
        ok=True,
        stages=("OK",),
        blocks=(b"OK\r\nX", b"CLOSED"),
    ),
    Case(
        "qisend-then-push",
        "AT+QISEND=5",
        (b"\r\n> ",),
        payload=b"Hello",
        after=(frame("SEND OK"), frame("+QIRDI: 0,1,0"), b"IPD5:Hello", b"\r\n"),
        final="SEND OK",
        ok=True,
        stages=(">", "SEND OK"),
        urcs=("+QIRDI: 0,1,0",),
        received=(b"Hello",),
    ),
)

CASES: tuple[Case, ...] = SEED_CASES + PROTOCOL_CASES
ALL_CASES: tuple[Case, ...] = CASES + tuple(with_echo(c) for c in CASES if c.command)

#: Unsolicited output a module may put between any two lines of a reply (PROTOCOL.md §3, §8,
#: §11, §13.4): URC lines and pushed data blocks, each with what it must come out as.
INTERRUPTIONS: tuple[tuple[bytes, tuple[str, ...], tuple[bytes, ...]], ...] = (
    (frame("RDY"), ("RDY",), ()),
    (frame("+CFUN: 1"), ("+CFUN: 1",), ()),
    (frame("+CPIN: READY"), ("+CPIN: READY",), ()),
    (frame("Call Ready"), ("Call Ready",), ()),
    (frame("SMS Ready"), ("SMS Ready",), ()),
    (frame("+CREG: 1"), ("+CREG: 1",), ()),
    (frame('+CREG: 1,"2842","0461"'), ('+CREG: 1,"2842","0461"',), ()),
    (frame("+CGREG: 5"), ("+CGREG: 5",), ()),
    (frame("CLOSED"), ("CLOSED",), ()),
    (frame("0, CLOSED"), ("0, CLOSED",), ()),
    (frame("0, CLOS"), ("0, CLOS",), ()),
    (frame("+PDP DEACT"), ("+PDP DEACT",), ()),
    (frame("+QIRDI: 0,1,0"), ("+QIRDI: 0,1,0",), ()),
    (frame("+QIRDI:0,1,0,1,36,36"), ("+QIRDI:0,1,0,1,36,36",), ()),
    (frame("UNDER_VOLTAGE WARNING"), ("UNDER_VOLTAGE WARNING",), ()),
    (frame("UNDER-VOLTAGE WARNNING"), ("UNDER-VOLTAGE WARNNING",), ()),
    (frame("OVER_VOLTAGE POWER DOWN"), ("OVER_VOLTAGE POWER DOWN",), ()),
    (frame("NORMAL POWER DOWN"), ("NORMAL POWER DOWN",), ()),
    (b"\r\nRECV FROM:10.0.0.1:7007\r\nIPD4TCP:OK\r\n", (), (b"OK\r\n",)),
    (b"\r\n+RECEIVE: 0, 5\r\nIPD5:ERROR", ("+RECEIVE: 0, 5",), (b"ERROR",)),
    (b"\r\nIPD6UDP:CLOSED\r\n", (), (b"CLOSED",)),
)


def interruption_allowed(case: Case, urc: bytes) -> bool:
    """False where the "URC" would really be the command's own answer."""
    name = case.command and spec_for(case.command).name
    if name == "+CPIN" and b"+CPIN" in urc:
        return False
    if name == "+CFUN" and b"+CFUN" in urc:
        return False
    return not (name == "+QPOWD" and b"POWER DOWN" in urc)


def boundaries(case: Case) -> list[tuple[str, int]]:
    """Every line boundary of the module's output where a URC may come."""
    spots = [("before", i) for i in range(len(case.before) + 1)]
    if case.payload is not None:
        spots += [("after", i) for i in range(len(case.after) + 1)]
    return spots


def insert(case: Case, where: Sequence[tuple[tuple[str, int], bytes]]):
    """The case's pieces with `where` = [((segment, index), bytes)] spliced in."""
    parts = {"before": list(case.before), "after": list(case.after)}
    for (segment, index), urc in sorted(where, key=lambda w: w[0], reverse=True):
        parts[segment].insert(index, urc)
    return parts["before"], parts["after"]


def open_transparent() -> Codec:
    """A codec in data mode after AT+QIOPEN with AT+QIMODE=1 (OK, CONNECT)."""
    codec, _ = run([("begin", OPEN_TCP, False, 1), ("feed", frame("OK") + b"\r\nCONNECT\r")])
    assert codec.data_mode
    return codec
