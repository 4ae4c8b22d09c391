"""`modemcert trend [RUN ...]`: how a module's timings and verdicts moved across nights.

For every command: the median and spread (middle half, and min–max) of each run, against the
documented limit and typical band, points coloured by firmware revision; for every clause its
verdict in each run; and the first night each regression appeared (the run where a clause's
latest failing streak began, with its cause). Writes one self-contained `trend.html` with the
plots and `trend.csv` (one row per run and command) beside `trend-clauses.csv` (one row per run
and clause). Simulated and mutated runs are marked on every plot and table. A run whose record
cannot be read is skipped with a warning; NaN and other invalid times are never plotted.
Modules: `model` (`Night`, `Regression`, `Trend`, `build`), `plot` (`command_png`), `render`
(the HTML page), `csvs` (the CSV files), `command` (`modemcert trend`: `add_arguments`, `main`).
"""

from harness.report.trend.command import DEFAULT_LAST, PROG, add_arguments, main
from harness.report.trend.csvs import CLAUSES_CSV, HTML, TIMINGS_CSV, clauses_csv, timings_csv
from harness.report.trend.model import Night, Regression, Trend, build
from harness.report.trend.plot import FIRMWARE_COLOURS, command_png
from harness.report.trend.render import render

__all__ = [
    "CLAUSES_CSV",
    "DEFAULT_LAST",
    "FIRMWARE_COLOURS",
    "HTML",
    "PROG",
    "TIMINGS_CSV",
    "Night",
    "Regression",
    "Trend",
    "add_arguments",
    "build",
    "clauses_csv",
    "command_png",
    "main",
    "render",
    "timings_csv",
]
