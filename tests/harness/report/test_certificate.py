"""The acceptance certificate: a printable page per module, masked IMEI, groups, signatures."""

import re

from harness.clauses import GROUPS
from harness.report.certificate import TIGHTEST, WATERMARK, full_imei, render_certificate
from harness.report.runs import load_run


def test_one_page_per_module_in_order(shared_run):
    a = load_run(shared_run("a"))
    b = load_run(shared_run("b", firmware="M95FAR03A05"))
    html = render_certificate([a, b])
    assert re.findall(r'<section class="page" data-run="([^"]+)"', html) == ["a", "b"]
    assert "@page { size: A4" in html and "break-after: page" in html


def test_identity_with_masked_imei(shared_run):
    html = render_certificate([load_run(shared_run("a"))], operator="Li Wei")
    for text in (
        "Quectel_M95",
        "M95FAR03A04",
        "xxxxxxxxxxxxxxxxx234",  # the ICCID, masked in the record like the IMEI
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
    tight = re.search(r'<table class="stack tightest">(.*?)</table>', html, re.S).group(1)
    assert 1 <= tight.count("<tr>") - 1 <= TIGHTEST
    assert "AT+QIDEACT" in tight  # the closest to its limit: typical 3 s of QIDEACT's limit
    assert re.search(r"<td>Tested by</td><td>Li Wei</td>", html)
    assert "Approved by" in html


def test_nothing_interactive(shared_run):
    html = render_certificate([load_run(shared_run("a", fail=("OPEN-TCP",)))])
    for tag in ("<script", "<a ", "<details", "<input", "<button", "<form", "<link"):
        assert tag not in html


def test_a_simulated_run_is_watermarked_and_says_so(shared_run, new_run):
    sim = render_certificate([load_run(shared_run("a"))])
    assert WATERMARK in sim and 'data-simulated="1"' in sim
    assert "Simulated module — not a certification." in sim
    assert "Quectel_M95 (simulated)" in sim
    real = new_run("r", rig="pi-m95", rig_kind="serial").test(
        "suites/test_x.py::test_a", ["PDP-ACT"]
    )
    html = render_certificate([load_run(real.write())])
    assert WATERMARK not in html and "(simulated)" not in html and 'data-simulated="0"' in html


def test_the_mutations_are_named_on_the_certificate(new_run):
    b = new_run("m", mutations=["qiclose_100s"]).test("suites/test_x.py::test_a", ["CLOSE"])
    html = render_certificate([load_run(b.write())])
    assert "qiclose_100s" in html and WATERMARK in html


def test_a_target_with_a_tolerance_is_not_a_tight_margin(new_run):
    """OPT-TCFG's 200 ms is a target the step may pass a little above: never "−1.5 %"."""
    from harness.limits import TCFG_WAIT, Timing, Verdict

    b = new_run("t").test("suites/test_init.py::test_tcfg", ["OPT-TCFG"])
    b.timings.append(
        (Timing("OPT-TCFG", "short batch", 0.203, TCFG_WAIT.seconds, None, Verdict.PASS), None)
    )
    html = render_certificate([load_run(b.write())])
    assert "short batch" not in html and "−" not in html.split("Tightest")[1].split("Signat")[0]


def test_an_interrupted_run_is_not_a_pass(new_run):
    b = new_run("i", status="interrupted", stop_reason="SIGTERM", planned=3)
    b.test("suites/test_x.py::test_a", ["PDP-ACT"])
    html = render_certificate([load_run(b.write())])
    assert 'Verdict: <span class="verdict v-interrupted">INTERRUPTED' in html
    assert "interrupted: SIGTERM" in html
