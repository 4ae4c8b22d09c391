"""A batch's summary: every module × every clause, worst first, with links to each run.

`modemcert report BATCH_DIR` renders `BATCH_DIR/summary.html` from `batch.json` (harness/batch.py):
each module's identity, exit code and run verdict, the modules × clauses matrix (modules worst
first, clauses in document order), and links to each run's report and certificate (written
beside it when missing). A module whose run recorded nothing shows its log instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.clauses import CLAUSES
from harness.errors import ExitCode
from harness.report.html import badge, esc, page, simulated_banner, table
from harness.report.runs import ReportError, Run, load_run
from harness.report.verdicts import WORST_FIRST, ClauseVerdict, clause_rows, run_verdict

BATCH_FILE = "batch.json"
SUMMARY = "summary.html"
#: Run verdicts, worst first (for ordering the modules).
RUN_ORDER = ("fail", "inconclusive", "incomplete", "marginal", "pass")


def is_batch_dir(path: Path) -> bool:
    return (Path(path) / BATCH_FILE).is_file()


@dataclass(frozen=True)
class Module:
    """One module of the batch: its rig, exit code, and its run (None if it recorded nothing)."""

    rig: str
    exit: int | None
    run: Run | None
    log: Path
    problem: str = ""

    @property
    def verdict(self) -> str:
        if self.run is None:
            return "inconclusive"
        return str(run_verdict(self.run, clause_rows(self.run)))


def load_batch(folder: Path) -> tuple[dict, list[Module]]:
    """batch.json and every module's run; a run that cannot be read is named, not fatal."""
    folder = Path(folder)
    try:
        record = json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
        entries = record["runs"]
        if not isinstance(entries, list):
            raise TypeError("runs is not a list")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReportError(f"{folder / BATCH_FILE}: not a modemcert batch record ({e})") from None
    modules = []
    for entry in entries:
        rig = str(entry.get("rig", "?"))
        run, problem = None, ""
        if entry.get("run"):
            try:
                run = load_run(folder / entry["run"])
            except ReportError as e:
                problem = str(e)
        else:
            problem = "the run recorded nothing (see its log)"
        modules.append(Module(rig, entry.get("exit"), run, folder / str(entry.get("log")), problem))
    return record, modules


def _links(folder: Path, module: Module) -> str:
    links = [f'<a href="{esc(module.log.name)}">log</a>']
    if module.run is not None:
        rel = module.run.path.relative_to(folder)
        for name in ("report.html", "certificate.html"):
            links.append(f'<a href="{esc(rel / name)}">{name.removesuffix(".html")}</a>')
    return " · ".join(links)


def render_batch(folder: Path) -> str:
    """The summary page of a batch directory."""
    record, modules = load_batch(folder)
    modules.sort(key=lambda m: (RUN_ORDER.index(m.verdict) if m.verdict in RUN_ORDER else 0, m.rig))
    exits = [ExitCode(m.exit) for m in modules if m.exit in set(ExitCode)]
    simulated = any(m.run is not None and m.run.info.simulated for m in modules)
    body = [f"<h1>Batch {esc(record.get('id', folder.name))}</h1>"]
    if simulated:
        body.append(simulated_banner([], "batch"))
    rows = []
    for m in modules:
        ident = m.run.module if m.run is not None else None
        rows.append(
            [
                esc(m.rig),
                esc((ident.model if ident else "") or "—"),
                esc((ident.firmware if ident else "") or "—"),
                esc((ident.imei if ident else "") or "—"),
                badge(m.verdict),
                esc("—" if m.exit is None else m.exit),
                _links(folder, m) + (f"<br>{esc(m.problem)}" if m.problem else ""),
            ]
        )
    body.append("<h2>Modules</h2>")
    body.append(table(["rig", "model", "firmware", "IMEI", "verdict", "exit", "files"], rows))
    if exits and not all(m.exit is not None for m in modules):
        body.append("<p>Some modules have not finished: the batch is still running.</p>")
    body.append("<h2>Clauses × modules</h2>")
    body.append(_matrix(modules))
    return page(f"modemcert batch {folder.name}", "\n".join(body), css=_CSS)


def _matrix(modules: list[Module]) -> str:
    """Clauses (rows, in document order, worst first) × modules (columns)."""
    verdicts: dict[str, dict[str, ClauseVerdict]] = {}
    for m in modules:
        if m.run is None:
            continue
        for row in clause_rows(m.run):
            verdicts.setdefault(row.clause.id, {})[m.rig] = row.verdict
    ids = list(CLAUSES)

    def worst_index(cid: str) -> int:
        present = verdicts.get(cid, {}).values()
        return min((WORST_FIRST.index(v) for v in present), default=len(WORST_FIRST))

    ids.sort(key=lambda cid: (worst_index(cid), list(CLAUSES).index(cid)))
    headers = ["clause", *[esc(m.rig) for m in modules]]
    rows = []
    for cid in ids:
        cells = [esc(cid)]
        for m in modules:
            v = verdicts.get(cid, {}).get(m.rig)
            cells.append(badge(str(v)) if v is not None else "—")
        rows.append(cells)
    return table(headers, rows, attrs='class="matrix"', stack=False)


def write_batch_summary(folder: Path) -> Path:
    """Write `summary.html` (and each run's report and certificate if missing)."""
    from harness.report.certificate import render_certificate
    from harness.report.report_html import render_report

    _, modules = load_batch(folder)
    for m in modules:
        if m.run is None:
            continue
        report = m.run.path / "report.html"
        if not report.exists():
            report.write_text(render_report(m.run), encoding="utf-8")
        certificate = m.run.path / "certificate.html"
        if not certificate.exists():
            certificate.write_text(render_certificate([m.run]), encoding="utf-8")
    out = Path(folder) / SUMMARY
    out.write_text(render_batch(folder), encoding="utf-8")
    return out


_CSS = """
table.matrix td, table.matrix th { text-align: center; }
table.matrix td:first-child { text-align: left; white-space: nowrap; }
"""
