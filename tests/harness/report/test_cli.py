"""`modemcert report`: where files go, the certificate, pruning, and one-line errors."""

import pytest

from harness.report.allure_render import INSTALL_HINT


@pytest.fixture
def no_allure(monkeypatch, tmp_path):
    """A PATH without any `allure`."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_report_of_latest_by_default(cert_run, reports_dir, modemcert, no_allure):
    cert_run("r1")
    code, out, err = modemcert("report")
    assert code == 0, err
    report = (reports_dir / "r1" / "report.html").resolve()
    assert out.splitlines() == [f"wrote {report}", INSTALL_HINT]
    assert 'id="matrix"' in report.read_text(encoding="utf-8")


def test_report_of_a_run_id_to_a_chosen_file(cert_run, tmp_path, modemcert):
    cert_run("r1")
    cert_run("r2")
    code, out, err = modemcert("report", "r1", "--out", tmp_path / "x.html", "--no-allure")
    assert code == 0, err
    assert out.strip() == f"wrote {tmp_path / 'x.html'}"
    assert "modemcert run report — r1" in (tmp_path / "x.html").read_text(encoding="utf-8")


def test_operator_flag_overrides_the_record(cert_run, reports_dir, modemcert):
    cert_run("r1")
    assert modemcert("report", "--operator", "Zhang San", "--no-allure")[0] == 0
    assert "Zhang San" in (reports_dir / "r1" / "report.html").read_text(encoding="utf-8")


def test_certificate_for_several_modules(cert_run, reports_dir, modemcert):
    cert_run("a")
    cert_run("b")
    out_file = reports_dir / "cert.html"
    code, _, err = modemcert("report", "a", "b", "--certificate", "--out", out_file, "--full-imei")
    assert code == 0, err
    html = out_file.read_text(encoding="utf-8")
    assert html.count('<section class="page"') == 2 and "861234567890123" in html


def test_certificate_defaults_to_the_run_directory(cert_run, reports_dir, modemcert):
    cert_run("a")
    assert modemcert("report", "--certificate")[0] == 0
    html = (reports_dir / "a" / "certificate.html").read_text(encoding="utf-8")
    assert "xxxxxxxxxxxx123" in html


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("report",), "no runs yet"),
        (("report", "missing-run"), "no run 'missing-run'"),
        (("report", "a", "b"), "the HTML report covers one run"),
        (("report", "a", "--out", "nowhere/x.html"), "nowhere does not exist"),
        (("report", "a", "--out", "reports"), "is a directory"),
        (("report", "--prune", "0"), "keep at least 1"),
        (("report", "a", "--prune", "3"), "--prune takes no RUN"),
    ],
)
def test_usage_errors_are_one_line(new_run, reports_dir, modemcert, argv, message):
    if argv != ("report",):
        new_run("a").write(latest=False)
        new_run("b").write(latest=False)
    code, _, err = modemcert(*argv)
    assert code == 2
    assert err.startswith("modemcert report: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_prune_keeps_the_newest_runs_of_each_rig(new_run, reports_dir, modemcert):
    for day in (20, 21, 22, 23):
        new_run(f"sim-{day}", started=f"2026-11-{day}T01:00:00+00:00").write(latest=False)
    for day in (20, 21):
        new_run(f"pi-{day}", rig="pi-m95", started=f"2026-11-{day}T02:00:00+00:00").write(
            latest=False
        )
    (reports_dir / "allure-history.jsonl").write_text("{}\n")
    (reports_dir / "notes").mkdir()
    (reports_dir / "latest").symlink_to("sim-20")  # the link's target is never removed
    code, out, err = modemcert("report", "--prune", "2")
    assert code == 0, err
    left = sorted(p.name for p in reports_dir.iterdir())
    assert left == [
        "allure-history.jsonl",
        "latest",
        "notes",
        "pi-20",
        "pi-21",
        "sim-20",
        "sim-22",
        "sim-23",
    ]
    assert "removed" in out and "sim-21" in out


def test_prune_never_deletes_complete_runs_to_keep_aborted_ones(new_run, reports_dir, modemcert):
    """Runs stopped by a rig fault (or interrupted) are counted apart from complete ones."""
    for day in (20, 21):
        new_run(f"good-{day}", started=f"2026-11-{day}T01:00:00+00:00", status="complete").write(
            latest=False
        )
    for day in (22, 23, 24, 25):
        new_run(f"aborted-{day}", started=f"2026-11-{day}T01:00:00+00:00", status="aborted").write(
            latest=False
        )
    code, _, err = modemcert("report", "--prune", "2")
    assert code == 0, err
    left = sorted(p.name for p in reports_dir.iterdir())
    assert left == ["aborted-24", "aborted-25", "good-20", "good-21"]
