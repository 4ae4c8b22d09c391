"""Timing plots: one small PNG per command, embedded in the report as base64.

Each shows the measured module seconds (points and a box) against the documented limit (red
line) and the typical band (green). Matplotlib's object API with the Agg canvas: no pyplot
state, no display, safe in a thread.
"""

from __future__ import annotations

import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from harness.limits import MARGINAL_FRACTION
from harness.report.stats import CommandStats

COLOURS = {"pass": "#2e7d32", "marginal": "#ef6c00", "fail": "#c62828"}
#: Above this limit/slowest ratio the x axis is logarithmic, so both stay readable.
LOG_RATIO = 5.0


def timing_png(stats: CommandStats) -> bytes:
    """The plot of one command's measurements as PNG bytes."""
    fig = Figure(figsize=(7.6, 1.7), dpi=96)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    values = list(stats.values)
    # Golden-ratio offsets spread the points vertically without randomness.
    ys = [((i * 0.618034) % 1.0 - 0.5) * 0.5 for i in range(len(values))]
    colours = [COLOURS.get(v, "#555555") for v in stats.verdicts]
    if stats.typical:
        ax.axvspan(*stats.typical, color="#66bb6a", alpha=0.25, label="typical")
    if stats.limit:
        ax.axvline(stats.limit, color="#c62828", linestyle="--", linewidth=1.5, label="limit")
        ax.axvline(stats.limit * MARGINAL_FRACTION, color="#ef6c00", linestyle=":", linewidth=1.0)
    ax.boxplot(
        values,
        orientation="horizontal",
        positions=[0],
        widths=0.7,
        showfliers=False,
        medianprops={"color": "#1565c0"},
    )
    ax.scatter(values, ys, s=14, c=colours, zorder=3, edgecolors="none")
    top = max([*values, stats.limit or 0.0])
    low = min(values)
    if stats.limit and low > 0 and stats.limit / max(values) > LOG_RATIO:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        floor = min(low, stats.typical[0]) if stats.typical and stats.typical[0] > 0 else low
        ax.set_xlim(floor / 2, stats.limit * 1.5)
    else:
        ax.set_xlim(0, top * 1.08 or 1.0)
    ax.set_ylim(-0.6, 0.6)
    ax.set_yticks([])
    ax.set_xlabel("module seconds")
    lim = f"limit {stats.limit:g} s" if stats.limit else "no limit"
    ax.set_title(
        f"{stats.command}: n={stats.n}, median {stats.median:.3g} s, p95 {stats.p95:.3g} s, {lim}",
        fontsize=9,
        loc="left",
    )
    if stats.typical or stats.limit:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
