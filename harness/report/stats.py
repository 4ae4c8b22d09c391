"""Per-command timing statistics: median, p95 and MAD of measured module seconds.

Commands are grouped by name (`AT+QIOPEN="TCP",...` and `AT+QIOPEN="UDP",...` are both
`AT+QIOPEN`), so two runs compare the same command whatever its parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.limits import command_name
from harness.report.runs import TimingRecord

#: MAD × this estimates the standard deviation of normally distributed values.
MAD_TO_SIGMA = 1.4826


def command_key(command: str) -> str:
    """`AT+QIOPEN="TCP",...` → `AT+QIOPEN`; `at+cgatt?` → `AT+CGATT`; other steps as they are."""
    text = command.strip()
    if text[:2].upper() == "AT":
        return "AT" + command_name(text)
    return text


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile, interpolating linearly between the sorted values."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation: the spread that one wild value cannot inflate."""
    m = median(values)
    return median([abs(v - m) for v in values])


@dataclass(frozen=True)
class CommandStats:
    """One command's measured times in one run (module seconds)."""

    command: str
    values: tuple[float, ...]
    limit: float | None
    typical: tuple[float, float] | None
    clauses: tuple[str, ...]
    verdicts: tuple[str, ...]
    tests: tuple[str | None, ...] = ()  # the test that measured each value (None: the run)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return median(self.values)

    @property
    def p95(self) -> float:
        return percentile(self.values, 95.0)

    @property
    def mad(self) -> float:
        return mad(self.values)

    @property
    def sigma(self) -> float:
        """Run-to-run spread as a robust standard deviation (MAD × 1.4826)."""
        return self.mad * MAD_TO_SIGMA


def command_stats(timings: Sequence[TimingRecord]) -> dict[str, CommandStats]:
    """Statistics per command key, in the order commands were first measured."""
    grouped: dict[str, list[TimingRecord]] = {}
    for t in timings:
        if not t.valid:
            continue  # NaN, inf, negative: shown as invalid, never counted
        grouped.setdefault(command_key(t.command), []).append(t)
    out = {}
    for key, rows in grouped.items():
        limits = [r.limit for r in rows if r.limit is not None]
        typicals = [r.typical for r in rows if r.typical]
        out[key] = CommandStats(
            command=key,
            values=tuple(r.measured for r in rows),
            # One command may be measured against several clauses; the tightest limit binds.
            limit=min(limits) if limits else None,
            typical=typicals[0] if typicals else None,
            clauses=tuple(dict.fromkeys(r.clause for r in rows)),
            verdicts=tuple(r.verdict for r in rows),
            tests=tuple(r.test for r in rows),
        )
    return out
