"""`modemcert clauses`: suites collected in-process, markers read, exit 1 on untested clauses."""

import pytest

from harness.clauses import CLAUSES
from harness.limits import QIDEACT, QIOPEN
from harness.report.matrix import collect, format_matrix, matrix_rows
from harness.report.runs import ReportError, load_run


def _suite(tmp_path, name: str, body: str):
    suites = tmp_path / "suites"
    suites.mkdir(exist_ok=True)
    (suites / name).write_text("import pytest\n\n" + body)
    return suites


def _test(name: str, clauses, requires=(), body="pass") -> str:
    marks = f"@pytest.mark.clause({', '.join(map(repr, clauses))})\n"
    if requires:
        marks += f"@pytest.mark.requires({', '.join(map(repr, requires))})\n"
    return f"{marks}def test_{name}():\n    {body}\n\n"


def _all_clauses(tmp_path):
    body = "".join(
        _test(cid.lower().replace("-", "_"), [cid], ["power"] if cid.startswith("PWR") else [])
        for cid in CLAUSES
    )
    return _suite(tmp_path, "test_all.py", body)


def test_collects_markers_without_running_anything(reports_dir, tmp_path):
    flag = tmp_path / "ran"
    suites = _suite(
        tmp_path,
        "test_pdp.py",
        _test(
            "deact", ["PDP-DEACT", "CLOSE-DEACT"], ["power", "status"], f"open({str(flag)!r}, 'w')"
        )
        + "class TestAct:\n"
        + "    @pytest.mark.clause('PDP-ACT')\n"
        + "    @pytest.mark.parametrize('n', [1, 2])\n"
        + "    def test_act(self, n):\n        pass\n",
    )
    tests = {t.nodeid: t for t in collect(suites)}
    # Run from tmp_path (the reports_dir fixture's working directory), like the repo root.
    assert set(tests) == {
        "suites/test_pdp.py::test_deact",
        "suites/test_pdp.py::TestAct::test_act[1]",
        "suites/test_pdp.py::TestAct::test_act[2]",
    }
    deact = tests["suites/test_pdp.py::test_deact"]
    assert deact.clauses == ("PDP-DEACT", "CLOSE-DEACT")
    assert deact.requires == ("power", "status")
    assert tests["suites/test_pdp.py::TestAct::test_act[2]"].clauses == ("PDP-ACT",)
    assert not flag.exists()


def test_every_clause_tested_exits_0(reports_dir, tmp_path, modemcert):
    suites = _all_clauses(tmp_path)
    code, out, err = modemcert("clauses", "--suites", suites)
    assert code == 0, err
    assert f"{len(CLAUSES)} clauses, {len(CLAUSES)} with tests, 0 without" in out
    lines = out.splitlines()
    assert lines[0].split() == ["CLAUSE", "TESTS", "NEEDS", "VERDICT", "MEASURED"]
    assert [line.split()[0] for line in lines[1 : len(CLAUSES) + 1]] == list(CLAUSES)


def test_untested_clauses_exit_1_and_are_named(reports_dir, tmp_path, modemcert):
    suites = _suite(tmp_path, "test_pdp.py", _test("deact", ["PDP-DEACT"]))
    code, out, _ = modemcert("clauses", "--suites", suites)
    assert code == 1
    assert f"1 with tests, {len(CLAUSES) - 1} without: INIT-SYNC, " in out
    row = next(line for line in out.splitlines() if line.startswith("INIT-SYNC"))
    assert "(no test)" in row


def test_an_empty_suites_directory_is_all_untested(reports_dir, tmp_path, modemcert):
    (tmp_path / "suites").mkdir()
    code, out, _ = modemcert("clauses", "--suites", tmp_path / "suites")
    assert code == 1 and f"0 with tests, {len(CLAUSES)} without" in out


def test_unknown_clause_ids_in_markers_fail(reports_dir, tmp_path, modemcert):
    suites = _all_clauses(tmp_path)
    (suites / "test_typo.py").write_text("import pytest\n\n" + _test("typo", ["PDP-DEAKT"]))
    code, out, _ = modemcert("clauses", "--suites", suites)
    assert code == 1
    assert "unknown clause ID 'PDP-DEAKT' (did you mean 'PDP-DEACT'?)" in out


def test_rig_capabilities_missing_are_marked(reports_dir, tmp_path, modemcert):
    suites = _all_clauses(tmp_path)
    code, out, _ = modemcert("clauses", "--suites", suites, "--rig", "uart-only")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("PWR-ON"))
    assert "power!" in row
    assert "rig uart-only: 4 clause(s) have tests needing capabilities it lacks (!)" in out
    code, out, _ = modemcert("clauses", "--suites", suites, "--rig", "sim")
    assert "power!" not in out and "rig sim: 0 clause(s)" in out


def test_verdicts_from_the_latest_run(cert_run, tmp_path, modemcert):
    cert_run("r1", fail=("OPEN-TCP",))
    suites = _all_clauses(tmp_path)
    code, out, _ = modemcert("clauses", "--suites", suites)
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("OPEN-TCP"))
    assert " fail " in row
    assert f" / {QIOPEN.seconds:.0f} s" in row
    assert "verdicts from run r1" in out


def test_matrix_rows_and_text_without_a_run():
    rows = matrix_rows([])
    assert [r.clause for r in rows] == list(CLAUSES) and all(r.verdict == "" for r in rows)
    assert "(no test)" in format_matrix(rows)


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        (None, ("--suites", "nowhere"), "no suites directory at nowhere"),
        ("broken", ("--suites", "suites"), "collecting suites failed"),
        ("ok", ("--suites", "suites", "--rig", "nope"), "no rig named 'nope'"),
        ("ok", ("--suites", "suites", "--run", "nope"), "no run 'nope'"),
    ],
)
def test_usage_errors_exit_2(reports_dir, tmp_path, modemcert, setup, argv, message):
    if setup == "broken":
        _suite(tmp_path, "test_bad.py", "def test_x(:\n    pass\n")
    elif setup == "ok":
        _suite(tmp_path, "test_ok.py", _test("ok", ["ORDER"]))
    code, _, err = modemcert("clauses", *argv)
    assert code == 2
    assert err.startswith("modemcert clauses: ") and message in err
    assert "Traceback" not in err


def test_collecting_twice_sees_edited_files(reports_dir, tmp_path):
    suites = _suite(tmp_path, "test_pdp.py", _test("a", ["PDP-ACT"]))
    assert [t.clauses for t in collect(suites)] == [("PDP-ACT",)]
    (suites / "test_pdp.py").write_text("import pytest\n\n" + _test("a", ["PDP-DEACT"]))
    assert [t.clauses for t in collect(suites)] == [("PDP-DEACT",)]


def test_collect_raises_report_error_for_a_missing_directory(tmp_path):
    with pytest.raises(ReportError):
        collect(tmp_path / "none")


def test_load_run_is_what_the_matrix_reads(cert_run):
    run = load_run(cert_run("r1"))
    rows = {r.clause: r for r in matrix_rows([], run)}
    assert rows["PDP-DEACT"].verdict == "pass" and rows["PDP-DEACT"].measured.endswith(
        f"{QIDEACT.seconds:.0f} s"
    )
