"""The supplier report in Markdown and HTML, English and Chinese, from one set of blocks."""

import re

import pytest

from harness.report.compare import compare_runs
from harness.report.compare_render import (
    Banner,
    Heading,
    Para,
    Quote,
    Table,
    render,
    to_html,
    to_markdown,
)
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


def _section(markdown: str, heading: str, level: int = 2) -> str:
    """The text under one heading, up to the next heading of any level."""
    marks = "#" * level
    m = re.search(rf"^{marks} {re.escape(heading)}\n(.*?)(?=^#|\Z)", markdown, re.M | re.S)
    assert m, f"no section {heading!r}"
    return m.group(1)


def test_english_regression_report(regressed):
    md, html = render(regressed, "en")
    assert "**Result: REGRESSED — 1 clause(s) now fail from 1 cause(s); 1 command(s) slower" in md
    assert "| Firmware | M95FAR03A04 | A05 |" in md
    assert "Firmware M95FAR03A04 → A05: the change this report judges." in md
    cause = _section(md, "Cause 1: the module answered in a way OPEN-TCP does not allow", 3)
    assert "| OPEN-TCP | AT+QIOPEN=" in cause and "| pass | fail |" in cause
    assert "suites/test_open.py::test_open_tcp" in cause
    slower = _section(md, "Commands slower beyond noise")
    [row] = [line for line in slower.splitlines() if line.startswith("| AT+")]
    assert row.startswith("| AT+QIDEACT | 8/8 |")
    assert "suites/test_pdp.py::test_pdp_deact" in row
    assert "AT+QIACT" not in slower
    assert "Clauses fixed" not in md  # empty sections are left out
    assert '<html lang="en">' in html and "OPEN-TCP" in html


def test_chinese_report_uses_the_supplier_terms_and_keeps_commands_verbatim(regressed):
    md, html = render(regressed, "zh")
    assert "**结论：有回归 — 1 个条款现在不通过（1 个原因）；1 条命令的响应时间变慢" in md
    cause = _section(md, "原因 1：模块的应答不符合条款 OPEN-TCP", 3)
    assert '| OPEN-TCP | AT+QIOPEN="TCP",... 返回 OK，然后返回 CONNECT OK |' in cause
    assert "| 通过 | 不通过 |" in cause
    slower = _section(md, "响应时间变慢（超出测试波动范围）的命令")
    assert "| AT+QIDEACT | 8/8 |" in slower
    margin = _section(md, "时间结论变化的条款（通过 ↔ 临界）")
    assert "去激活GPRS场景" in margin and "临界" in margin
    assert "依据《GSM 模块 TCPIP 应用流程指导》" in md
    assert '<html lang="zh-CN">' in html and "去激活" in html
    # The test's own English message is kept, labelled as the original, apart from the table.
    assert "测试输出原文" in md and '<li lang="en">' in html


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


def test_simulated_and_mutated_runs_are_named_at_the_top(new_run, slow_qiclose_run):
    old = new_run("old")
    for cid in (*slow_qiclose_run.clauses, "CLOSE"):
        old.test(f"suites/test_old.py::test_{cid.lower()}", [cid])
    cmp = compare_runs(load_run(old.write(latest=False)), slow_qiclose_run())
    md, _ = render(cmp, "en")
    top = md.split("## Runs compared")[0]
    assert "Simulated module — not a certification." in top
    assert "NEW with qiclose_100s" in top
    assert "same firmware, M95FAR03A04: what differs comes from the simulator mutation" in md
    assert "network, the rig or noise" not in md
    assert "Explained by the simulator mutation qiclose_100s, recorded in the NEW run." in md
    assert "Cause 1: AT+QICLOSE gave no final answer within its 90 s limit (CLOSE)" in md
    assert "Clock(scale" not in md  # object reprs stay out of the evidence
    zh, _ = render(cmp, "zh")
    assert "原因 1：AT+QICLOSE 在 90 s 限值内没有返回最终结果（条款 CLOSE）" in zh
    assert "由新版本记录的模拟器变异 qiclose_100s 造成。" in zh


def test_not_comparable_runs_are_flagged_before_the_result(shared_run, new_run):
    one = new_run("one", rig="uart-only", time_scale=1.0)
    one.test("suites/test_init.py::test_init_sync", ["INIT-SYNC"])
    cmp = compare_runs(load_run(shared_run("full", seed=0)), load_run(one.write(latest=False)))
    md, _ = render(cmp, "en")
    head = md.split("## Runs compared")[0]
    assert "> **Not comparable: rig kind sim → uart-only; time scale 0.02 → 1." in head
    assert "> **Coverage lost: 52 clause(s) judged in OLD were not judged in NEW" in head
    assert "**Result: NOT COMPARABLE — the runs differ in rig kind, time scale" in head
    zh, _ = render(cmp, "zh")
    assert "不可比较：测试台类型 sim → uart-only；时间比例 0.02 → 1。" in zh


def test_a_self_comparison_says_so(shared_run):
    run = load_run(shared_run("old", seed=0))
    md, _ = render(compare_runs(run, run), "en")
    assert "> **OLD and NEW are the same run (old): this comparison can find nothing.**" in md
    assert "**Result: OLD and NEW are the same run; nothing can differ.**" in md


def test_markdown_and_html_say_the_same():
    blocks = [
        Heading("T", 1),
        Banner("careful"),
        Para("a | b", strong=True),
        Table(["x", "y"], [["1 | 2", "<b>"]], numeric=(1,)),
        Quote("said", ["t: it <broke>"]),
    ]
    md = to_markdown(blocks)
    assert md.splitlines()[:8] == [
        "# T",
        "",
        "> **careful**",
        "",
        "**a | b**",
        "",
        "| x | y |",
        "|---|---:|",
    ]
    assert "| 1 \\| 2 | <b> |" in md and "> t: it <broke>" in md
    html = to_html(blocks, "en")
    assert "<title>T</title>" in html and "&lt;b&gt;" in html and "<b>a | b</b>" in html
    assert '<p class="banner">careful</p>' in html and "&lt;broke&gt;" in html
