"""The supplier regression report as Markdown and as HTML, in English or Simplified Chinese.

Both are rendered from one list of blocks (heading, paragraph, banner, table), so the two files
can never say different things. Every sentence comes from harness/report/i18n.py STRINGS; what
stays verbatim in Chinese is what the document itself keeps verbatim (AT commands, clause IDs)
and the names of runs, tests and simulator mutations.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import __version__
from harness.report import compare as rule
from harness.report.causes import Finding, first_line
from harness.report.causes import describe as cause_text
from harness.report.compare import ClauseChange, Comparison, TimingShift
from harness.report.html import breakable, duration, esc, page, table
from harness.report.i18n import DOCUMENT_TITLE, STRINGS, clause_title, step_name, verdict_word
from harness.report.report_html import when
from harness.report.runs import Run
from harness.report.verdicts import JUDGED, clause_rows, run_verdict

#: Characters of a test's own message quoted under a cause.
DETAIL_CHARS = 300


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Banner:
    """A warning at the top: the runs are not comparable, simulated, the same run …"""

    text: str
    severe: bool = True


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: tuple[int, ...] = ()
    nowrap: tuple[int, ...] = ()
    code: tuple[int, ...] = ()  # columns of identifiers (commands, node ids): wrap at _ / ,
    stack: bool = True  # a card per row on a phone screen (a small table stays a table)


@dataclass(frozen=True)
class Quote:
    """Text a test wrote (English, as written): collapsible in HTML, quoted in Markdown."""

    summary: str
    lines: list[str]


Block = Heading | Para | Banner | Table | Quote


def _signed(value: float) -> str:
    text = duration(abs(value))
    if text in ("0.00 s", "0 s"):
        return "±0"
    return ("+" if value > 0 else "−") + text


def _what(t: dict, what: str) -> str:
    return t[f"what_{what}"]


def summary(cmp: Comparison, lang: str) -> str:
    """The one-line result: not comparable, regressed, coverage lost, or nothing."""
    t = STRINGS[lang]
    if cmp.same_run:
        return t["result_same"]
    if not cmp.comparable:
        return t["result_not_comparable"].format(
            what=", ".join(_what(t, d.what) for d in cmp.blocking)
        )
    if cmp.regressed:
        return t["result_regressed"].format(
            clauses=len(cmp.regressions), causes=len(cmp.causes), commands=len(cmp.slower)
        )
    if cmp.lost:
        return t["result_lost"].format(clauses=len(cmp.lost))
    return t["result_ok"]


def blocks(cmp: Comparison, lang: str) -> list[Block]:
    """The report's content, language-specific but format-neutral."""
    t = STRINGS[lang]
    out: list[Block] = [
        Heading(f"{t['title']}: {cmp.old.id} → {cmp.new.id}", 1),
        Para(t["document"].format(doc=DOCUMENT_TITLE[lang])),
    ]
    out += _banners(cmp, lang)
    out.append(Para(summary(cmp, lang), strong=True))
    out.append(Heading(t["runs"]))
    out.append(Table(["", t["old"], t["new"]], _run_rows(cmp.old, cmp.new, lang), stack=False))
    out.append(Para(_firmware_note(cmp, lang)))

    out.append(Heading(t["causes"]))
    if not cmp.causes:
        out.append(Para(t["causes_none"]))
    changes = {c.clause.clause.id: c for c in cmp.regressions}
    for n, finding in enumerate(cmp.causes, 1):
        out.append(Heading(t["cause_heading"].format(n=n, text=cause_text(finding, lang)), 3))
        out.append(
            Para(t["cause_affects"].format(clauses=len(finding.clauses), tests=len(finding.tests)))
        )
        if finding.mutation:
            out.append(Para(t["cause_mutation"].format(name=finding.mutation), strong=True))
        rows = [changes[cid] for cid in finding.clauses if cid in changes]
        out.append(_clause_table(rows, lang, tests_of=finding))
        details = _details(finding)
        if details:
            out.append(Quote(t["cause_detail"], details))

    if cmp.fixes:
        out.append(Heading(t["fixes"]))
        out.append(_clause_table(cmp.fixes, lang))
    if cmp.lost:
        out.append(Heading(t["lost"]))
        out.append(_clause_table(cmp.lost, lang))
    for shifts, key in ((cmp.slower, "slower"), (cmp.faster, "faster")):
        if shifts:
            out.append(Heading(t[key]))
            out.append(_moved_table(shifts, lang))
    if cmp.margin:
        out.append(Heading(t["margin"]))
        out.append(Para(t["margin_note"]))
        out.append(_clause_table(cmp.margin, lang))
    gained = [c for c in cmp.coverage if c.kind != rule.LOST]
    if gained:
        out.append(Heading(t["gained"]))
        out.append(_clause_table(gained, lang))

    out.append(Heading(t["all_timings"]))
    out.append(_shift_table(list(cmp.shifts), lang))
    for key, only in (("only_old", cmp.only_old), ("only_new", cmp.only_new)):
        if only:
            names = ", ".join(step_name(s.command, lang) for s in only)
            out.append(Para(t[key].format(names=names)))

    out.append(Heading(t["noise"]))
    out.append(
        Para(
            t["noise_text"].format(
                min=rule.MIN_SAMPLES,
                floor=rule.NOISE_FLOOR,
                rel=rule.RELATIVE_FLOOR,
                jitter=rule.SCHEDULER_JITTER,
                k=rule.K,
            )
        )
    )
    out.append(Para(t["footer"].format(version=__version__, when=when())))
    return out


