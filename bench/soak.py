"""Memory over a long connection life, compressed: N module-hours of heartbeat traffic at a small
clock scale, and the process's RSS growth after a warm-up (harness + simulator + peer).

The application's life: every 5 s (QISACK_POLL) it polls `AT+QISACK`; every 10 min (HEARTBEAT)
it checks all was acknowledged (KEEP-CHECK), sends a heartbeat and reads the peer's echo.

    python bench/soak.py [--hours 24] [--scale 0.001] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    BenchError,
    Rig,
    bench_profile,
    positive,
    qisack,
    run,
    simulated,
    table,
    verdict_line,
)

from harness import limits
from harness.at import ATChannel, ATTimeout
from harness.clock import MAX_SCALE, MIN_SCALE
from harness.commands import ResultCode
from harness.transport import TRANSCRIPT_KEEP, Transcript

TARGET_MB = 5.0
HOUR = 3600.0
#: Heartbeat text as the seeds' example ("Heart01"), numbered.
HEARTBEAT = "Heart{:05d}"
#: Shows the echo as `RECV FROM:<ip>:<port>` + `IPD<n>TCP:` blocks (PROTOCOL.md §8).
SETUP = ("AT+QIHEAD=1", "AT+QISHOWRA=1", "AT+QISHOWPT=1")
#: Module seconds the peer's echo of a heartbeat may take to come back.
ECHO_WAIT = 10.0
#: RSS samples over the run (plus one at the start and one at the end).
SAMPLES = 20


def rss_mb() -> float:
    """Resident set size now, in MB (VmRSS; the peak from getrusage where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


@dataclass
class Tally:
    """What the soak did and saw."""

    commands: int = 0
    heartbeats: int = 0
    echoes: int = 0
    late: int = 0  # echoes that came after their wait gave up
    timeouts: int = 0
    urcs: int = 0
    #: (module hour, RSS MB, transcript entries kept) at each sample
    samples: list[tuple[float, float, int]] = field(default_factory=list)


def scale_type(text: str) -> float:
    value = positive(float)(text)
    if not MIN_SCALE <= value <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"{text} is outside {MIN_SCALE}..{MAX_SCALE}")
    return value


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=positive(float), default=24.0, help="module hours to run")
    p.add_argument(
        "--warmup", type=positive(float), default=None, help="module hours before the baseline"
    )
    p.add_argument("--scale", type=scale_type, default=MIN_SCALE, help="wall s per module s")
    p.add_argument(
        "--transcript-keep",
        type=positive(int),
        default=TRANSCRIPT_KEEP,
        help="transcript entries kept in memory (the harness default; lower it to see past it)",
    )
    p.add_argument("--quick", action="store_true", help="a short run for CI (0.5 module hours)")
    args = p.parse_args(argv)
    if args.quick:
        args.hours, args.warmup = 0.5, 0.1
    if args.warmup is None:
        args.warmup = min(1.0, args.hours / 4)
    if args.warmup >= args.hours:
        p.error(f"--warmup {args.warmup:g} must be shorter than --hours {args.hours:g}")
    return args


def poll(channel: ATChannel, tally: Tally) -> int | None:
    """AT+QISACK; nAcked, or None after a timeout (counted, not fatal: a loaded host at a
    tiny scale may miss a module-second limit)."""
    tally.commands += 1
    try:
        return qisack(channel)[2]
    except ATTimeout:
        tally.timeouts += 1
        return None


def heartbeat(rig: Rig, channel: ATChannel, tally: Tally) -> None:
    """KEEP-CHECK (all acknowledged), then the heartbeat and its echo (KEEP-HEARTBEAT)."""
    for _ in range(limits.KEEP_CHECK_POLLS):
        if poll(channel, tally) == 0:
            break
        rig.clock.sleep(limits.QISACK_POLL.seconds)
    else:
        raise BenchError(f"data unacknowledged after {limits.KEEP_CHECK_POLLS} polls (KEEP-CHECK)")
    while True:  # echoes of earlier heartbeats whose wait gave up
        try:
            channel.wait_received(0)
        except ATTimeout:
            break
        tally.late += 1
    text = HEARTBEAT.format(tally.heartbeats).encode()
    tally.heartbeats += 1
    tally.commands += 1
    try:
        reply = channel.send_data(text)
    except ATTimeout:
        tally.timeouts += 1
        return
    if reply.code is not ResultCode.SEND_OK:
        raise BenchError(f"heartbeat {text!r} answered {reply.final!r}")
    try:
        got = channel.wait_received(rig.patience(ECHO_WAIT))
    except ATTimeout:
        tally.timeouts += 1
        return
    if got.payload != text:
        raise BenchError(f"the peer echoed {got.payload!r} for heartbeat {text!r}")
    tally.echoes += 1


