"""Reports from two real sim runs (tests/data/runs): the faithful simulator, and the same suites
against a module whose AT+QIDEACT answers after 100 s (mutation qideact_100s)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harness.limits import QIDEACT
from harness.report.runs import load_run
from harness.report.verdicts import ClauseVerdict, clause_rows

DATA = Path(__file__).resolve().parents[2] / "data" / "runs"
GOOD, SLOW = "20261122-234148-sim", "20261122-234156-sim"


@pytest.fixture
def runs(reports_dir: Path) -> Path:
    for name in (GOOD, SLOW):
        shutil.copytree(DATA / name, reports_dir / name)
    return reports_dir


def verdicts(path: Path) -> dict[str, ClauseVerdict]:
    return {row.clause.id: row.verdict for row in clause_rows(load_run(path))}


def test_the_recorded_runs_carry_their_verdicts():
    good, slow = verdicts(DATA / GOOD), verdicts(DATA / SLOW)
    inside = (ClauseVerdict.PASS, ClauseVerdict.MARGINAL)  # QIDEACT above its 2–5 s typical
    assert good["PDP-DEACT"] in inside and good["CLOSE-DEACT"] in inside
    assert slow["PDP-DEACT"] is ClauseVerdict.FAIL and slow["CLOSE-DEACT"] is ClauseVerdict.FAIL
    deact = [t for t in load_run(DATA / SLOW).timings if t.command == "AT+QIDEACT"]
    assert max(t.measured for t in deact) > QIDEACT.seconds


@pytest.mark.parametrize(("lang", "word"), [("en", "REGRESSED"), ("zh", "有回归")])
def test_compare_shows_the_slower_qideact_in_both_languages(runs, modemcert, tmp_path, lang, word):
    code, out, err = modemcert("compare", GOOD, SLOW, "--lang", lang, "--out-dir", tmp_path)
    assert code == 1, err
    assert word in out
    md = (tmp_path / f"compare-{GOOD}-{lang}.md").read_text(encoding="utf-8")
    assert "PDP-DEACT" in md and "AT+QIDEACT" in md
    assert (tmp_path / f"compare-{GOOD}-{lang}.html").is_file()


def test_compare_the_other_way_is_not_a_regression(runs, modemcert, tmp_path):
    code, _, err = modemcert("compare", SLOW, GOOD, "--out-dir", tmp_path)
    assert code == 0, err


def test_report_and_certificate_from_a_recorded_run(runs, modemcert):
    code, _, err = modemcert("report", SLOW, "--no-allure")
    assert code == 0, err
    html = (runs / SLOW / "report.html").read_text(encoding="utf-8")
    assert "PDP-DEACT" in html and "AT+QIDEACT" in html and "<img" in html
    code, _, err = modemcert("report", GOOD, "--certificate", "--operator", "A. Tester")
    assert code == 0, err
    (cert,) = list((runs / GOOD).glob("certificate*.html"))
    text = cert.read_text(encoding="utf-8")
    assert "A. Tester" in text and "Quectel_M95" in text


ABORTED = "20261204-182548-560-sim"


def test_the_aborted_mutated_run_reads_in_the_new_format():
    run = load_run(DATA / ABORTED)
    info = run.info
    assert (info.status, info.planned, info.kind, info.all_mutations) == (
        "aborted",
        83,
        "sim",
        ("qiclose_100s",),
    )
    assert info.stop_category == "rig fault" and run.interrupted and run.warnings == ()
    rows = {r.clause.id: r.verdict for r in clause_rows(load_run(DATA / ABORTED))}
    assert rows["CLOSE"] is ClauseVerdict.FAIL and rows["SEND-VAR"] is ClauseVerdict.NOT_RUN


def test_compare_with_the_aborted_run_finds_one_cause_and_names_the_mutation(
    runs, modemcert, tmp_path
):
    shutil.copytree(DATA / ABORTED, runs / ABORTED)
    code, _, err = modemcert("compare", GOOD, ABORTED, "--out-dir", tmp_path)
    assert code == 1, err  # a regression outranks the coverage the aborted run lost
    md = (tmp_path / f"compare-{GOOD}-en.md").read_text(encoding="utf-8")
    causes = re.findall(r"^### (Cause \d+: .*)$", md, re.M)
    assert causes[0] == "Cause 1: AT+QICLOSE gave no final answer within its 90 s limit (CLOSE)"
    assert all("AT+QICLOSE" not in c for c in causes[1:])
    assert "Explained by the simulator mutation qiclose_100s, recorded in the NEW run." in md
    assert "> **Coverage lost:" in md and "NEW with qiclose_100s" in md


def test_allure_of_the_aborted_run_agrees_with_its_record():
    """The plugin's Allure results: failed = the module's faults, broken = the rig's."""
    results = [
        json.loads(p.read_text()) for p in (DATA / ABORTED / "allure-results").glob("*-result.json")
    ]
    run = load_run(DATA / ABORTED)
    by_name = {r["name"]: r for r in results}
    for test in run.tests:
        name = test.nodeid.split("::")[-1]
        labels = {x["name"]: x["value"] for x in by_name[name]["labels"]}
        expected = "failed" if test.category.is_module else "broken"
        assert (by_name[name]["status"], labels["category"]) == (expected, test.category)