def _banners(cmp: Comparison, lang: str) -> list[Block]:
    t = STRINGS[lang]
    out: list[Block] = []
    if cmp.same_run:
        out.append(Banner(t["warn_same"].format(run=cmp.new.id)))
    if cmp.blocking:
        items = t["list_sep"].join(
            t["diff_item"].format(what=_what(t, d.what), old=d.old, new=d.new) for d in cmp.blocking
        )
        out.append(Banner(t["banner_not_comparable"].format(items=items)))
    if cmp.lost:
        out.append(
            Banner(
                t["banner_lost"].format(
                    count=len(cmp.lost), clauses=", ".join(c.clause.clause.id for c in cmp.lost)
                )
            )
        )
    if cmp.old.info.simulated or cmp.new.info.simulated:
        out.append(Banner(t["banner_sim"], severe=False))
    mutated = [
        t["mutations_in"].format(run=name, names=", ".join(run.info.all_mutations))
        for name, run in ((t["old"], cmp.old), (t["new"], cmp.new))
        if run.info.all_mutations
    ]
    if mutated:
        out.append(
            Banner(t["banner_mutations"].format(runs=t["list_sep"].join(mutated)), severe=False)
        )
    return out


def _firmware_note(cmp: Comparison, lang: str) -> str:
    t = STRINGS[lang]
    old, new = cmp.old.module.firmware, cmp.new.module.firmware
    if old and new and old != new:
        return t["firmware_changed"].format(old=old, new=new)
    mutations = list(dict.fromkeys(cmp.old.info.all_mutations + cmp.new.info.all_mutations))
    if mutations:
        return t["firmware_same_mutated"].format(firmware=new or "—", names=", ".join(mutations))
    return t["firmware_same"].format(firmware=new or "—")


def _run_rows(old: Run, new: Run, lang: str) -> list[list[str]]:
    t = STRINGS[lang]

    def verdict(run: Run) -> str:
        return verdict_word(run_verdict(run, clause_rows(run)), lang)

    def scale(run: Run) -> str:
        return "—" if run.info.time_scale is None else f"{run.info.time_scale:g}"

    def judged(run: Run) -> str:
        return str(sum(r.verdict in JUDGED for r in clause_rows(run)))

    def status(run: Run) -> str:
        return t.get(f"status_{run.info.status}", run.info.status)

    fields = [
        (t["run"], lambda r: r.id),
        (t["rig"], lambda r: r.info.rig),
        (t["rig_kind"], lambda r: r.info.kind),
        (t["model"], lambda r: r.module.model),
        (t["revision"], lambda r: r.module.revision),
        (t["firmware"], lambda r: r.module.firmware),
        (t["date"], lambda r: (r.info.started or r.info.finished or "")[:19]),
        (t["time_scale"], scale),
        (t["mutations"], lambda r: ", ".join(r.info.all_mutations)),
        (t["status"], status),
        (t["judged"], judged),
        (t["verdict"], verdict),
    ]
    return [[name, get(old) or "—", get(new) or "—"] for name, get in fields]


def _details(finding: Finding) -> list[str]:
    """Each test's own first line (English, as the test wrote it), once per distinct line."""
    seen: dict[str, None] = {}
    for s in finding.symptoms:
        text = next((line.strip() for line in s.message.splitlines() if line.strip()), "")
        if text:
            seen.setdefault(f"{s.test}: {first_line(text, DETAIL_CHARS)}", None)
    return list(seen)[:12]


