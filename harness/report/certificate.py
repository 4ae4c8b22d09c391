"""The acceptance certificate: one A4 page per module, made to be printed or saved as PDF.

Identity (IMEI masked but its last 3 digits unless asked), verdict per clause group, the
tightest timing margins, and a signature block. No scripts, links or other interactive parts.
"""

from __future__ import annotations

from harness import __version__
from harness.report.html import badge, esc, page, percent, seconds, table
from harness.report.i18n import DOCUMENT_TITLE, GROUP_NAMES
from harness.report.report_html import when
from harness.report.runs import Run
from harness.report.verdicts import ClauseVerdict, clause_rows, group_rows, run_verdict
from harness.report.verdicts import tightest_steps as _tightest
from harness.runrecord import mask_imei

#: How many of the tightest steps a certificate lists.
TIGHTEST = 8

CSS = """
@page { size: A4; margin: 14mm 14mm 16mm; }
@media print { body { margin: 0; max-width: none; padding: 0; font-size: 11px; } }
section.page { break-after: page; page-break-after: always; }
section.page:last-child { break-after: auto; page-break-after: auto; }
.identity th { width: 10em; } .overall { font-size: 1.4em; margin: .4em 0 .8em; }
.signature td { height: 2.6em; width: 30%; } .signature td:first-child { width: 10%; }
.statement { font-size: .95em; }
"""


def full_imei(run: Run) -> str | None:
    """The unmasked IMEI from allure-results/environment.properties, if the plugin wrote one
    and it agrees with the masked IMEI of timings.json."""
    recorded = run.module.imei
    for key, value in run.environment.items():
        value = value.strip()
        if not key.lower().endswith("imei") or not (value.isdigit() and 14 <= len(value) <= 17):
            continue
        if not recorded or recorded[-3:] == value[-3:]:
            return value
    return None


def imei_text(run: Run, show_full: bool) -> str:
    if show_full:
        full = full_imei(run)
        if full:
            return full
        return f"{mask_imei(run.module.imei) or '—'} (only the masked IMEI was recorded)"
    return mask_imei(run.module.imei) or "—"


def _page(run: Run, operator: str | None, show_full_imei: bool) -> str:
    rows = clause_rows(run)
    verdict = run_verdict(run, rows)
    info, module = run.info, run.module
    who = operator or info.operator or ""
    date = (info.finished or info.started or "")[:10]
    identity = [
        ("Model", module.model),
        ("Revision", module.revision),
        ("Firmware", module.firmware),
        ("IMEI", imei_text(run, show_full_imei)),
        ("ICCID", module.iccid),
        ("Rig", info.rig),
        ("Operator", who),
        ("Date", date),
        ("Run", info.id),
        ("Harness version", info.harness_version or __version__),
    ]
    ident = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v or '—')}</td></tr>" for k, v in identity)
    shown = (
        ClauseVerdict.PASS,
        ClauseVerdict.MARGINAL,
        ClauseVerdict.FAIL,
        ClauseVerdict.ERROR,
    )
    groups = table(
        ["Group", "Clauses", "Pass", "Marginal", "Fail", "Error", "Not run", "Verdict"],
        [
            [
                f"<b>{esc(g.group)}</b> {esc(GROUP_NAMES['en'][g.group])}",
                str(len(g.clauses)),
                *(str(g.counts[str(v)]) for v in shown),
                str(g.counts[str(ClauseVerdict.SKIPPED)] + g.counts[str(ClauseVerdict.NOT_RUN)]),
                badge(g.verdict),
            ]
            for g in group_rows(rows)
        ],
        attrs='class="groups"',
        row_attrs=[f'data-group="{esc(g.group)}"' for g in group_rows(rows)],
        numeric=range(1, 7),
    )
    steps = _tightest(run, TIGHTEST)
    tight = (
        table(
            ["Clause", "Command", "Measured", "Limit", "Margin"],
            [
                [
                    esc(t.clause),
                    esc(t.command),
                    seconds(t.measured),
                    seconds(t.limit),
                    percent(t.margin),
                ]
                for t in steps
            ],
            attrs='class="tightest"',
            numeric=(2, 3, 4),
        )
        if steps
        else "<p>No step with a time limit was measured.</p>"
    )
    signature = table(
        ["", "Name", "Signature", "Date"],
        [["Tested by", esc(who), "", ""], ["Approved by", "", "", ""]],
        attrs='class="signature"',
    )
    return (
        f'<section class="page" data-run="{esc(info.id)}">'
        "<h1>Acceptance certificate</h1>"
        f"<p>Quectel GSM module tested against “{esc(DOCUMENT_TITLE['en'])}” "
        f"with modemcert.</p>"
        f'<table class="identity">{ident}</table>'
        f'<p class="overall">Verdict: {badge(verdict)}</p>'
        f"<h2>Clause groups</h2>{groups}"
        f"<h2>Tightest timing margins</h2>{tight}"
        '<p class="statement">The verdicts above are those recorded in run '
        f"{esc(info.id)}. A clause that was not run is not certified; a marginal step met "
        "its limit but was slower than the document's typical time or close to the limit. "
        "Times are module seconds.</p>"
        f"<h2>Signatures</h2>{signature}"
        f'<p class="muted">Issued by modemcert {esc(__version__)} on {when()}.</p>'
        "</section>"
    )


def render_certificate(
    runs: list[Run], *, operator: str | None = None, show_full_imei: bool = False
) -> str:
    """One page per module (one per run given), in the order given."""
    body = "\n".join(_page(run, operator, show_full_imei) for run in runs)
    title = "Acceptance certificate " + ", ".join(r.id for r in runs)
    return page(title, body, css=CSS)
