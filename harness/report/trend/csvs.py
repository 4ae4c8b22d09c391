"""The trend as CSV: `trend.csv` (one row per run and command) and `trend-clauses.csv` (one row
per run and clause)."""

from __future__ import annotations

import csv
import io

from harness.report.stats import percentile
from harness.report.trend.model import Trend

#: The files a trend writes.
TIMINGS_CSV, CLAUSES_CSV, HTML = "trend.csv", "trend-clauses.csv", "trend.html"

TIMING_FIELDS = (
    "run",
    "started",
    "rig",
    "simulated",
    "mutations",
    "model",
    "revision",
    "firmware",
    "command",
    "n",
    "median",
    "p25",
    "p75",
    "min",
    "max",
    "limit",
    "typical_low",
    "typical_high",
)
CLAUSE_FIELDS = ("run", "started", "simulated", "mutations", "firmware", "clause", "verdict")


def _g(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def timings_csv(trend: Trend) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(TIMING_FIELDS)
    for night in trend.nights:
        run = night.run
        for command, s in night.stats.items():
            w.writerow(
                [
                    run.id,
                    run.info.started,
                    run.info.rig,
                    "yes" if run.info.simulated else "no",
                    " ".join(run.info.all_mutations),
                    run.module.model,
                    run.module.revision,
                    run.module.firmware,
                    command,
                    s.n,
                    _g(s.median),
                    _g(percentile(s.values, 25)),
                    _g(percentile(s.values, 75)),
                    _g(min(s.values)),
                    _g(max(s.values)),
                    _g(s.limit),
                    _g(s.typical[0] if s.typical else None),
                    _g(s.typical[1] if s.typical else None),
                ]
            )
    return out.getvalue()


def clauses_csv(trend: Trend) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CLAUSE_FIELDS)
    for night in trend.nights:
        run = night.run
        for cid, verdict in night.verdicts.items():
            w.writerow(
                [
                    run.id,
                    run.info.started,
                    "yes" if run.info.simulated else "no",
                    " ".join(run.info.all_mutations),
                    run.module.firmware,
                    cid,
                    str(verdict),
                ]
            )
    return out.getvalue()
