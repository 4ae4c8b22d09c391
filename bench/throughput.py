"""Windowed AT+QISEND throughput against the line rate: 1460-byte fixed-length sends to a peer in
`sink` mode, `AT+QISACK` after each, waiting only while nAcked ≥ 3000 (SEND-WINDOW).

The simulator paces its output at 115200 baud (8N1: 11520 bytes/s); with echo on (ATE1) the
payload's echo carries that bound, as the wire does. Figure: payload bytes/s ÷ line rate.

    python bench/throughput.py [--bytes 200000] [--quick]
"""

from __future__ import annotations

import argparse
import random

from _common import (
    BenchError,
    Rig,
    bench_profile,
    positive,
    qisack,
    ratio,
    run,
    simulated,
    table,
    verdict_line,
)

from harness import limits
from harness.clock import stamp
from harness.commands import ResultCode
from harness.peer import sha256_hex

TARGET = 0.90
RATE = limits.IPR_DEFAULT_RATE
LINE_BYTES_PER_S = RATE / 10  # 8N1: ten bits on the wire per byte
QUICK_BYTES = 4 * limits.SEND_MAX
SEND_OK_LINE = b"\r\nSEND OK\r\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bytes", type=positive(int), default=200_000, help="payload bytes to send")
    p.add_argument("--quick", action="store_true", help=f"a short run for CI ({QUICK_BYTES} B)")
    args = p.parse_args(argv)
    if args.quick:
        args.bytes = QUICK_BYTES
    return args


def send_windowed(rig: Rig, payload: bytes) -> dict[str, float]:
    """SEND-WINDOW: QISEND chunks of SEND_MAX, QISACK after each, poll while nAcked is high."""
    channel = rig.need_channel()
    mark = rig.need_channel().transcript.mark()
    sends = polls = waits = 0
    echo_bytes, echo_ns = 0, 0  # the payload echo and SEND OK: the simulator's paced rate
    start = stamp()
    for offset in range(0, len(payload), limits.SEND_MAX):
        chunk = payload[offset : offset + limits.SEND_MAX]
        reply = channel.send_data(chunk)
        if reply.code is not ResultCode.SEND_OK:
            raise BenchError(f"AT+QISEND={len(chunk)} at byte {offset} answered {reply.final!r}")
        sends += 1
        prompt = next(s.t_ns for s in reply.stages if s.text == ">")
        echo_bytes += len(chunk) + len(SEND_OK_LINE)
        echo_ns += (reply.final_ns or prompt) - prompt
        _, _, nacked = qisack(channel)
        polls += 1
        tries = 0
        while nacked >= limits.SEND_WINDOW_BYTES:
            if tries == limits.SEND_WINDOW_POLLS:
                raise BenchError(
                    f"nAcked stayed at {nacked} after {tries} polls: the sink peer is not reading"
                )
            rig.clock.sleep(limits.QISACK_POLL.seconds)
            _, _, nacked = qisack(channel)
            polls += 1
            tries += 1
            waits += 1
    seconds = rig.clock.since(start)
    received = sum(len(e.data) for e in channel.transcript.since(mark) if e.dir == "rx")
    return {
        "seconds": seconds,
        "sends": sends,
        "polls": polls,
        "waits": waits,
        "line_bytes": received,
        "paced_rate": ratio(echo_bytes, echo_ns / 1e9),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    payload = random.Random(0).randbytes(args.bytes)  # any byte values: fixed-length sends
    with simulated(bench_profile(pace_output=True), scale=1.0) as rig:
        rig.start_peer("sink")
        rig.open_channel(RATE)
        conn = rig.connect()
        result = send_windowed(rig, payload)
        assert rig.control is not None
        stats = rig.control.wait_bytes(conn, len(payload), rig.patience())
        if stats.sha256_in != sha256_hex(payload):
            raise BenchError(
                f"the peer received {stats.bytes_in} bytes that differ from those sent"
            )
        _, acked, nacked = qisack(rig.need_channel())
    seconds = result["seconds"]
    rate = ratio(len(payload), seconds)
    figure = ratio(rate, LINE_BYTES_PER_S)
    busy = ratio(ratio(result["line_bytes"], seconds), LINE_BYTES_PER_S)
    paced = ratio(result["paced_rate"], LINE_BYTES_PER_S)
    print(
        table(
            ("quantity", "value"),
            [
                ("payload bytes", len(payload)),
                (f"AT+QISEND ({limits.SEND_MAX} B each)", int(result["sends"])),
                ("AT+QISACK polls", int(result["polls"])),
                (f"waits for nAcked < {limits.SEND_WINDOW_BYTES}", int(result["waits"])),
                ("seconds (module = wall)", seconds),
                ("payload bytes/s", rate),
                ("line rate bytes/s", LINE_BYTES_PER_S),
                ("module→host bytes (echo, prompts, results)", int(result["line_bytes"])),
                ("line busy (module→host bytes / line rate)", busy),
                ("simulator's paced rate / line rate (echo)", paced),
                ("line busy / simulator's paced rate", ratio(busy, paced)),
                ("peer received, SHA-256 equal", stats.bytes_in),
                ("acked / nAcked at the end", f"{acked} / {nacked}"),
            ],
        )
    )
    print()
    print(verdict_line("payload rate / line rate", figure, ">=", TARGET))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
