"""Every clause, group, phrase and measured step has its Chinese words; the supplier's terms
are used; a Chinese comparison keeps no English sentence."""

import re
import string
from pathlib import Path

import pytest

from harness.clauses import CLAUSES, GROUPS
from harness.report.i18n import (
    CLAUSE_TITLES_ZH,
    GROUP_NAMES,
    LANGUAGES,
    STRINGS,
    VERDICT_WORDS,
    clause_title,
    step_name,
)
from harness.report.runs import load_run as load
from harness.report.verdicts import ClauseVerdict, RunVerdict

DATA = Path(__file__).resolve().parents[2] / "data" / "runs"


def test_every_clause_has_a_chinese_title_and_no_stray_ones():
    assert set(CLAUSE_TITLES_ZH) == set(CLAUSES)


def test_every_group_verdict_and_string_exists_in_both_languages():
    for lang in LANGUAGES:
        assert set(GROUP_NAMES[lang]) == set(GROUPS)
        assert {str(v) for v in (*ClauseVerdict, *RunVerdict)} <= set(VERDICT_WORDS[lang])
    assert set(STRINGS["en"]) == set(STRINGS["zh"])


def test_at_commands_stay_verbatim_in_chinese_titles():
    for cid, clause in CLAUSES.items():
        for word in clause.title.split():
            if word.startswith("AT+"):
                command = word.split("=")[0].rstrip(",;:)?")
                assert command.split("?")[0] in CLAUSE_TITLES_ZH[cid], (cid, command)


def test_the_supplier_terms_are_used():
    text = " ".join(CLAUSE_TITLES_ZH.values()) + " ".join(GROUP_NAMES["zh"].values())
    for term in (
        "透传模式",
        "非透传",
        "GPRS场景",
        "激活",
        "去激活",
        "前台Context",
        "心跳包",
        "发送窗口",
        "重启模块",
        "超时",
    ):
        assert term in text, term


def test_clause_title_by_language():
    clause = CLAUSES["PDP-DEACT"]
    assert clause_title(clause, "en") == clause.title
    assert "去激活" in clause_title(clause, "zh")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_phrase_exists_in_both_languages_with_the_same_placeholders():
    assert set(STRINGS["en"]) == set(STRINGS["zh"])
    for key, english in STRINGS["en"].items():
        assert _fields(english) == _fields(STRINGS["zh"][key]), key


def test_every_step_the_recorded_runs_measured_has_a_chinese_name():
    from harness.report.runs import load_run
    from harness.report.stats import command_key

    for run_dir in sorted(DATA.iterdir()):
        if not (run_dir / "timings.json").is_file():
            continue
        run = load_run(run_dir)
        for t in run.timings + run.provoked + run.invalid:
            name = command_key(t.command)
            if not name.startswith("AT") or " " in name:
                assert step_name(name, "zh") != name, (run_dir.name, name)


#: Latin words a Chinese comparison may keep: what the document keeps verbatim (commands, result
#: codes, clause IDs, pin names, placeholders), units, and names of runs, tests and models.
KEPT = re.compile(
    r"AT.*|[A-Z0-9_+&?=:<>.,\"-]+|suites/.*|test_.*|.*_\d+s|"
    r"Revision|Quectel_\w+|Context|Power(Key)?|Key|Ctrl\+Z|sim|uart-only|modemcert|sha256|"
    r"n|s|ms|min|h|p95|old|new|one|qi\w+"
)
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9_+&?=:<>.,\"/\[\]-]*")


@pytest.mark.parametrize("case", ["regressed", "steady", "not comparable", "mutated", "self"])
def test_a_chinese_comparison_has_no_english_sentence(case, shared_run, new_run, slow_qiclose_run):
    from harness.report.compare import compare_runs
    from harness.report.compare_render import blocks, to_markdown

    old = load(shared_run("old", seed=0))
    if case == "regressed":
        new = load(shared_run("new", seed=3, slower={"AT+QIDEACT": 6.0}, fail=("OPEN-TCP",)))
    elif case == "steady":
        new = load(shared_run("new", seed=1, firmware="A05", skip=("PWR-ON",)))
    elif case == "not comparable":
        one = new_run("one", rig="uart-only", time_scale=1.0)
        new = load(one.test("suites/test_init.py::test_init_sync", ["INIT-SYNC"]).write())
    elif case == "mutated":
        new = slow_qiclose_run()
    else:
        new = old
    content = [b for b in blocks(compare_runs(old, new), "zh") if type(b).__name__ != "Quote"]
    text = to_markdown(content)
    text = re.sub(r"<[a-z]+>", " ", text)  # the document's placeholders: <len>, <ip>, <stat>
    leftover = {w.rstrip(".,:") for w in WORD.findall(text)}
    leftover = {w for w in leftover if w and not KEPT.fullmatch(w)}
    assert leftover == set(), sorted(leftover)
