"""`modemcert compare`: files written, exit codes 0/1/2, one-line errors."""

import pytest


def _runs(cert_run, **new):
    cert_run("20261122-181200-sim", seed=0)
    cert_run("20261123-181200-sim", seed=1, started="2026-11-23T18:12:00+00:00", **new)
    return "20261122-181200-sim", "20261123-181200-sim"


def test_nothing_regressed_exits_0(cert_run, reports_dir, modemcert):
    old, new = _runs(cert_run)
    code, out, err = modemcert("compare", old, new)
    assert code == 0, err
    assert out.splitlines()[0].startswith("Result: no regression")
    md = reports_dir / new / f"compare-{old}-en.md"
    assert md.is_file() and md.with_suffix(".html").is_file()
    assert f"wrote {md.resolve()}" in out


def test_regression_exits_1_in_both_languages(cert_run, tmp_path, modemcert):
    old, new = _runs(cert_run, slower={"AT+QIDEACT": 6.0}, fail=("OPEN-TCP",))
    for lang, word in (("en", "REGRESSED"), ("zh", "有回归")):
        code, out, err = modemcert("compare", old, new, "--lang", lang, "--out-dir", tmp_path / "o")
        assert code == 1, err
        assert word in out
        md = (tmp_path / "o" / f"compare-{old}-{lang}.md").read_text(encoding="utf-8")
        assert "OPEN-TCP" in md and "AT+QIDEACT" in md


def test_run_directories_work_as_well_as_ids(cert_run, reports_dir, modemcert):
    old, new = _runs(cert_run)
    code, _, err = modemcert("compare", reports_dir / old, reports_dir / new)
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "20261123-181200-sim"), "no run 'nope'"),
        (("20261122-181200-sim", "reports"), "reports is not a modemcert run directory"),
    ],
)
def test_usage_errors_exit_2_with_one_line(cert_run, modemcert, args, message):
    _runs(cert_run)
    code, out, err = modemcert("compare", *args)
    assert code == 2
    assert err.startswith("modemcert compare: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


def test_out_dir_that_is_a_file(cert_run, tmp_path, modemcert):
    old, new = _runs(cert_run)
    (tmp_path / "f").write_text("")
    code, _, err = modemcert("compare", old, new, "--out-dir", tmp_path / "f")
    assert code == 2 and "is a file" in err


def test_unknown_language_is_a_usage_error(cert_run, modemcert):
    old, new = _runs(cert_run)
    with pytest.raises(SystemExit) as exit_:
        modemcert("compare", old, new, "--lang", "fr")
    assert exit_.value.code == 2
