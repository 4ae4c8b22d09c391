"""The supplier regression report as Markdown and as HTML, in English or Simplified Chinese.

Both are rendered from one list of blocks (heading, paragraph, table), so the two files can
never say different things.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import __version__
from harness.report import compare as rule
from harness.report.compare import ClauseChange, Comparison, TimingShift
from harness.report.html import esc, page, table
from harness.report.i18n import (
    DOCUMENT_TITLE,
    GROUP_NAMES,
    STRINGS,
    clause_title,
    verdict_word,
)
from harness.report.report_html import when
from harness.report.runs import Run
from harness.report.verdicts import clause_rows, outcome_verdict, run_verdict

#: Characters of a failing test's message quoted as evidence.
EVIDENCE_CHARS = 200


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: tuple[int, ...] = ()


Block = Heading | Para | Table


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _signed(value: float) -> str:
    return f"{value:+.2f} s"


def summary(cmp: Comparison, lang: str) -> str:
    """The one-line result: regressed or not, and how much."""
    t = STRINGS[lang]
    if cmp.regressed:
        return t["result_regressed"].format(clauses=len(cmp.regressions), commands=len(cmp.slower))
    return t["result_ok"]


def blocks(cmp: Comparison, lang: str) -> list[Block]:
    """The report's content, language-specific but format-neutral."""
    t = STRINGS[lang]
    out: list[Block] = [
        Heading(f"{t['title']}: {cmp.old.id} → {cmp.new.id}", 1),
        Para(t["document"].format(doc=DOCUMENT_TITLE[lang])),
    ]
    out.append(Para(summary(cmp, lang), strong=True))

    out.append(Heading(t["runs"]))
    out.append(Table(["", t["old"], t["new"]], _run_rows(cmp.old, cmp.new, lang)))
    if cmp.old.module.firmware and cmp.old.module.firmware == cmp.new.module.firmware:
        out.append(Para(t["same_firmware"]))

    for kind, key in (("regression", "regressions"), ("fix", "fixes")):
        out.append(Heading(t[key]))
        out.append(_clause_table([c for c in cmp.clause_changes if c.kind == kind], lang))
    for shifts, key in ((cmp.slower, "slower"), (cmp.faster, "faster")):
        out.append(Heading(t[key]))
        out.append(_shift_table(shifts, lang, assessment=False))
    if cmp.margin:
        out.append(Heading(t["margin"]))
        out.append(Para(t["margin_note"]))
        out.append(_clause_table(cmp.margin, lang))
    if cmp.coverage:
        out.append(Heading(t["coverage"]))
        out.append(_clause_table(cmp.coverage, lang))

    out.append(Heading(t["all_timings"]))
    out.append(_shift_table(list(cmp.shifts), lang, assessment=True))
    if cmp.only_old:
        out.append(Para(t["only_old"].format(names=", ".join(s.command for s in cmp.only_old))))
    if cmp.only_new:
        out.append(Para(t["only_new"].format(names=", ".join(s.command for s in cmp.only_new))))

    out.append(Heading(t["noise"]))
    out.append(
        Para(
            t["noise_text"].format(
                floor=rule.NOISE_FLOOR,
                rel=rule.RELATIVE_FLOOR,
                jitter=rule.SCHEDULER_JITTER,
                k=rule.K,
            )
        )
    )
    out.append(Para(t["footer"].format(version=__version__, when=when())))
    return out


def _run_rows(old: Run, new: Run, lang: str) -> list[list[str]]:
    t = STRINGS[lang]

    def verdict(run: Run) -> str:
        return verdict_word(run_verdict(run, clause_rows(run)), lang)

    def scale(run: Run) -> str:
        return "—" if run.info.time_scale is None else f"{run.info.time_scale:g}"

    fields = [
        (t["run"], lambda r: r.id),
        (t["rig"], lambda r: r.info.rig),
        (t["model"], lambda r: r.module.model),
        (t["revision"], lambda r: r.module.revision),
        (t["firmware"], lambda r: r.module.firmware),
        (t["date"], lambda r: (r.info.started or r.info.finished or "")[:19]),
        (t["time_scale"], scale),
        (t["verdict"], verdict),
    ]
    return [[name, get(old) or "—", get(new) or "—"] for name, get in fields]


