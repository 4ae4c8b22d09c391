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
    assert "test_open.py::test_open_tcp (failed)" in cells["OPEN-TCP"][3]
    clause, group, title, _, verdict, measured, limit, margin = cells["PDP-DEACT"]
    assert (clause, group, verdict) == ("PDP-DEACT", "PDP", "PASS")
    assert title == CLAUSES["PDP-DEACT"].title
    assert measured.endswith(" s") and limit == f"{QIDEACT.seconds:.0f} s"
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
    failures = re.findall(r'<article class="failure [^"]*" id="failure-\d+">(.*?)</article>', html,
                          re.S)  # fmt: skip
    assert len(failures) == 2
    first = failures[0]
    assert "test_open.py::test_open_tcp" in first.replace("<wbr>", "")
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


def test_a_simulated_and_mutated_run_says_so_at_the_top(slow_qiclose_run):
    html = render_report(slow_qiclose_run())
    top = html.split('<section id="run">')[0]
    assert "Simulated module — not a certification." in top and "qiclose_100s" in top
    assert "Quectel_M95 (simulated)" in html


def test_the_figures_of_a_failed_clause_are_the_step_that_failed_it(slow_qiclose_run, table_rows):
    """OPT-DNSIP's own step passed; its test failed on AT+QICLOSE in teardown: the matrix shows
    that step (90 s over 90 s, a negative margin) and the cause, never "0.04 s / 60 s, 99.9 %"."""
    html = render_report(slow_qiclose_run())
    cells = {a["id"][7:]: c for a, c in table_rows(html, "matrix")}
    _, _, _, _, verdict, measured, limit, margin = cells["OPT-DNSIP"]
    assert verdict.startswith("FAIL") and "AT+QICLOSE gave no final answer" in verdict
    assert measured.startswith("90.0 s") and "AT+QICLOSE (CLOSE)" in measured
    assert limit == "90 s" and margin.startswith("−")
    causes = re.search(r'<ol id="causes">(.*?)</ol>', html, re.S).group(1)
    assert causes.count("<li>") == 2 and "explained by the simulator mutation" in causes


def test_failures_are_grouped_by_cause_and_payloads_summarised(new_run):
    payload = bytes(range(256)) * 6
    b = new_run("r1")
    b.test(
        "suites/test_send.py::test_max",
        ["SEND-MAX"],
        "failed",
        message=f"SEND-MAX: the peer got {payload!r}",
        category="protocol deviation",
        transcript=[("tx", b"AT+QISEND=1536\r"), ("tx", payload), ("rx", b"\r\nSEND OK\r\n")],
    )
    html = render_report(load_run(b.write()))
    assert "<h3>the module answered in a way SEND-MAX does not allow — 1 test(s)</h3>" in html
    assert "[1536 bytes, sha256 " in html and "<FE><FF><00><01>" not in html
    assert len(html) < 200_000


def test_invalid_times_are_listed_not_plotted(new_run, table_rows):
    b = new_run("r1").test("suites/test_pdp.py::test_deact", ["PDP-DEACT"])
    b.timing(QIDEACT, float("nan"), "AT+QIDEACT", "suites/test_pdp.py::test_deact")
    b.timing(QIDEACT, 3.0, "AT+QIDEACT", "suites/test_pdp.py::test_deact")
    html = render_report(load_run(b.write()))
    assert [c[2] for _, c in table_rows(html, "invalid")] == ["nan"]
    assert html.count('class="plot"') == 1
    cells = {a["id"][7:]: c for a, c in table_rows(html, "matrix")}
    assert cells["PDP-DEACT"][4].startswith("ERROR") and "holds as invalid" in cells["PDP-DEACT"][4]
    assert cells["PDP-DEACT"][5].startswith("invalid")


def test_an_interrupted_run_is_never_a_pass(new_run):
    b = new_run("r1", status="interrupted", stop_reason="SIGTERM", planned=4)
    b.test("suites/test_pdp.py::test_a", ["PDP-ACT"])
    b.test("suites/test_pdp.py::test_b", ["PDP-DEACT"], "interrupted", category="interrupted")
    html = render_report(load_run(b.write()))
    assert (
        "This run is interrupted (SIGTERM): 2 of 4 selected tests recorded, 1 interrupted" in html
    )
    assert re.search(r'Overall: <span class="verdict v-interrupted">INTERRUPTED', html)


def test_a_damaged_record_is_reported_with_what_was_skipped(new_run):
    import json

    path = new_run("r1").test("suites/test_pdp.py::test_a", ["PDP-ACT"]).write()
    data = json.loads((path / "timings.json").read_text())
    data["timings"].append({"measured": "fast"})
    (path / "timings.json").write_text(json.dumps(data))
    html = render_report(load_run(path))
    assert (
        '<section id="record-warnings">' in html
        and "timings[0].measured is &#x27;fast&#x27;" in html
    )
