"""Small HTML helpers shared by the report, the certificate and the comparison.

Pages are self-contained: inline CSS, no scripts, no external URLs, so they open from
file:// on a lab PC with no network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

BASE_CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", Arial, sans-serif; font-size: 13px;
       color: #212121; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .5em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; font-size: 12px; }
.verdict { font-weight: bold; padding: 1px 6px; border-radius: 3px; white-space: nowrap; }
.v-pass { background: #c8e6c9; } .v-marginal { background: #ffe0b2; }
.v-fail { background: #ffcdd2; } .v-error, .v-inconclusive { background: #e1bee7; }
.v-skipped, .v-not-run, .v-incomplete { background: #eeeeee; color: #555; }
.muted { color: #757575; }
"""


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def css_class(verdict: str) -> str:
    return "v-" + str(verdict).replace(" ", "-")


def badge(verdict: str, label: str | None = None) -> str:
    text = label if label is not None else str(verdict).upper()
    return f'<span class="verdict {css_class(verdict)}">{esc(text)}</span>'


def seconds(value: float | None) -> str:
    """Module seconds for a table cell: 3 significant figures, at least 2 decimals below 10."""
    if value is None:
        return "—"
    if abs(value) < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s"


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f} %"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    attrs: str = "",
    row_attrs: Sequence[str] | None = None,
    numeric: Iterable[int] = (),
) -> str:
    """A table from already-escaped cell HTML; `numeric` columns are right-aligned."""
    numeric = set(numeric)
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        extra = f" {row_attrs[i]}" if row_attrs else ""
        cells = "".join(
            f'<td class="num">{c}</td>' if j in numeric else f"<td>{c}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr{extra}>{cells}</tr>")
    space = f" {attrs}" if attrs else ""
    return f"<table{space}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str, *, css: str = "", lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{BASE_CSS}{css}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
