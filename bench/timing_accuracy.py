"""How exactly `Reply.elapsed` measures a known delay: the simulator holds a final back by a set
time (10 ms … 2 s) and the error measured − injected is reported at scale 1.0 (p50, p99).

The delay is the simulator's `qideact_slow` fault: `AT+QIDEACT` answers `DEACT OK` exactly
`seconds` after the module has read the line (the bench profile has no command latency).

    python bench/timing_accuracy.py [--repeats 15] [--quick]
"""

from __future__ import annotations

import argparse

from _common import (
    BenchError,
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
TARGET_MS = 1.0  # p99 of measured − injected, in milliseconds
COMMAND = "AT+QIDEACT"
FINAL = "DEACT OK"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=positive(int), default=15, help="measurements per delay")
    p.add_argument("--quick", action="store_true", help="a short run for CI (2 delays × 3)")
    args = p.parse_args(argv)
    args.delays = DELAYS
    if args.quick:
        args.delays, args.repeats = QUICK_DELAYS, 3
    return args


def measure(delays: tuple[float, ...], repeats: int) -> dict[float, list[float]]:
    """measured − injected (ms) for each delay; the delays take turns, `repeats` rounds."""
    errors: dict[float, list[float]] = {d: [] for d in delays}
    with simulated(bench_profile(), scale=1.0) as rig:
        channel = rig.open_channel()
        for _ in range(repeats):
            for delay in delays:
                rig.sim.inject("qideact_slow", seconds=delay)
                reply = channel.command(COMMAND)
                if reply.final != FINAL:
                    raise BenchError(f"{COMMAND} answered {reply.final!r}, not {FINAL}")
                errors[delay].append((reply.elapsed - delay) * 1e3)
    return errors


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    errors = measure(args.delays, args.repeats)
    rows = []
    for delay, values in errors.items():
        s = Summary.of(values)
        rows.append((f"{delay * 1e3:g}", s.n, s.low, s.median, s.p99, s.high))
    every = Summary.of([e for values in errors.values() for e in values])
    rows.append(("all", every.n, every.low, every.median, every.p99, every.high))
    print(
        table(
            ("injected ms", "n", "min ms", "p50 ms", "p99 ms", "max ms"),
            rows,
        )
    )
    print()
    print("error = Reply.elapsed − injected delay, scale 1.0 (module seconds = wall seconds)")
    print(verdict_line("timing error p99 ms", every.p99, "<=", TARGET_MS))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
