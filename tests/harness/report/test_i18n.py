"""Every clause and group has its Chinese words; the supplier's terms are used."""

from harness.clauses import CLAUSES, GROUPS
from harness.report.i18n import (
    CLAUSE_TITLES_ZH,
    GROUP_NAMES,
    LANGUAGES,
    STRINGS,
    VERDICT_WORDS,
    clause_title,
)
from harness.report.verdicts import ClauseVerdict, RunVerdict


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
