"""The report opens in a real browser from file://: headless Chromium shows the matrix and
prints the certificate one A4 page per module. Skips where Chromium is not installed."""

import re
import subprocess

import pytest

from harness.clauses import CLAUSES
from harness.report.certificate import render_certificate
from harness.report.report_html import render_report
from harness.report.runs import load_run

#: A safety net for a wedged browser, not a speed requirement.
BROWSER_TIMEOUT = 240

pytestmark = pytest.mark.timeout(2 * BROWSER_TIMEOUT)


def _chromium(chromium: str, profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=False,
    )


def test_report_dom_shows_the_matrix(chromium, shared_run, tmp_path):
    run = load_run(shared_run("r1", fail=("OPEN-TCP",)))
    page = tmp_path / "report.html"
    page.write_text(render_report(run), encoding="utf-8")
    done = _chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    rows = re.findall(r'<tr id="clause-([A-Z0-9-]+)" data-verdict="([a-z ]+)">', dom)
    assert [cid for cid, _ in rows] == list(CLAUSES)
    assert dict(rows)["OPEN-TCP"] == "fail" and dict(rows)["SEND-VAR"] == "pass"
    assert len(re.findall(r'<img alt="[^"]+ timings" src="data:image/png;base64,', dom)) == 6


def test_certificate_prints_one_a4_page_per_module(chromium, shared_run, tmp_path):
    runs = [load_run(shared_run("a")), load_run(shared_run("b", fail=("CLOSE",)))]
    page = tmp_path / "certificate.html"
    page.write_text(render_certificate(runs), encoding="utf-8")
    pdf = tmp_path / "certificate.pdf"
    done = _chromium(
        chromium,
        tmp_path / "profile",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        page.as_uri(),
    )
    assert pdf.is_file(), done.stderr[-2000:]
    data = pdf.read_bytes()
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) == len(runs)
    # A4 is 595 × 842 points.
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box and round(float(box.group(1))) == 595 and round(float(box.group(2))) == 842
