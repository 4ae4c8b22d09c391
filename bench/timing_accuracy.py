"""How exactly `Reply.elapsed` measures a known delay: the simulator holds a final back by a set
time (10 ms … 2 s); the error measured − injected is reported at scale 1.0 (p50, p99), end to
end and split into its parts by the simulator's own stamps.

The delay is the simulator's `qideact_slow` fault: `AT+QIDEACT` answers `DEACT OK` exactly
`seconds` after the module has read the line (the bench profile has no command latency). The
simulator stamps when it read each command line and when each final's last byte went into the
PTY (`SimulatedModule.finals()`, the same `stamp()` clock as the harness), so the end-to-end
error is exactly the sum of three parts:

    line in    the simulator's read of the line − the harness's stamp after writing it
    hold       the simulator's final written − its read of the line − the injected delay
    harness    the harness's stamp of the final − the simulator's final written

The last is the harness's own error (its reader thread, the codec, the PTY's hand-over); the
first two are the simulated module's and the line's. Both figures have a target.

The simulator runs in a process of its own, as a real module is a device of its own: in the
harness's process its loop would hold the GIL just after writing a final, exactly when the
harness's reader wants it, and its share would be counted as the harness's. `--same-process`
measures that arrangement (the sim rig's) for comparison.

A baseline from the same run shows the floor under the harness's part: a bare reader
(`select()` + `os.read()`, nothing else) stamping the same final written into a raw PTY by
another thread, `BASELINE_ROUNDS` times. What the harness adds is its part minus that.

    python bench/timing_accuracy.py [--repeats 15] [--quick] [--same-process]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import threading
import time
import tty
from dataclasses import dataclass

from _common import (
    BenchError,
    Rig,
    Summary,
    bench_profile,
    positive,
    run,
    simulated,
    simulated_apart,
    table,
    verdict_line,
)

from harness.clock import stamp

#: Injected delays (module seconds = wall seconds at scale 1.0).
DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
QUICK_DELAYS = (0.01, 0.05)
TARGET_MS = 1.0  # p99 of measured − injected, end to end, in milliseconds
HARNESS_TARGET_MS = 0.2  # p99 of the harness's own part, in milliseconds
COMMAND = "AT+QIDEACT"
FINAL = "DEACT OK"
#: Finals the bare PTY reader of the baseline stamps, `BASELINE_GAP` wall seconds apart.
BASELINE_ROUNDS = 200
BASELINE_GAP = 0.005


@dataclass(frozen=True)
class Sample:
    """One measurement, in milliseconds: end to end and its three parts (they add up)."""

    end_to_end: float
    line_in: float
    hold: float
    harness: float


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=positive(int), default=15, help="measurements per delay")
    p.add_argument("--quick", action="store_true", help="a short run for CI (2 delays × 3)")
    p.add_argument(
        "--same-process",
        action="store_true",
        help="run the simulator in this process (as the sim rig does), not in its own",
    )
    args = p.parse_args(argv)
    args.delays = DELAYS
    if args.quick:
        args.delays, args.repeats = QUICK_DELAYS, 3
    return args


def measure_one(rig: Rig, delay: float) -> Sample:
    """Inject `delay`, send the command, and set the harness's stamps against the simulator's."""
    channel = rig.need_channel()
    rig.sim.inject("qideact_slow", seconds=delay)
    reply = channel.command(COMMAND)
    if reply.final != FINAL or reply.final_ns is None:
        raise BenchError(f"{COMMAND} answered {reply.final!r}, not {FINAL}")
    written = [f for f in rig.sim.finals() if f.line == COMMAND and f.final == FINAL]
    if not written or written[-1].read_ns < reply.sent_ns - 10**9:
        raise BenchError(f"the simulator has no record of writing {FINAL} for {COMMAND}")
    mark = written[-1]
    ms = 1e-6  # per nanosecond
    return Sample(
        end_to_end=(reply.elapsed - delay) * 1e3,
        line_in=(mark.read_ns - reply.sent_ns) * ms,
        hold=(mark.written_ns - mark.read_ns) * ms - delay * 1e3,
        harness=(reply.final_ns - mark.written_ns) * ms,
    )


def measure(
    delays: tuple[float, ...], repeats: int, same_process: bool = False
) -> dict[float, list[Sample]]:
    """The samples of each delay; the delays take turns, `repeats` rounds."""
    samples: dict[float, list[Sample]] = {d: [] for d in delays}
    start = simulated if same_process else simulated_apart
    with start(bench_profile(), scale=1.0) as rig:
        rig.open_channel()
        for _ in range(repeats):
            for delay in delays:
                samples[delay].append(measure_one(rig, delay))
    return samples


def bare_pty(rounds: int) -> list[float]:
    """Milliseconds from a thread's stamp before writing `\\r\\nDEACT OK\\r\\n` into a raw
    PTY to a bare reader's stamp after reading its last byte: the kernel's hand-over alone."""
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    frame = f"\r\n{FINAL}\r\n".encode()
    written: list[int] = []

    def write() -> None:
        for _ in range(rounds):
            time.sleep(BASELINE_GAP)
            written.append(stamp())
            os.write(master, frame)

    writer = threading.Thread(target=write, daemon=True)
    read: list[int] = []
    pending = b""
    try:
        writer.start()
        while len(read) < rounds:
            if not select.select([slave], [], [], 5.0)[0]:
                raise BenchError("the bare PTY baseline got nothing for 5 s")
            pending += os.read(slave, 4096)
            t = stamp()
            while frame in pending:
                pending = pending.split(frame, 1)[1]
                read.append(t)
        writer.join()
    finally:
        os.close(master)
        os.close(slave)
    return [(r - w) / 1e6 for w, r in zip(written, read, strict=True)]


def load() -> str:
    """The 1-minute load average before the run (the machine has other users)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    before = load()
    samples = measure(args.delays, args.repeats, args.same_process)
    rows = []
    for delay, values in samples.items():
        s = Summary.of([v.end_to_end for v in values])
        rows.append((f"{delay * 1e3:g}", s.n, s.low, s.median, s.p99, s.high))
    every = [v for values in samples.values() for v in values]
    total = Summary.of([v.end_to_end for v in every])
    rows.append(("all", total.n, total.low, total.median, total.p99, total.high))
    print(table(("injected ms", "n", "min ms", "p50 ms", "p99 ms", "max ms"), rows))
    print()
    parts = []
    for name, key in (
        ("line in", "line_in"),
        ("simulator hold", "hold"),
        ("harness", "harness"),
        ("end to end", "end_to_end"),
    ):
        s = Summary.of([getattr(v, key) for v in every])
        parts.append((name, s.n, s.low, s.median, s.p99, s.high))
    rounds = 20 if args.quick else BASELINE_ROUNDS
    bare = Summary.of(bare_pty(rounds))
    parts.append(("(bare PTY reader)", bare.n, bare.low, bare.median, bare.p99, bare.high))
    print(table(("part (all delays)", "n", "min ms", "p50 ms", "p99 ms", "max ms"), parts))
    print()
    print("error = Reply.elapsed − injected delay, scale 1.0 (module seconds = wall seconds);")
    print("parts by the simulator's stamps: line in + simulator hold + harness = end to end;")
    print("the bare PTY reader is the floor under the harness's part (the kernel's hand-over)")
    where = "in this process" if args.same_process else "in a process of its own"
    print(f"the simulator ran {where}; load average (1 min): {before} before, {load()} after")
    harness = Summary.of([v.harness for v in every])
    print(verdict_line("harness timing error p99 ms", harness.p99, "<=", HARNESS_TARGET_MS))
    print(verdict_line("timing error p99 ms", total.p99, "<=", TARGET_MS))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