def _evidence(change: ClauseChange) -> str:
    """Why the NEW run has this verdict: the first failing test's message, or a slow step."""
    for test in change.clause.tests:
        if outcome_verdict(test) == change.new and test.message:
            text = test.message.strip().splitlines()[0]
            return f"{test.nodeid}: {text[:EVIDENCE_CHARS]}"
    for timing in change.clause.timings:
        if timing.verdict == change.new:
            return f"{timing.command} {_s(timing.measured)} / {_s(timing.limit)}"
    return ", ".join(t.nodeid for t in change.clause.tests) or "—"


def _clause_table(changes: list[ClauseChange], lang: str) -> Block:
    t = STRINGS[lang]
    if not changes:
        return Para(t["none"])
    return Table(
        [t["clause"], t["group"], t["title_col"], t["old"], t["new"], t["evidence"]],
        [
            [
                c.clause.clause.id,
                GROUP_NAMES[lang][c.clause.clause.group],
                clause_title(c.clause.clause, lang),
                verdict_word(c.old, lang),
                verdict_word(c.new, lang),
                _evidence(c),
            ]
            for c in changes
        ],
    )


def _shift_table(shifts: list[TimingShift], lang: str, *, assessment: bool) -> Block:
    t = STRINGS[lang]
    if not shifts:
        return Para(t["none"])
    words = {"steady": t["steady"], "slower": t["slower_word"], "faster": t["faster_word"]}
    headers = [
        t["command"],
        t["clauses"],
        t["n"],
        t["median_old"],
        t["median_new"],
        t["change"],
        t["threshold"],
        t["p95_old"],
        t["p95_new"],
        t["limit"],
    ]
    rows = []
    for s in shifts:
        row = [
            s.command,
            ", ".join(dict.fromkeys(s.old.clauses + s.new.clauses)),
            f"{s.old.n}/{s.new.n}",
            _s(s.old.median),
            _s(s.new.median),
            _signed(s.delta),
            _s(s.threshold),
            _s(s.old.p95),
            _s(s.new.p95),
            _s(s.limit),
        ]
        if assessment:
            row.append(words[s.kind])
        rows.append(row)
    if assessment:
        headers.append(t["assessment"])
    return Table(headers, rows, numeric=(2, 3, 4, 5, 6, 7, 8, 9))


# -- renderers --------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(content: list[Block]) -> str:
    lines: list[str] = []
    for block in content:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Para):
            lines += [f"**{block.text}**" if block.strong else block.text, ""]
        else:
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append(
                "|"
                + "|".join(
                    "---:" if i in block.numeric else "---" for i in range(len(block.headers))
                )
                + "|"
            )
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
    return "\n".join(lines)


def to_html(content: list[Block], lang: str) -> str:
    parts = []
    title = "modemcert"
    for block in content:
        if isinstance(block, Heading):
            if block.level == 1:
                title = block.text
            parts.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            text = f"<b>{esc(block.text)}</b>" if block.strong else esc(block.text)
            parts.append(f"<p>{text}</p>")
        else:
            rows = [[esc(c) for c in row] for row in block.rows]
            parts.append(table([esc(h) for h in block.headers], rows, numeric=block.numeric))
    return page(title, "\n".join(parts), lang="zh-CN" if lang == "zh" else lang)


def render(cmp: Comparison, lang: str) -> tuple[str, str]:
    """(Markdown, HTML) of the comparison in `lang`."""
    content = blocks(cmp, lang)
    return to_markdown(content), to_html(content, lang)
