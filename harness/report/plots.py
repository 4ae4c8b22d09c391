"""Timing plots: one small PNG per command, embedded in the report as base64.

Each shows the measured module seconds (points and a box) against the documented limit (red
dashed line), the marginal threshold (dotted) and the typical band (green), with a legend
naming each and an axis in the units a person reads (`10 min`, `1 h`, not `3.6e+03 s`).
Matplotlib's object API with the Agg canvas: no pyplot state, no display, safe in a thread.
Only valid times reach a plot (harness.report.runs keeps NaN and the like apart).
"""

from __future__ import annotations

import base64
import io
import math

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator
from PIL import Image

from harness.limits import MARGINAL_FRACTION
from harness.report.html import duration
from harness.report.stats import CommandStats

COLOURS = {"pass": "#2e7d32", "marginal": "#ef6c00", "fail": "#c62828"}
LIMIT_COLOUR, TYPICAL_COLOUR, MEDIAN_COLOUR = "#c62828", "#66bb6a", "#1565c0"
#: Above this limit/slowest ratio the x axis is logarithmic, so both stay readable.
LOG_RATIO = 5.0
#: Tick steps a person reads easily, in seconds (1 ms … 1 day).
TICK_STEPS = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300,
    600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
)  # fmt: skip


def tick_label(value: float, _pos: object = None) -> str:
    """An axis label: `0`, `250 ms`, `12 s`, `10 min`, `1 h`."""
    if value == 0:
        return "0"
    size = abs(value)
    if size < 1:
        return f"{value * 1000:.3g} ms"
    if size < 60:
        return f"{value:.3g} s"
    if size < 3600:
        return f"{value / 60:.3g} min"
    return f"{value / 3600:.3g} h"


def human_ticks(low: float, high: float, most: int = 8) -> list[float]:
    """Evenly spaced ticks on a human step (1, 2, 5 s; 10, 15, 30 min; 1 h …) in [low, high]."""
    span = max(high - low, 1e-9)
    step = next((s for s in TICK_STEPS if span / s <= most), TICK_STEPS[-1])
    while span / step > most:
        step *= 2
    first = math.ceil(low / step - 1e-9) * step
    count = int((high - first) / step + 1e-9) + 1
    return [round(first + i * step, 9) for i in range(count)]


def human_axis(axis, low: float, high: float, log: bool = False) -> None:
    """Ticks and labels in human units on a matplotlib axis (x or y)."""
    if log:
        axis.set_major_locator(LogLocator(base=10))
    else:
        axis.set_major_locator(FixedLocator(human_ticks(low, high)))
    axis.set_major_formatter(FuncFormatter(tick_label))


def timing_png(stats: CommandStats) -> bytes:
    """The plot of one command's measurements as PNG bytes."""
    values = [v for v in stats.values if math.isfinite(v)]
    verdicts = [d for v, d in zip(stats.values, stats.verdicts, strict=False) if math.isfinite(v)]
    fig = Figure(figsize=(7.6, 1.8), dpi=96)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    handles: list[Artist] = []
    if stats.typical:
        low, high = stats.typical
        ax.axvspan(low, high, color=TYPICAL_COLOUR, alpha=0.25)
        handles.append(Patch(color=TYPICAL_COLOUR, alpha=0.25, label=f"typical {_band(low, high)}"))
    if stats.limit:
        ax.axvline(stats.limit, color=LIMIT_COLOUR, linestyle="--", linewidth=1.5)
        ax.axvline(stats.limit * MARGINAL_FRACTION, color="#ef6c00", linestyle=":", linewidth=1)
        handles.append(
            Line2D(
                [], [], color=LIMIT_COLOUR, linestyle="--", label=f"limit {duration(stats.limit)}"
            )
        )
        handles.append(
            Line2D(
                [],
                [],
                color="#ef6c00",
                linestyle=":",
                label=f"marginal above {short(stats.limit * MARGINAL_FRACTION)}",
            )
        )
    if values:
        if len(values) > 1:
            ax.boxplot(
                values,
                orientation="horizontal",
                positions=[0],
                widths=0.7,
                showfliers=False,
                medianprops={"color": MEDIAN_COLOUR},
            )
        # Golden-ratio offsets spread the points vertically without randomness.
        ys = [((i * 0.618034) % 1.0 - 0.5) * 0.5 for i in range(len(values))]
        ax.scatter(
            values,
            ys,
            s=14,
            c=[COLOURS.get(v, "#555555") for v in verdicts],
            zorder=3,
            edgecolors="none",
        )
        for verdict in ("pass", "marginal", "fail"):
            if verdict in verdicts:
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker="o",
                        linestyle="",
                        color=COLOURS[verdict],
                        markersize=4,
                        label=verdict,
                    )
                )
    low, high, log = _range(values, stats)
    if log:
        ax.set_xscale("log")
    ax.set_xlim(low, high)
    human_axis(ax.xaxis, low, high, log)
    ax.set_ylim(-0.6, 0.6)
    ax.set_yticks([])
    ax.set_xlabel("module time")
    ax.set_title(_title(stats, values), fontsize=9, loc="left")
    if handles:
        ax.legend(
            handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False
        )
    fig.tight_layout()
    return png(fig)


#: Colours a plot keeps: a 64-colour palette makes a PNG a third of its size, same look.
PALETTE = 64


def png(fig: Figure) -> bytes:
    """A figure as a small PNG: rendered by Agg, reduced to a palette by Pillow."""
    raw = io.BytesIO()
    fig.savefig(raw, format="png", metadata={"Software": None})
    image = Image.open(raw).convert("RGB").quantize(PALETTE, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def short(value: float) -> str:
    """A time for a legend: `2 s`, `7.5 s`, `90 s`, `10 min`, `1 h`."""
    return f"{value:g} s" if abs(value) < 100 else duration(value)


def _band(low: float, high: float) -> str:
    """`2–5 s`, or `10 min–1 h` when the two need other units."""
    if high < 100:
        return f"{low:g}–{high:g} s"
    a, b = duration(low), duration(high)
    if a.rsplit(" ", 1)[-1] == b.rsplit(" ", 1)[-1]:
        return f"{a.rsplit(' ', 1)[0]}–{b}"
    return f"{a}–{b}"


def _range(values: list[float], stats: CommandStats) -> tuple[float, float, bool]:
    """(low, high, logarithmic) of the x axis: every point, the limit and the typical band."""
    marks = [*values, *(stats.typical or ()), *([stats.limit] if stats.limit else [])]
    marks = [m for m in marks if math.isfinite(m)]
    if not marks:
        return 0.0, 1.0, False
    top = max(marks)
    positive = [m for m in marks if m > 0]
    if stats.limit and values and min(values) > 0 and stats.limit / max(values) > LOG_RATIO:
        return min(positive) / 2, stats.limit * 1.5, True
    return 0.0, (top * 1.08) or 1.0, False


def _title(stats: CommandStats, values: list[float]) -> str:
    lim = f"limit {short(stats.limit)}" if stats.limit else "no documented limit"
    if not values:
        return f"{stats.command}: no valid measurement, {lim}"
    if len(values) == 1:
        return f"{stats.command}: one measurement, {duration(values[0])}, {lim}"
    return (
        f"{stats.command}: n={len(values)}, median {duration(stats.median)}, "
        f"p95 {duration(stats.p95)}, {lim}"
    )


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
