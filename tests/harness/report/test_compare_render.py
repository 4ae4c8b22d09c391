"""The supplier report in Markdown and HTML, English and Chinese, from one set of blocks."""

import re

import pytest

from harness.limits import QIDEACT
from harness.report.compare import compare_runs
from harness.report.compare_render import Heading, Para, Table, render, to_html, to_markdown
from harness.report.runs import load_run

REGRESSED = {"seed": 3, "slower": {"AT+QIDEACT": 6.0}, "fail": ("OPEN-TCP",), "firmware": "A05"}


@pytest.fixture(scope="module")
def regressed(shared_run):
    return compare_runs(
        load_run(shared_run("old", seed=0)), load_run(shared_run("new", **REGRESSED))
    )


@pytest.fixture(scope="module")
def steady(shared_run):
    return compare_runs(load_run(shared_run("old", seed=0)), load_run(shared_run("new", seed=1)))


def _section(markdown: str, heading: str) -> str:
    """The text under one `## heading`, up to the next heading."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^#|\Z)", markdown, re.M | re.S)
    assert m, f"no section {heading!r}"
    return m.group(1)


def test_english_regression_report(regressed):
    md, html = render(regressed, "en")
    assert "**Result: REGRESSED — 1 clause(s) now fail, 1 command(s) slower" in md
    assert "| Firmware | M95FAR03A04 | A05 |" in md
    regressions = _section(md, "Clauses that regressed (now fail)")
    assert "| OPEN-TCP | Establish TCP session |" in regressions
    assert "| pass | fail |" in regressions
    assert "CONNECT FAIL where CONNECT OK was expected" in regressions
    slower = _section(md, "Commands slower beyond noise")
    [row] = [line for line in slower.splitlines() if line.startswith("| AT+")]
    assert row.startswith("| AT+QIDEACT | PDP-DEACT | 8/8 |") and row.endswith(
        f"| {QIDEACT.seconds:.2f} s |"
    )
    assert "AT+QIACT" not in slower
    assert _section(md, "Clauses fixed (failed before, pass now)").strip() == "None."
    assert '<html lang="en">' in html and "OPEN-TCP" in html


def test_chinese_report_uses_the_supplier_terms_and_keeps_commands_verbatim(regressed):
    md, html = render(regressed, "zh")
    assert "**结论：有回归 — 1 个条款由通过变为不通过，1 条命令的响应时间变慢" in md
    regressions = _section(md, "回归的条款（现在不通过）")
    assert "| OPEN-TCP | 建立TCP连接 |" in regressions
    assert 'AT+QIOPEN="TCP",... 返回 OK，然后返回 CONNECT OK' in regressions
    assert "| 通过 | 不通过 |" in regressions
    slower = _section(md, "响应时间变慢（超出测试波动范围）的命令")
    assert "| AT+QIDEACT | PDP-DEACT |" in slower
    margin = _section(md, "时间结论变化的条款（通过 ↔ 临界）")
    assert "去激活GPRS场景" in margin and "临界" in margin
    assert "依据《GSM 模块 TCPIP 应用流程指导》" in md
    assert '<html lang="zh-CN">' in html and "去激活" in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_regression_report(steady, lang):
    md, _ = render(steady, lang)
    expected = {"en": "**Result: no regression", "zh": "**结论：无回归"}[lang]
    assert expected in md
    words = {"en": "within noise", "zh": "在波动范围内"}[lang]
    assert md.count(f"| {words} |") == len(steady.shifts) == 6


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_noise_rule_is_explained_with_its_numbers(steady, lang):
    md, _ = render(steady, lang)
    assert "0.5" in md and "20%" in md and "1.4826" in md and "MAD" in md


def test_markdown_and_html_say_the_same():
    blocks = [
        Heading("T", 1),
        Para("a | b", strong=True),
        Table(["x", "y"], [["1 | 2", "<b>"]], numeric=(1,)),
    ]
    md = to_markdown(blocks)
    assert md.splitlines()[:6] == ["# T", "", "**a | b**", "", "| x | y |", "|---|---:|"]
    assert "| 1 \\| 2 | <b> |" in md
    html = to_html(blocks, "en")
    assert "<title>T</title>" in html and "&lt;b&gt;" in html and "<b>a | b</b>" in html
