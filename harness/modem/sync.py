"""INIT-SYNC: `AT` until the module answers in step, then its rate fixed (INIT-IPR).

A module that is silent at the rig's rate is searched for at the other rates and re-fixed;
a module silent at every rate is a rig fault (unpowered, miswired, or at an unknown rate).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness import limits
from harness.at import ATChannel, ATTimeout, UrcKind
from harness.clock import Clock, stamp
from harness.errors import RigFault
from harness.limits import Timing

log = logging.getLogger("modemcert.modem")

Recorder = Callable[[Timing], object]

#: INIT-SYNC search: `AT` tries at each other rate (a fixed-rate module answers the first).
SEARCH_TRIES = 3


class SyncError(RigFault, RuntimeError):
    """The module never answered `AT`; the message names the port, the rates and what to check.

    A rig fault ("cannot certify"): a module silent at bring-up may be unpowered, miswired or
    at another rate, and no verdict is given on it.
    """


@dataclass(frozen=True)
class SyncResult:
    """INIT-SYNC: `AT` commands sent, module seconds taken, the rate now fixed."""

    tries: int
    elapsed: float
    rate: int
    found_at: int | None = None  # the rate the module was really at, when it was not `rate`
    rates_tried: tuple[int, ...] = ()
    timings: tuple[Timing, ...] = ()


def at_until_ok(channel: ATChannel, clock: Clock, tries: int) -> tuple[bool, int]:
    """`AT` up to `tries` times, SYNC_INTERVAL apart, until OK; (answered, ATs sent)."""
    interval = limits.SYNC_INTERVAL.seconds
    for n in range(1, tries + 1):
        slot = clock.deadline(interval)
        try:
            if channel.command("AT", timeout=interval).ok:
                return True, n
        except ATTimeout:
            pass
        left = slot.remaining()
        if left:
            clock.sleep(left)  # an early ERROR or garbage still waits out its 500 ms slot
    return False, tries


def sync(
    channel: ATChannel,
    rate: int,
    clock: Clock | None = None,
    *,
    search: Sequence[int] = (),
    tries: int = limits.SYNC_TRIES,
    record: Recorder | None = None,
) -> SyncResult:
    """INIT-SYNC: `AT` up to 15 times 500 ms apart at `rate` until OK, then `AT+IPR=<rate>&W`.

    If the module is silent, each rate in `search` is tried (SEARCH_TRIES `AT`s); where it
    answers it is re-fixed to `rate`. Raises `SyncError` if it never answers.
    """
    clock = clock or channel.clock
    transport = channel.transport
    timings: list[Timing] = []

    def note(t: Timing) -> None:
        timings.append(t)
        if record is not None:
            record(t)

    transport.baudrate = rate  # the host's own switch (slow over RFC 2217) is not the module's
    start = stamp()
    answered, sent = at_until_ok(channel, clock, tries)
    tried = [rate]
    found_at = None
    if answered:
        note(limits.SYNC.check(clock.since(start), "AT sync", note=f"{sent} × AT at {rate}"))
    else:
        for other in search:
            if other == rate or other in tried:
                continue
            tried.append(other)
            transport.baudrate = other
            ok, n = at_until_ok(channel, clock, SEARCH_TRIES)
            sent += n
            if ok:
                found_at = other
                break
        if found_at is None:
            transport.baudrate = rate
            elapsed = clock.since(start)
            note(limits.SYNC.check(elapsed, "AT sync", note="no answer"))
            rates = ", ".join(map(str, tried))
            raise SyncError(
                f"no answer to AT on {transport.url} after {sent} tries "
                f"({tries} at {rate} baud, {limits.SYNC_INTERVAL.seconds:g} s apart; also tried "
                f"{rates if len(tried) > 1 else 'no other rate'}): check that the module is on "
                "(STATUS), TX/RX are not swapped, the level shifter is powered, and serial.baud "
                "in the rig file"
            )
        # Found at another rate: fix ours while we still speak its rate, then come back.
        reply = channel.command(f"AT+IPR={rate}&W")
        if not reply.ok:
            raise SyncError(
                f"the module on {transport.url} answers at {found_at} baud but refused "
                f"AT+IPR={rate}&W ({reply.final}); set the rate by hand or change serial.baud"
            )
        transport.baudrate = rate
        again = stamp()
        ok, n = at_until_ok(channel, clock, tries)
        sent += n
        if not ok:
            raise SyncError(
                f"the module on {transport.url} accepted AT+IPR={rate}&W at {found_at} baud "
                f"but does not answer at {rate}; check that the adapter supports {rate} baud"
            )
        note(
            limits.SYNC.check(
                clock.since(again), "AT sync", note=f"found at {found_at} baud, re-fixed to {rate}"
            )
        )
    # Fix the rate (INIT-IPR), also when it answered at `rate` (it may have been autobaud).
    fix = channel.command(f"AT+IPR={rate}&W")
    note(fix.timing("INIT-IPR"))
    if not fix.ok:
        raise SyncError(
            f"AT+IPR={rate}&W on {transport.url} answered {fix.final}: the module does not take "
            f"{rate} baud; choose another serial.baud in the rig file"
        )
    return SyncResult(
        tries=sent,
        elapsed=clock.since(start),
        rate=rate,
        found_at=found_at,
        rates_tried=tuple(tried),
        timings=tuple(timings),
    )


#: Harmless commands with distinct echoes for checking that answers are in step after sync.
LINE_CHECKS = ("AT+CGMI", "AT+CGMM", "AT+GMI", "AT+GMM", "AT+CGSN", "AT+GSN")


def in_step(channel: ATChannel) -> int:
    """Make sure each answer belongs to its command: an `AT` of the sync loop that timed out
    can still be answered late, shifting every answer after it by one. A command whose own
    echo comes first (echo is on after a boot) proves the earlier answers are in. Returns how
    many late answers were waited out."""
    settle = channel.settle(limits.SYNC_INTERVAL.seconds)
    late = 0
    for cmd in LINE_CHECKS:
        reply = channel.command(cmd)
        if reply.echo == cmd or channel.echo is False:
            return late
        log.info("line check: %s got the answer of an earlier command", cmd)
        late += 1
        _late_answer(channel, reply.final_ns or stamp(), settle)
    return late


def _late_answer(channel: ATChannel, after_ns: int, seconds: float) -> None:
    """Wait for one answer no command is waiting for (a stray final), newer than after_ns
    (through a subscription of its own: every other reader still sees it)."""
    try:
        channel.subscribe({UrcKind.STRAY}, since_ns=after_ns).wait(seconds)
    except ATTimeout:
        return
