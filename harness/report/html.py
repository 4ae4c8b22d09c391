"""Small HTML helpers shared by the report, the certificate, the comparison and the trend.

Pages are self-contained: inline CSS, no scripts, no external URLs, so they open from
file:// on a lab PC with no network. Tables fit a 1400 px window, an A4 page and, stacked as
cards (each cell labelled with its column), a 390 px phone screen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from html import escape

BASE_CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK", Arial, sans-serif;
       font-size: 13px; color: #212121; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0 1em; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num, td.nowrap, th.nowrap { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .5em; overflow-x: auto;
      white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
.verdict { font-weight: bold; padding: 1px 6px; border-radius: 3px; white-space: nowrap; }
.v-pass { background: #c8e6c9; } .v-marginal { background: #ffe0b2; }
.v-fail { background: #ffcdd2; } .v-error, .v-inconclusive { background: #e1bee7; }
.v-interrupted { background: #b3e5fc; }
.v-skipped, .v-not-run, .v-incomplete { background: #eeeeee; color: #555; }
.muted { color: #757575; }
.banner { border: 2px solid #c62828; background: #fff3f3; padding: .5em .8em; margin: .8em 0;
          font-weight: bold; }
.banner.note { border-color: #ef6c00; background: #fff8e1; }
.watermark { position: fixed; top: 45%; left: 0; right: 0; text-align: center;
             transform: rotate(-30deg); font-size: 44px; font-weight: bold;
             color: rgba(198, 40, 40, 0.13); pointer-events: none; z-index: 10;
             white-space: nowrap; overflow: hidden; }
ul.warnings li { color: #8d6e00; }
@media screen and (max-width: 640px) {
  body { margin: .5em auto; padding: 0 .5em; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block;
    width: auto; }
  table.stack thead { display: none; }
  table.stack tr { border: 1px solid #ccc; margin-bottom: .6em; }
  table.stack td { border: none; border-bottom: 1px solid #eee; white-space: normal;
    text-align: left; }
  table.stack td::before { content: attr(data-label); display: block; font-size: .85em;
    color: #757575; }
  .watermark { font-size: 22px; }
}
@media print { .banner { break-inside: avoid; } }
"""


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


_BREAK_AFTER = re.compile(r"(::|[_/,=\]\)]|&gt;)")


def breakable(value: object) -> str:
    """Escaped text that may wrap after `_ / , = :: ] ) >` (node ids, AT commands), so a long
    identifier wraps at a sensible place instead of widening its table."""
    return _BREAK_AFTER.sub(r"\1<wbr>", esc(value))


def css_class(verdict: str) -> str:
    return "v-" + str(verdict).replace(" ", "-")


def badge(verdict: str, label: str | None = None) -> str:
    text = label if label is not None else str(verdict).upper()
    return f'<span class="verdict {css_class(verdict)}">{esc(text)}</span>'


def duration(value: float | None) -> str:
    """Module seconds in the unit a person reads: `0.25 s`, `42.0 s`, `10 min`, `1 h`."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return f"invalid ({value})"
    size = abs(value)
    if size >= 3600:
        return f"{value / 3600:.3g} h"
    if size >= 600:
        return f"{value / 60:.3g} min"
    if size >= 100 or (size >= 10 and value == round(value)):
        return f"{value:.0f} s"
    if size >= 10:
        return f"{value:.1f} s"
    return f"{value:.2f} s"


#: Tables and summaries show times with `duration()`.
seconds = duration


def percent(fraction: float | None) -> str:
    """A margin as a percentage; a sliver over a limit shows as over (−0.02 %), never −0.0 %."""
    if fraction is None or not math.isfinite(fraction):
        return "—"
    value = fraction * 100
    text = f"{abs(value):.2f}" if 0 < abs(value) < 0.1 else f"{abs(value):.1f}"
    return f"{'−' if value < 0 else ''}{text} %"


def _label(header: str) -> str:
    return esc(re.sub(r"<[^>]+>", "", header).replace("&amp;", "&"))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    attrs: str = "",
    row_attrs: Sequence[str] | None = None,
    numeric: Iterable[int] = (),
    nowrap: Iterable[int] = (),
    stack: bool = True,
) -> str:
    """A table from already-escaped cell HTML; `numeric` columns are right-aligned, `nowrap`
    ones never wrap. On a phone screen (`stack`) each row becomes a card of labelled cells."""
    numeric = set(numeric)
    nowrap = set(nowrap)
    head = "".join(
        f'<th class="nowrap">{h}</th>' if j in nowrap else f"<th>{h}</th>"
        for j, h in enumerate(headers)
    )
    labels = [_label(h) for h in headers]
    body = []
    for i, row in enumerate(rows):
        extra = f" {row_attrs[i]}" if row_attrs else ""
        cells = []
        for j, c in enumerate(row):
            cls = "num" if j in numeric else "nowrap" if j in nowrap else ""
            label = f' data-label="{labels[j]}"' if stack and j < len(labels) and labels[j] else ""
            cells.append(f'<td class="{cls}"{label}>{c}</td>' if cls else f"<td{label}>{c}</td>")
        body.append(f"<tr{extra}>{''.join(cells)}</tr>")
    classes = "stack" if stack else ""
    if 'class="' in attrs and classes:
        attrs = attrs.replace('class="', f'class="{classes} ', 1)
    elif classes:
        attrs = f'{attrs} class="{classes}"'.strip()
    space = f" {attrs}" if attrs else ""
    return f"<table{space}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str, *, css: str = "", lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{BASE_CSS}{css}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def simulated_banner(mutations: Sequence[str], what: str = "report") -> str:
    """The line every page of a simulated run carries: no verdict here certifies a module."""
    text = "Simulated module — not a certification."
    if mutations:
        text += (
            f" The simulator broke documented behaviour on purpose: {', '.join(mutations)}"
            " (harness/sim/mutations.py)."
        )
    return f'<p class="banner" data-simulated="1">{esc(text)}</p>'


def warnings_list(warnings: Sequence[str]) -> str:
    """What the reader skipped in a damaged record, one line each."""
    if not warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    return (
        '<section id="record-warnings"><h2>Damaged record</h2><p>Parts of this run\'s record '
        f'could not be read and were left out:</p><ul class="warnings">{items}</ul></section>'
    )
