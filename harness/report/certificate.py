"""The acceptance certificate: one A4 page per module, made to be printed or saved as PDF.

Identity (IMEI masked but its last 3 digits unless asked), verdict per clause group, the
tightest timing margins, and a signature block. No scripts, links or other interactive parts.
"""

from __future__ import annotations

from harness import __version__
from harness.report.html import (
    badge,
    breakable,
    esc,
    page,
    percent,
    seconds,
    simulated_banner,
    table,
)
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
@media screen and (max-width: 640px) {
  .identity, .identity tbody, .identity tr, .identity th, .identity td { display: block;
    width: auto; min-width: 0; }
}
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10px; }
  th, td { padding: 1px 5px; } h1 { margin: 0 0 .2em; } h2 { margin: .6em 0 .3em; }
  .banner { padding: .3em .6em; margin: .4em 0; }
}
section.page { break-after: page; page-break-after: always; }
section.page:last-child { break-after: auto; page-break-after: auto; }
.identity th { width: 8em; } .identity td { min-width: 10em; }
.overall { font-size: 1.4em; margin: .4em 0 .8em; }
.signature td { height: 2.6em; width: 30%; } .signature td:first-child { width: 10%; }
.statement { font-size: .95em; }
section.page { position: relative; }
"""

#: Printed across every page of a simulated run's certificate.
WATERMARK = "simulated module — not a certification"


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
    sim = info.simulated
    tag = " (simulated)" if sim else ""
    identity = [
        ("Model", module.model + tag if module.model else ""),
        ("Revision", module.revision),
        ("Firmware", module.firmware),
        ("IMEI", imei_text(run, show_full_imei) + tag),
        ("ICCID", module.iccid + tag if module.iccid else ""),
        ("Rig", f"{info.rig} ({info.kind})" if info.rig else info.kind),
        ("Operator", who),
        ("Date", date),
        ("Run", info.id),
        ("Harness version", info.harness_version or __version__),
    ]
    if sim:
        identity.append(("Simulator mutations", ", ".join(info.all_mutations) or "none"))
    if run.interrupted:
        identity.append(
            ("Run status", info.status + (f": {info.stop_reason}" if info.stop_reason else ""))
        )
    # Two facts a row: the identity takes half the height, so a module fits one A4 page.
    pairs = [identity[i : i + 2] for i in range(0, len(identity), 2)]
    ident = "".join(
        "<tr>" + "".join(f"<th>{esc(k)}</th><td>{esc(v or '—')}</td>" for k, v in pair) + "</tr>"
        for pair in pairs
    )
    shown = (
        ClauseVerdict.PASS,
        ClauseVerdict.MARGINAL,
        ClauseVerdict.FAIL,
        ClauseVerdict.ERROR,
        ClauseVerdict.INTERRUPTED,
    )
    groups = table(
        [
            "Group",
            "Clauses",
            "Pass",
            "Marginal",
            "Fail",
            "Error",
            "Interrupted",
            "Not run",
            "Verdict",
        ],
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
        numeric=range(1, 8),
    )
    steps = _tightest(run, TIGHTEST)
    tight = (
        table(
            ["Clause", "Command", "Measured", "Limit", "Margin"],
            [
                [
                    esc(t.clause),
                    breakable(t.command),
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
        stack=False,
    )
    marks = ""
    if sim:
        marks = f'<div class="watermark" aria-hidden="true">{esc(WATERMARK)}</div>' + (
            simulated_banner(info.all_mutations)
        )
    return (
        f'<section class="page" data-run="{esc(info.id)}" data-simulated="{int(sim)}">'
        f"{marks}<h1>Acceptance certificate</h1>"
        f"<p>Quectel GSM module tested against “{esc(DOCUMENT_TITLE['en'])}” "
        f"with modemcert.</p>"
        f'<table class="identity">{ident}</table>'
        f'<p class="overall">Verdict: {badge(verdict)}</p>'
        f"<h2>Clause groups</h2>{groups}"
        f"<h2>Tightest timing margins</h2>{tight}"
        '<p class="statement">The verdicts above are those recorded in run '
        f"{esc(info.id)}. A clause that was not run is not certified; a marginal step met "
        "its limit but was slower than the document's typical time or close to the limit; a "
        "clause whose test did not finish is not a pass. "
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
