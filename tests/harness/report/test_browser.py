"""Every page in a real browser: headless Chromium, every network request blocked and logged.

report.html, the certificate, the comparison (English and Chinese), the trend and the Allure
report are opened from file:// at 1400 px and at a 390 px phone width: no console error, no
network request, nothing wider than the window; the certificate prints one A4 page per module
and the comparison fits an A4 page. Screenshots are kept under pytest's temporary directory,
`<basetemp>/screenshots*/` (or `$MODEMCERT_SCREENSHOTS` when set, as CI does), one PNG per
page and width. Skips where Chromium (or, for Chinese, a CJK font) is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _browser import Browser

from harness.clauses import CLAUSES
from harness.report.certificate import render_certificate
from harness.report.compare import compare_runs
from harness.report.compare_render import render
from harness.report.report_html import render_report
from harness.report.runs import load_run
from harness.report.trend import build
from harness.report.trend import render as render_trend

#: A safety net for a wedged browser, not a speed requirement.
BROWSER_TIMEOUT = 240
WIDTHS = (1400, 390)
#: A4 portrait at 96 CSS px per inch, less the certificate's 14 mm margins.
A4_WIDTH = 700

pytestmark = pytest.mark.timeout(4 * BROWSER_TIMEOUT)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    where = os.environ.get("MODEMCERT_SCREENSHOTS")
    if where:
        path = Path(where)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
        None,
    ) or shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    with Browser(chromium, tmp_path_factory.mktemp("chromium") / "profile") as b:
        yield b


def cjk_font() -> None:
    """Skip unless a font with Chinese glyphs is installed (CI installs fonts-noto-cjk)."""
    try:
        found = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    if not found.strip():
        pytest.skip("no CJK font (apt-get install fonts-noto-cjk); CI installs it")


def look(browser: Browser, page: Path, name: str, screenshots: Path, **kw) -> dict:
    """Open `page` at each width: no console error, no network request, no horizontal
    overflow; a screenshot of each. Returns the visits by width."""
    visits = {}
    for width in WIDTHS:
        session, visit = browser.open(page.as_uri(), width, **kw)
        try:
            browser.screenshot(session, screenshots / f"{name}-{width}.png")
        finally:
            browser.close_page(session)
        assert visit.network == [], f"{name} at {width} px asked the network: {visit.network}"
        assert visit.console_errors == [], f"{name} at {width} px: {visit.console_errors}"
        assert not visit.overflows, (
            f"{name} is {visit.scroll_width} px wide in a {width} px window: {visit.overflowing}"
        )
        visits[width] = visit
    return visits


@pytest.fixture(scope="module")
def regressed(shared_run, tmp_path_factory):
    old = load_run(shared_run("20261122-181200-sim", seed=0))
    new = load_run(
        shared_run(
            "20261123-181200-sim",
            seed=3,
            slower={"AT+QIDEACT": 6.0},
            fail=("OPEN-TCP", "CLOSE"),
            skip=("PWR-ON",),
            started="2026-11-23T18:12:00+00:00",
        )
    )
    return old, new


def test_report(browser, regressed, slow_qiclose_run, tmp_path, screenshots):
    page = tmp_path / "report.html"
    page.write_text(render_report(regressed[1]), encoding="utf-8")
    look(browser, page, "report", screenshots)
    session, _ = browser.open(page.as_uri(), 1400)
    rows = browser.evaluate(
        session,
        "[...document.querySelectorAll('#matrix tbody tr')].map(r => [r.id, r.dataset.verdict])",
    )
    assert [r[0] for r in rows] == [f"clause-{c}" for c in CLAUSES]
    assert dict(rows)["clause-OPEN-TCP"] == "fail" and dict(rows)["clause-SEND-VAR"] == "pass"
    plots = browser.evaluate(
        session, "[...document.querySelectorAll('figure.plot img')].filter(i => i.naturalWidth)"
        ".length",
    )  # fmt: skip
    assert plots == 6
    browser.close_page(session)
    mutated = tmp_path / "mutated.html"
    mutated.write_text(render_report(slow_qiclose_run()), encoding="utf-8")
    look(browser, mutated, "report-mutated", screenshots)


def test_certificate_prints_one_a4_page_per_module(browser, regressed, tmp_path, screenshots):
    page = tmp_path / "certificate.html"
    page.write_text(render_certificate(list(regressed)), encoding="utf-8")
    look(browser, page, "certificate", screenshots)
    session, _ = browser.open(page.as_uri(), A4_WIDTH)
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session)
    assert browser.evaluate(session, "document.documentElement.scrollWidth") <= A4_WIDTH
    pdf = browser.pdf(session, tmp_path / "certificate.pdf").read_bytes()
    browser.close_page(session)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == len(regressed)
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box and round(float(box.group(1))) == 595 and round(float(box.group(2))) == 842


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compare(browser, regressed, slow_qiclose_run, tmp_path, screenshots, lang):
    if lang == "zh":
        cjk_font()
    for name, (old, new) in {
        "compare": regressed,
        "compare-mutated": (regressed[0], slow_qiclose_run()),
    }.items():
        _, html = render(compare_runs(old, new), lang)
        page = tmp_path / f"{name}-{lang}.html"
        page.write_text(html, encoding="utf-8")
        look(browser, page, f"{name}-{lang}", screenshots)
        session, _ = browser.open(page.as_uri(), A4_WIDTH)
        browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session)
        width = browser.evaluate(session, "document.documentElement.scrollWidth")
        # The narrowest column stays readable: no cell squeezed under two characters' width.
        narrow = browser.evaluate(
            session,
            "Math.min(...[...document.querySelectorAll('td')].filter(c => c.textContent.trim())"
            ".map(c => c.getBoundingClientRect().width))",
        )  # fmt: skip
        browser.close_page(session)
        assert width <= A4_WIDTH, f"{name} {lang} is {width} px wide on an A4 page"
        assert narrow >= 28, f"{name} {lang}: a table cell only {narrow} px wide"


def test_trend(browser, shared_run, tmp_path, screenshots):
    runs = [
        load_run(shared_run(f"2026112{i}-010000-sim", seed=i, fail=("CLOSE",) if i > 2 else ()))
        for i in range(5)
    ]
    page = tmp_path / "trend.html"
    page.write_text(render_trend(build(runs)), encoding="utf-8")
    look(browser, page, "trend", screenshots)


def test_allure_report_makes_no_network_request(
    browser, allure3, cert_run, reports_dir, screenshots, monkeypatch
):
    from harness.report.allure_render import ALLURE_ENV, render_allure

    monkeypatch.setenv(ALLURE_ENV, allure3)
    run = cert_run("20261123-181200-sim", fail=("CLOSE",), skip=("PWR-ON",))
    outcome = render_allure(run, reports_dir)
    assert outcome.path is not None, outcome.message
    visits = look(
        browser,
        outcome.path,
        "allure",
        screenshots,
        settle="document.querySelector('#app')?.children.length > 0",
    )
    assert all(v.title for v in visits.values())