def _clause_table(changes: list[ClauseChange], lang: str, tests_of: Finding | None = None) -> Block:
    t = STRINGS[lang]
    if not changes:
        return Para(t["none"])
    rows = []
    for c in changes:
        cid = c.clause.clause.id
        if tests_of is not None:
            tests = [s.test or t["between_tests"] for s in tests_of.symptoms if cid in s.clauses]
        else:
            tests = [x.nodeid for x in c.clause.tests]
        rows.append(
            [
                cid,
                clause_title(c.clause.clause, lang),
                verdict_word(c.old, lang),
                verdict_word(c.new, lang),
                _some(list(dict.fromkeys(tests))),
            ]
        )
    return Table(
        [t["clause"], t["title_col"], t["old"], t["new"], t["tests"]],
        rows,
        nowrap=(0, 2, 3),
        code=(4,),
    )


#: Tests named in one table cell before the rest are counted.
TESTS_SHOWN = 6


def _some(names: list[str]) -> str:
    if not names:
        return "—"
    more = len(names) - TESTS_SHOWN
    return ", ".join(names[:TESTS_SHOWN]) + (f" (+{more})" if more > 0 else "")


def _threshold(s: TimingShift, lang: str) -> str:
    t = STRINGS[lang]
    return f"{duration(s.threshold)} ({t['rule_' + s.rule]})"


def _assessment(s: TimingShift, lang: str) -> str:
    t = STRINGS[lang]
    return {
        rule.STEADY: t["steady"],
        rule.SLOWER: t["slower_word"],
        rule.FASTER: t["faster_word"],
        rule.TOO_FEW: t["too_few_word"],
    }[s.kind]


def _moved_table(shifts: list[TimingShift], lang: str) -> Block:
    t = STRINGS[lang]
    rows = [
        [
            step_name(s.command, lang),
            f"{s.old.n}/{s.new.n}",
            f"{duration(s.old.median)} → {duration(s.new.median)}",
            _signed(s.delta),
            _threshold(s, lang),
            _some([x or t["between_tests"] for x in s.deciding_tests]),
        ]
        for s in shifts
    ]
    return Table(
        [t["command"], t["n"], t["medians"], t["change"], t["threshold"], t["deciding_tests"]],
        rows,
        numeric=(1, 3),
        nowrap=(2,),
        code=(0, 5),
    )


def _shift_table(shifts: list[TimingShift], lang: str) -> Block:
    t = STRINGS[lang]
    if not shifts:
        return Para(t["none"])
    rows = [
        [
            step_name(s.command, lang),
            f"{s.old.n}/{s.new.n}",
            f"{duration(s.old.median)} → {duration(s.new.median)}",
            _signed(s.delta),
            _threshold(s, lang),
            duration(s.limit),
            _assessment(s, lang),
        ]
        for s in shifts
    ]
    return Table(
        [
            t["command"],
            t["n"],
            t["medians"],
            t["change"],
            t["threshold"],
            t["limit"],
            t["assessment"],
        ],
        rows,
        numeric=(1, 3, 5),
        nowrap=(2, 6),
        code=(0,),
    )


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
        elif isinstance(block, Banner):
            lines += [f"> **{block.text}**" if block.severe else f"> {block.text}", ""]
        elif isinstance(block, Quote):
            lines += [f"{block.summary}:", ""]
            lines += [f"> {_md_cell(line)}  " for line in block.lines]
            lines.append("")
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


CSS = """
h3 { margin-bottom: .3em; }
details { margin: .3em 0 1em; } details li { font-size: 12px; overflow-wrap: anywhere; }
"""


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
        elif isinstance(block, Banner):
            cls = "banner" if block.severe else "banner note"
            parts.append(f'<p class="{cls}">{esc(block.text)}</p>')
        elif isinstance(block, Quote):
            items = "".join(f'<li lang="en">{esc(line)}</li>' for line in block.lines)
            parts.append(
                f"<details><summary>{esc(block.summary)}</summary><ul>{items}</ul></details>"
            )
        else:
            rows = [
                [breakable(c) if j in block.code else esc(c) for j, c in enumerate(row)]
                for row in block.rows
            ]
            parts.append(
                table(
                    [esc(h) for h in block.headers],
                    rows,
                    numeric=block.numeric,
                    nowrap=block.nowrap,
                    stack=block.stack,
                )
            )
    return page(title, "\n".join(parts), css=CSS, lang="zh-CN" if lang == "zh" else lang)


def render(cmp: Comparison, lang: str) -> tuple[str, str]:
    """(Markdown, HTML) of the comparison in `lang`."""
    content = blocks(cmp, lang)
    return to_markdown(content), to_html(content, lang)