def soak(rig: Rig, hours: float, tally: Tally) -> None:
    """Run the application's life for `hours` module hours, sampling RSS SAMPLES times."""
    channel = rig.need_channel()
    start = rig.clock.now()
    next_beat = next_sample = tick = start
    end = start + hours * HOUR
    while (now := rig.clock.now()) < end:
        if now >= next_sample:
            sample(channel, tally, (now - start) / HOUR)
            next_sample += hours * HOUR / SAMPLES
        if now >= next_beat:
            heartbeat(rig, channel, tally)
            next_beat += limits.HEARTBEAT.seconds
        else:
            poll(channel, tally)
        tally.urcs += len(channel.urcs())  # an application drains what it does not wait for
        tick += limits.QISACK_POLL.seconds  # a fixed schedule: command time does not add up
        rig.clock.sleep(max(0.0, tick - rig.clock.now()))
    sample(channel, tally, (rig.clock.now() - start) / HOUR)


def sample(channel: ATChannel, tally: Tally, hour: float) -> None:
    gc.collect()
    kept = len(channel.transcript.entries())
    tally.samples.append((hour, rss_mb(), kept))


def entry_bytes(channel: ATChannel) -> float:
    """Average memory of one transcript entry (the tuple, its stamp and its bytes)."""
    entries = channel.transcript.entries()[-1000:]
    if not entries:
        return 0.0
    total = sum(sys.getsizeof(e) + sys.getsizeof(e.t_ns) + sys.getsizeof(e.data) for e in entries)
    return total / len(entries)


def buffers(channel: ATChannel, per_entry: float) -> list[tuple[str, object]]:
    """The channel's queues and the transcript (read-only looks at their sizes)."""
    kept = len(channel.transcript.entries())
    held = channel.held()
    bound = channel.transcript._entries.maxlen  # the deque's bound (TRANSCRIPT_KEEP)
    return [
        ("transcript entries recorded", channel.transcript.mark()),
        ("transcript entries kept / bound", f"{kept} / {bound}"),
        ("transcript MB now (estimate)", kept * per_entry / 2**20),
        ("transcript MB at its bound (estimate)", (bound or kept) * per_entry / 2**20),
        ("URCs logged / unread", f"{held['urcs logged']} / {held['urcs unread']}"),
        ("received blocks", held["received blocks"]),
        ("data-mode bytes / unparsed bytes", f"{held['data bytes']} / {held['unparsed bytes']}"),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    tally = Tally()
    with simulated(bench_profile(), scale=args.scale) as rig:
        rig.start_peer("echo")
        rig.open_channel(transcript=Transcript(keep=args.transcript_keep))
        rig.connect(SETUP)
        soak(rig, args.hours, tally)
        per_entry = entry_bytes(rig.need_channel())
        watched = buffers(rig.need_channel(), per_entry)
    after = [(mb, kept) for hour, mb, kept in tally.samples if hour >= args.warmup]
    if not after:
        raise BenchError("no RSS sample after the warm-up: make --hours longer than --warmup")
    base, base_kept = after[0]
    growth = max(mb for mb, _ in after) - base
    final = after[-1][0] - base
    transcript_growth = (after[-1][1] - base_kept) * per_entry / 2**20
    rows: list[tuple[str, object]] = [
        ("module hours (scale)", f"{args.hours:g} ({args.scale:g})"),
        ("commands / timeouts", f"{tally.commands} / {tally.timeouts}"),
        ("heartbeats / echoes read / late", f"{tally.heartbeats} / {tally.echoes} / {tally.late}"),
        ("URCs drained", tally.urcs),
        ("RSS MB at start", tally.samples[0][1]),
        (f"RSS MB after warm-up ({args.warmup:g} h)", base),
        ("RSS MB at the end", tally.samples[-1][1]),
        ("RSS growth MB after warm-up: at the end", final),
        ("RSS growth MB after warm-up: peak", growth),
        ("  of which transcript entries (estimate)", transcript_growth),
        ("  the rest", final - transcript_growth),
        *watched,
    ]
    print(table(("quantity", "value"), rows))
    print()
    print("RSS MB by module hour: " + ", ".join(f"{h:.2f}h {mb:.1f}" for h, mb, _ in tally.samples))
    if tally.heartbeats == 0 or tally.echoes == 0:
        raise BenchError("the soak sent no heartbeat or read no echo: nothing was measured")
    print(verdict_line("RSS growth after warm-up MB", growth, "<=", TARGET_MB))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
