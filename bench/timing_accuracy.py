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

    python bench/timing_accuracy.py [--repeats 15] [--quick]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from _common import (
    BenchError,
    Rig,
    Summary,
    bench_profile,
    positive,
    run,
    simulated,
    table,
    verdict_line,
)

#: Injected delays (module seconds = wall seconds at scale 1.0).
DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
QUICK_DELAYS = (0.01, 0.05)
TARGET_MS = 1.0  # p99 of measured − injected, end to end, in milliseconds
HARNESS_TARGET_MS = 0.2  # p99 of the harness's own part, in milliseconds
COMMAND = "AT+QIDEACT"
FINAL = "DEACT OK"


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


def measure(delays: tuple[float, ...], repeats: int) -> dict[float, list[Sample]]:
    """The samples of each delay; the delays take turns, `repeats` rounds."""
    samples: dict[float, list[Sample]] = {d: [] for d in delays}
    with simulated(bench_profile(), scale=1.0) as rig:
        rig.open_channel()
        for _ in range(repeats):
            for delay in delays:
                samples[delay].append(measure_one(rig, delay))
    return samples


def load() -> str:
    """The 1-minute load average before the run (the machine has other users)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    before = load()
    samples = measure(args.delays, args.repeats)
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
    print(table(("part (all delays)", "n", "min ms", "p50 ms", "p99 ms", "max ms"), parts))
    print()
    print("error = Reply.elapsed − injected delay, scale 1.0 (module seconds = wall seconds);")
    print("parts by the simulator's stamps: line in + simulator hold + harness = end to end")
    print(f"load average (1 min): {before} before, {load()} after")
    harness = Summary.of([v.harness for v in every])
    print(verdict_line("harness timing error p99 ms", harness.p99, "<=", HARNESS_TARGET_MS))
    print(verdict_line("timing error p99 ms", total.p99, "<=", TARGET_MS))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
