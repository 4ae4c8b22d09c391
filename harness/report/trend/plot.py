"""One command across the nights as a PNG: median dot, middle-half bar, min–max whisker, coloured
by firmware revision, against the documented limit and typical band."""

from __future__ import annotations

import math

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from harness.report.plots import LIMIT_COLOUR, LOG_RATIO, TYPICAL_COLOUR, human_axis, png, short
from harness.report.stats import percentile
from harness.report.trend.model import Trend

#: Colours of firmware revisions, in the order they first appear.
FIRMWARE_COLOURS = ("#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#2e7d32", "#5d4037", "#ad1457")


def command_png(trend: Trend, command: str) -> bytes:
    """One command across the nights: median dot, middle-half bar, min–max whisker."""
    fig = Figure(figsize=(7.6, 2.4), dpi=96)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours: dict[str, str] = {}
    for night in trend.nights:
        colours.setdefault(night.firmware, FIRMWARE_COLOURS[len(colours) % len(FIRMWARE_COLOURS)])
    limit = typical = None
    values: list[float] = []
    for x, night in enumerate(trend.nights):
        s = night.stats.get(command)
        if s is None:
            continue
        limit = s.limit if s.limit is not None else limit
        typical = s.typical or typical
        finite = [v for v in s.values if math.isfinite(v)]
        if not finite:
            continue
        values += finite
        colour = colours[night.firmware]
        low, high = percentile(finite, 25), percentile(finite, 75)
        ax.vlines(x, min(finite), max(finite), color=colour, linewidth=1, alpha=0.5)
        ax.vlines(x, low, high, color=colour, linewidth=5, alpha=0.8)
        hollow = bool(night.run.info.all_mutations)
        ax.plot(
            [x],
            [s.median],
            marker="s" if night.run.info.simulated else "o",
            markersize=6,
            markerfacecolor="white" if hollow else colour,
            markeredgecolor=colour,
            linestyle="",
        )
    handles: list[Artist] = [
        Line2D([], [], color=c, marker="o", linestyle="", label=f"firmware {fw}")
        for fw, c in colours.items()
    ]
    if typical:
        ax.axhspan(*typical, color=TYPICAL_COLOUR, alpha=0.25)
        handles.append(Patch(color=TYPICAL_COLOUR, alpha=0.25, label="typical band"))
    if limit:
        ax.axhline(limit, color=LIMIT_COLOUR, linestyle="--", linewidth=1.5)
        handles.append(
            Line2D([], [], color=LIMIT_COLOUR, linestyle="--", label=f"limit {short(limit)}")
        )
    if any(n.run.info.simulated for n in trend.nights):
        handles.append(
            Line2D([], [], color="#555", marker="s", linestyle="", label="simulated module")
        )
    if any(n.run.info.all_mutations for n in trend.nights):
        handles.append(
            Line2D(
                [],
                [],
                color="#555",
                marker="s",
                markerfacecolor="white",
                linestyle="",
                label="simulated, mutated",
            )
        )
    marks = [*values, *(typical or ()), *([limit] if limit else [])]
    top = max(marks) if marks else 1.0
    log = bool(limit and values and min(values) > 0 and limit / max(values) > LOG_RATIO)
    if log:
        low = min(m for m in marks if m > 0) / 2
        ax.set_yscale("log")
        ax.set_ylim(low, top * 1.5)
        human_axis(ax.yaxis, low, top * 1.5, log=True)
    else:
        ax.set_ylim(0, top * 1.1 or 1.0)
        human_axis(ax.yaxis, 0, top * 1.1 or 1.0)
    ax.set_xlim(-0.6, len(trend.nights) - 0.4)
    ax.set_xticks(range(len(trend.nights)))
    ax.set_xticklabels([n.label for n in trend.nights], fontsize=7, rotation=30, ha="right")
    ax.set_ylabel("module time", fontsize=8)
    ax.set_title(
        f"{command}: median (dot), middle half (bar), min–max (line)", fontsize=9, loc="left"
    )
    ax.legend(
        handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False
    )
    fig.tight_layout()
    return png(fig)
