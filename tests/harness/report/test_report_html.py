"""The run report: header, verdict, the full matrix, plots, failures with transcripts."""

import re

import pytest

from harness.clauses import CLAUSES
from harness.limits import QIDEACT
from harness.report.report_html import TRANSCRIPT_LINES, render_report
from harness.report.runs import load_run

FAILING = {"fail": ("OPEN-TCP", "SEND-ACK"), "skip": ("PWR-ON",), "omit": ("FLOW-RECOVER",)}


@pytest.fixture(scope="module")
def html(shared_run) -> str:
    """The report of a run with failures, a skipped and an untested clause (rendered once)."""
    return render_report(load_run(shared_run("r1", **FAILING)), operator="Li Wei")


def test_matrix_has_every_clause_in_document_order(html, table_rows):
    rows = table_rows(html, "matrix")
    assert [attrs["id"] for attrs, _ in rows] == [f"clause-{c}" for c in CLAUSES]
    verdicts = {attrs["id"][7:]: attrs["data-verdict"] for attrs, _ in rows}
    assert verdicts["OPEN-TCP"] == "fail"
    assert verdicts["PWR-ON"] == "skipped"
    assert verdicts["FLOW-RECOVER"] == "not run"
    assert verdicts["SEND-VAR"] == "pass"
    cells = {attrs["id"][7:]: cells for attrs, cells in rows}
    assert "no test in this run" in cells["FLOW-RECOVER"][3]
    assert "suites/test_open.py::test_open_tcp (failed)" in cells["OPEN-TCP"][3]
    clause, group, title, _, verdict, measured, limit, margin = cells["PDP-DEACT"]
    assert (clause, group, verdict) == ("PDP-DEACT", "PDP", "PASS")
    assert title == CLAUSES["PDP-DEACT"].title
    assert measured.endswith(" s") and limit == f"{QIDEACT.seconds:.1f} s"
    assert margin.endswith("%")
    assert cells["INIT-SYNC"][6] == CLAUSES["INIT-SYNC"].limit  # no step: documented text


def test_header_and_verdict(html):
    for text in (
        "2026-11-22T18:12:00+00:00",
        "Quectel_M95",
        "M95FAR03A04",
        "M95FAR02A08",
        "0.02",
        "Li Wei",
    ):
        assert text in html
    assert "xxxxxxxxxxxx123" in html and "861234567890123" not in html
    assert re.search(r"Overall: <span class=\"verdict v-fail\">FAIL</span>", html)


def test_an_unfinished_run_says_so(new_run):
    b = new_run("r1", finished=None).test("suites/test_pdp.py::test_a", ["PDP-ACT"])
    assert "did not finish" in render_report(load_run(b.write()))


def test_one_plot_per_command(html):
    plots = re.findall(
        r'<figure id="plot-([^"]+)" class="plot"><img alt="[^"]*" '
        r'src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"',
        html,
    )
    assert plots == ["AT+QIDEACT", "AT+QIACT", "AT+QICLOSE", "AT+QIOPEN", "AT+CGATT", "AT+CPIN"]


def test_failures_show_message_category_and_transcript_tail(html):
    failures = re.findall(r'<article class="failure" id="failure-\d+">(.*?)</article>', html, re.S)
    assert len(failures) == 2
    first = failures[0]
    assert "suites/test_open.py::test_open_tcp" in first
    assert "protocol deviation" in first
    assert "OPEN-TCP: CONNECT FAIL where CONNECT OK was expected" in first
    assert "CONNECT FAIL\\r\\n" in first  # the transcript, escaped as Transcript.text() writes
    assert "STATE: IP CLOSE" in first
    assert "AssertionError" in first  # the traceback from junit.xml


def test_long_transcripts_are_cut_to_their_end(new_run):
    lines = [("rx", f"line {i}\r\n".encode()) for i in range(TRANSCRIPT_LINES * 2)]
    # Transcript.text() starts a line on each change of direction: alternate tx and rx.
    log = [("tx" if i % 2 else "rx", x) for i, (_, x) in enumerate(lines)]
    b = new_run("r1").test("suites/t.py::test_a", ["ORDER"], "failed", message="x", transcript=log)
    html = render_report(load_run(b.write()))
    assert f"line {TRANSCRIPT_LINES * 2 - 1}" in html
    assert "line 0\\r" not in html
    assert f"last {TRANSCRIPT_LINES} of {TRANSCRIPT_LINES * 2} lines" in html


def test_steps_over_their_limit_are_listed(new_run, table_rows):
    b = new_run("r1").test("suites/test_pdp.py::test_deact", ["PDP-DEACT"])
    b.timing(QIDEACT, QIDEACT.seconds + 5, "AT+QIDEACT", "suites/test_pdp.py::test_deact")
    html = render_report(load_run(b.write()))
    [(_, cells)] = table_rows(html, "over-limit")
    assert cells[:2] == ["PDP-DEACT", "AT+QIDEACT"]


def test_skipped_tests_give_their_reason(html):
    assert "rig lacks capability &#x27;power&#x27;" in html


def test_self_contained_no_external_references(html):
    references = re.findall(r'\b(?:src|href|action)\s*=\s*"([^"]*)"', html)
    assert references and all(r.startswith("data:image/png;base64,") for r in references)
    assert "url(" not in html and "@import" not in html
    assert "<script" not in html and "<link" not in html and "<iframe" not in html
    assert "<style>" in html


def test_hostile_text_is_escaped(new_run):
    b = new_run("r1").test("suites/t.py::test_a", ["ORDER"], "failed", message="<script>x</script>")
    html = render_report(load_run(b.write()))
    assert "<script>x" not in html and "&lt;script&gt;x" in html
