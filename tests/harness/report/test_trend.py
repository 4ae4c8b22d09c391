"""`modemcert trend`: each command's history across nights, verdicts per clause, and the first
night each regression appeared; damaged runs skipped, invalid times never plotted."""

import csv
import json
import re

import pytest

from harness.report.runs import load_run
from harness.report.trend import build, command_png

NIGHTS = [
    # (run id, firmware, failing clauses, QIDEACT slower by)
    ("20261120-010000-sim", "M95FAR03A04", (), 0.0),
    ("20261121-010000-sim", "M95FAR03A04", (), 0.0),
    ("20261122-010000-sim", "M95FAR03A05", ("CLOSE",), 0.0),
    ("20261123-010000-sim", "M95FAR03A05", ("CLOSE", "SEND-ACK"), 4.0),
    ("20261124-010000-sim", "M95FAR03A05", ("CLOSE",), 4.0),
]


@pytest.fixture
def nights(cert_run):
    for n, (run_id, firmware, fail, slower) in enumerate(NIGHTS):
        cert_run(
            run_id,
            seed=n,
            firmware=firmware,
            fail=fail,
            slower={"AT+QIDEACT": slower},
            started=f"2026-11-{20 + n}T01:00:00+00:00",
        )
    return [run_id for run_id, *_ in NIGHTS]


def test_trend_over_five_nights(nights, reports_dir, modemcert, table_rows):
    code, out, err = modemcert("trend")
    assert code == 0, err
    assert "5 run(s), 6 command(s); 1 clause(s) failing now, first failing in: CLOSE since " in out
    html = (reports_dir / "trend.html").read_text(encoding="utf-8")
    plots = re.findall(r'<figure class="plot" id="trend-([^"]+)"><img alt="[^"]+" '
                       r'src="data:image/png;base64,', html)  # fmt: skip
    assert plots == ["AT+QIDEACT", "AT+QIACT", "AT+QICLOSE", "AT+QIOPEN", "AT+CGATT", "AT+CPIN"]
    regressions = [c for _, c in table_rows(html, "regressions-table")]
    assert [(r[0], r[1].split()[0], r[2], r[3]) for r in regressions] == [
        ("CLOSE", NIGHTS[2][0], "still failing", "3"),
        ("SEND-ACK", NIGHTS[3][0], NIGHTS[3][0], "1"),
    ]
    assert "CONNECT FAIL" not in regressions[0][4]  # the cause in plain, translated words
    grid = {a["data-clause"]: c for a, c in table_rows(html, "verdict-grid")}
    assert grid["CLOSE"][1:] == ["", "", "F", "F", "F"]
    assert "simulated module — not a certification" in html


def test_the_csv_files_hold_every_run_and_command(nights, reports_dir, modemcert):
    modemcert("trend")
    with (reports_dir / "trend.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 * 6
    deact = [r for r in rows if r["command"] == "AT+QIDEACT"]
    assert [r["firmware"] for r in deact] == [fw for _, fw, *_ in NIGHTS]
    assert float(deact[-1]["median"]) > float(deact[0]["median"]) + 3
    assert deact[0]["limit"] == "90" and deact[0]["typical_low"] == "2"
    with (reports_dir / "trend-clauses.csv").open() as f:
        clauses = list(csv.DictReader(f))
    assert len(clauses) == 5 * 53
    assert {r["verdict"] for r in clauses if r["clause"] == "CLOSE"} == {"pass", "fail"}


def test_named_runs_and_the_newest_n(nights, reports_dir, modemcert):
    code, out, _ = modemcert("trend", nights[4], nights[0], "--out-dir", reports_dir / "t")
    assert code == 0 and out.startswith("2 run(s)")
    code, out, _ = modemcert("trend", "--last", "3")
    assert code == 0 and out.startswith("3 run(s)")


def test_a_damaged_run_is_skipped_with_a_warning(nights, reports_dir, modemcert):
    (reports_dir / nights[1] / "timings.json").write_text("{not json")
    data = json.loads((reports_dir / nights[2] / "timings.json").read_text())
    data["timings"][0]["measured"] = float("nan")
    (reports_dir / nights[2] / "timings.json").write_text(json.dumps(data))
    code, out, err = modemcert("trend")
    assert code == 0 and out.startswith("4 run(s)")
    assert "warning: skipped a run whose record cannot be read" in err
    assert "unreadable run record" in err and "not a time" in err
    assert "nan" not in (reports_dir / "trend.csv").read_text().lower()


def test_no_runs_is_one_line_exit_2(reports_dir, modemcert):
    code, out, err = modemcert("trend")
    assert code == 2 and out == "" and err.startswith("modemcert trend: no runs under")
    assert len(err.strip().splitlines()) == 1


def test_a_plot_draws_every_night_it_measured(shared_run):
    runs = [load_run(shared_run(f"n{i}", seed=i)) for i in range(3)]
    png = command_png(build(runs), "AT+QIDEACT")
    assert png.startswith(b"\x89PNG")
