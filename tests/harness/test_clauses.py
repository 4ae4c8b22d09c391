"""harness/clauses.py: the 53 clause IDs, read back against docs/PROCESS.md."""

import re
from pathlib import Path

import pytest
from allure_commons.types import Severity

from harness.clauses import CHAPTERS, CLAUSES, GROUPS, Clause, UnknownClause, clause

PROCESS_MD = Path(__file__).resolve().parents[2] / "docs" / "PROCESS.md"
_SECTION = re.compile(r"^## ([A-Z]+) — .*\(doc ch\. (\d+)")
_ROW = re.compile(r"^\| ([A-Z][A-Z0-9-]+) \|(.*)\|\s*$")


@pytest.fixture(scope="module")
def process() -> list[tuple[str, str, str, str]]:
    """PROCESS.md's clauses in order: (ID, section group, chapter number, limit column)."""
    rows, group, chapter = [], None, None
    for line in PROCESS_MD.read_text(encoding="utf-8").splitlines():
        if m := _SECTION.match(line):
            group, chapter = m.groups()
        elif (m := _ROW.match(line)) and m.group(1) != "ID":
            cells = [c.strip() for c in m.group(2).split("|")]
            limit = cells[1] if len(cells) > 1 else ""
            rows.append((m.group(1), group, chapter, limit))
    return rows


def test_there_are_53_clauses():
    assert len(CLAUSES) == 53
    assert all(isinstance(c, Clause) for c in CLAUSES.values())


def test_the_ids_are_process_mds_ids_in_document_order(process):
    assert len(process) == 53
    assert list(CLAUSES) == [row[0] for row in process]


def test_each_clause_is_in_the_group_of_its_process_md_section(process):
    for id_, group, _, _ in process:
        assert CLAUSES[id_].group == group, id_


def test_groups_are_process_mds_sections_in_order(process):
    sections = list(dict.fromkeys(group for _, group, _, _ in process))
    assert list(GROUPS) == sections


def test_each_clause_is_in_the_chapter_its_section_cites(process):
    for id_, _, chapter, _ in process:
        assert CLAUSES[id_].chapter.split()[0] == chapter, id_


def test_each_clause_states_process_mds_limit(process):
    for id_, _, _, limit in process:
        documented = "" if limit in ("", "—") else limit.replace("`", "")
        assert CLAUSES[id_].limit == documented, id_


def test_every_group_and_chapter_is_used_and_known():
    assert {c.group for c in CLAUSES.values()} == set(GROUPS)
    assert {c.chapter for c in CLAUSES.values()} <= set(CHAPTERS)
    numbers = [int(ch.split()[0]) for ch in CHAPTERS]
    assert numbers == sorted(numbers)


def test_clauses_of_a_group_are_contiguous_and_groups_in_order():
    order = [c.group for c in CLAUSES.values()]
    assert list(dict.fromkeys(order)) == list(GROUPS)


def test_each_clause_is_keyed_by_its_own_id_and_has_a_title():
    for id_, c in CLAUSES.items():
        assert c.id == id_
        assert re.fullmatch(r"[A-Z]+(-[A-Z]+)*", id_), id_
        assert c.title.strip(), id_


def test_severities_are_allure_severities():
    allure = {s.value for s in Severity}
    assert {c.severity for c in CLAUSES.values()} <= allure
    assert clause("FLOW-HAPPY").severity == Severity.BLOCKER.value


def test_clause_returns_the_registered_clause():
    assert clause("PDP-DEACT") is CLAUSES["PDP-DEACT"]
    assert clause("PDP-DEACT").group == "PDP"


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("PDP-DEAKT", "PDP-DEACT"), ("pdp-deact", "PDP-DEACT"), ("OPEN-TPC", "OPEN-TCP")],
)
def test_an_unknown_id_names_the_nearest_real_one(typo, meant):
    with pytest.raises(UnknownClause) as e:
        clause(typo)
    message = str(e.value)
    assert f"unknown clause ID {typo!r}" in message
    assert f"did you mean {meant!r}?" in message
    assert "harness/clauses.py" in message  # where to look


def test_an_unknown_id_far_from_any_gets_no_suggestion():
    with pytest.raises(UnknownClause) as e:
        clause("XYZZY")
    assert "did you mean" not in str(e.value)
    assert "'XYZZY'" in str(e.value)


def test_unknown_clause_is_a_key_error_so_mapping_code_can_catch_it():
    with pytest.raises(KeyError):
        clause("NOPE")
