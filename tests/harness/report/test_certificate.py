"""The acceptance certificate: a printable page per module, masked IMEI, groups, signatures."""

import re

from harness.clauses import GROUPS
from harness.report.certificate import TIGHTEST, full_imei, render_certificate
from harness.report.runs import load_run


def test_one_page_per_module_in_order(shared_run):
    a = load_run(shared_run("a"))
    b = load_run(shared_run("b", firmware="M95FAR03A05"))
    html = render_certificate([a, b])
    assert re.findall(r'<section class="page" data-run="([^"]+)">', html) == ["a", "b"]
    assert "@page { size: A4" in html and "break-after: page" in html


def test_identity_with_masked_imei(shared_run):
    html = render_certificate([load_run(shared_run("a"))], operator="Li Wei")
    for text in (
        "Quectel_M95",
        "M95FAR03A04",
        "89860012345678901234",
        "sim",
        "Li Wei",
        "2026-11-22",
        "0.1.0",
    ):
        assert text in html
    assert "xxxxxxxxxxxx123" in html and "861234567890123" not in html


def test_full_imei_from_the_allure_environment(shared_run):
    run = load_run(shared_run("a"))
    assert full_imei(run) == "861234567890123"
    assert "861234567890123" in render_certificate([run], show_full_imei=True)


def test_full_imei_refuses_one_that_disagrees_with_the_record(shared_run):
    run = load_run(shared_run("a"))
    run.environment["module.imei"] = "869999999999999"
    assert full_imei(run) is None
    html = render_certificate([run], show_full_imei=True)
    assert "only the masked IMEI was recorded" in html and "869999999999999" not in html


def test_group_verdicts_in_clause_group_order(shared_run, table_rows):
    run = load_run(shared_run("a", fail=("SEND-ACK",), skip=("PWR-OFF",)))
    html = render_certificate([run])
    rows = re.findall(r'<tr data-group="([A-Z]+)">(.*?)</tr>', html)
    assert [g for g, _ in rows] == list(GROUPS)
    verdicts = {g: re.search(r'class="verdict v-([a-z-]+)"', cells).group(1) for g, cells in rows}
    assert verdicts["SEND"] == "fail" and verdicts["PWR"] == "incomplete"
    assert verdicts["INIT"] == "pass"
    assert 'Verdict: <span class="verdict v-fail">FAIL' in html


def test_tightest_steps_and_signature_block(shared_run):
    html = render_certificate([load_run(shared_run("a"))], operator="Li Wei")
    tight = re.search(r'<table class="tightest">(.*?)</table>', html, re.S).group(1)
    assert 1 <= tight.count("<tr>") - 1 <= TIGHTEST
    assert "AT+QIDEACT" in tight  # the closest to its limit: typical 3 s of QIDEACT's limit
    assert re.search(r"<td>Tested by</td><td>Li Wei</td>", html)
    assert "Approved by" in html


def test_nothing_interactive(shared_run):
    html = render_certificate([load_run(shared_run("a", fail=("OPEN-TCP",)))])
    for tag in ("<script", "<a ", "<details", "<input", "<button", "<form", "<link"):
        assert tag not in html
