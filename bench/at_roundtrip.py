"""`AT`→`OK` round trips: harness.at.ATChannel vs raw pyserial vs pexpect, on one simulator PTY.

Median and p99 wall time per method, with and without the simulator's baud pacing; the three
methods take turns in blocks so a busy machine slows them alike. Last line: harness/raw.

    python bench/at_roundtrip.py [--rounds 2000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import termios
import tty
from collections.abc import Callable

import pexpect
import pexpect.fdpexpect
import serial
from _common import (
    BenchError,
    Rig,
    Summary,
    bench_profile,
    positive,
    ratio,
    run,
    simulated,
    table,
    verdict_line,
)

from harness import limits
from harness.clock import stamp

HARNESS_TARGET = 1.3  # harness/raw median
PEXPECT_TARGET = 1.0  # harness/pexpect median
#: Wall seconds one round trip may take before a raw method gives up (the harness uses the
#: documented AT limit).
RAW_TIMEOUT = 2.0
OK_LINE = b"OK\r\n"
METHODS = ("harness", "raw", "pexpect")

#: A method: `rounds` timed round trips (ns each) on the rig's port, opened and closed by it.
Method = Callable[[Rig, int], list[int]]


def harness_block(rig: Rig, rounds: int) -> list[int]:
    """`ATChannel.command("AT")`, the whole call timed."""
    channel = rig.open_channel(synced=False)
    try:
        out = []
        for _ in range(rounds):
            t0 = stamp()
            reply = channel.command("AT")
            t1 = stamp()
            if not reply.ok:
                raise BenchError(f"harness: AT answered {reply.final!r}")
            out.append(t1 - t0)
        return out
    finally:
        rig.close_channel()


def raw_block(rig: Rig, rounds: int) -> list[int]:
    """pyserial `write(b"AT\\r")`, then `readline()` until `OK`."""
    port = serial.Serial(rig.sim.port, limits.IPR_DEFAULT_RATE, timeout=RAW_TIMEOUT)
    try:
        port.reset_input_buffer()
        out = []
        for _ in range(rounds):
            t0 = stamp()
            port.write(b"AT\r")
            while (line := port.readline()) != OK_LINE:
                if not line.endswith(b"\n"):
                    raise BenchError(f"raw pyserial: no OK within {RAW_TIMEOUT} s (got {line!r})")
            out.append(stamp() - t0)
        return out
    finally:
        port.close()


def pexpect_block(rig: Rig, rounds: int) -> list[int]:
    """`pexpect.fdpexpect`: `send(b"AT\\r")`, `expect_exact(b"OK\\r\\n")`."""
    fd = os.open(rig.sim.port, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        attrs = termios.tcgetattr(fd)
        attrs[4] = attrs[5] = termios.B115200
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        termios.tcflush(fd, termios.TCIFLUSH)
        child = pexpect.fdpexpect.fdspawn(fd, timeout=RAW_TIMEOUT)
        out = []
        for _ in range(rounds):
            t0 = stamp()
            child.send(b"AT\r")
            try:
                child.expect_exact(OK_LINE)
            except pexpect.TIMEOUT:
                raise BenchError(f"pexpect: no OK within {RAW_TIMEOUT} s") from None
            out.append(stamp() - t0)
        return out
    finally:
        os.close(fd)


BLOCKS: dict[str, Method] = {"harness": harness_block, "raw": raw_block, "pexpect": pexpect_block}


def measure(paced: bool, rounds: int, warmup: int, blocks: int) -> dict[str, list[float]]:
    """Round trips in µs per method on one simulator, in `blocks` turns each."""
    profile = bench_profile(pace_output=paced)
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    with simulated(profile) as rig:
        rig.open_channel()  # INIT-SYNC once; the rate is fixed with AT+IPR=115200&W
        rig.close_channel()
        per_block = -(-rounds // blocks)
        for name in METHODS:
            BLOCKS[name](rig, warmup)
        for _ in range(blocks):
            for name in METHODS:
                times[name] += [ns / 1e3 for ns in BLOCKS[name](rig, per_block)]
    return times


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=positive(int), default=2000, help="round trips per method")
    p.add_argument("--warmup", type=positive(int), default=200, help="untimed round trips first")
    p.add_argument("--blocks", type=positive(int), default=5, help="turns the methods take")
    p.add_argument("--quick", action="store_true", help="a short run for CI (60 rounds)")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup, args.blocks = 60, 10, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    rows = []
    figures: dict[bool, tuple[float, float, float]] = {}
    for paced in (False, True):
        times = measure(paced, args.rounds, args.warmup, args.blocks)
        stats = {m: Summary.of(times[m]) for m in METHODS}
        raw = stats["raw"]
        for m in METHODS:
            s = stats[m]
            rows.append(
                (
                    "115200" if paced else "off",
                    m,
                    s.n,
                    s.median,
                    s.p99,
                    ratio(s.median, raw.median),
                    ratio(s.p99, raw.p99),
                )
            )
        figures[paced] = (
            ratio(stats["harness"].median, raw.median),
            ratio(stats["harness"].median, stats["pexpect"].median),
            stats["harness"].median - raw.median,
        )
    print(
        table(
            ("pacing", "method", "n", "median µs", "p99 µs", "median/raw", "p99/raw"),
            rows,
        )
    )
    print()
    for paced, (_, _, overhead) in figures.items():
        line = "115200 baud pacing" if paced else "no pacing"
        print(f"harness − raw median, {line}: {overhead:+.1f} µs per AT->OK")
    harness_raw, harness_pexpect, _ = figures[False]
    print(
        verdict_line(
            "harness/pexpect median AT->OK, unpaced", harness_pexpect, "<=", PEXPECT_TARGET
        )
    )
    print(verdict_line("harness/raw median AT->OK, unpaced", harness_raw, "<=", HARNESS_TARGET))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
