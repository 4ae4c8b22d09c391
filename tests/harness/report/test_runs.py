"""Finding and reading run directories: timings.json, junit.xml, Allure results, transcripts."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import Category
from harness.limits import QIDEACT
from harness.report.runs import (
    ReportError,
    allure_key,
    find_run,
    junit_key,
    list_runs,
    load_run,
    read_allure_results,
    read_junit,
    read_properties,
    safe_name,
)


def test_find_run_by_path_id_and_latest(new_run, reports_dir):
    first = new_run("20261122-181200-sim").write()
    second = new_run("20261123-181200-sim", started="2026-11-23T18:12:00+00:00").write()
    assert find_run(first) == first.resolve()
    assert find_run("20261122-181200-sim", reports_dir) == first.resolve()
    assert find_run(None, reports_dir) == second.resolve()
    assert find_run("latest", reports_dir) == second.resolve()
    assert list_runs(reports_dir) == [first, second]


def test_no_latest_says_to_run_first(reports_dir):
    with pytest.raises(ReportError, match=r"no runs yet: .*latest does not exist.*modemcert run"):
        find_run(None, reports_dir)


def test_unknown_run_lists_the_newest_runs(new_run, reports_dir):
    new_run("20261122-181200-sim").write()
    with pytest.raises(ReportError) as err:
        find_run("20261199-sim", reports_dir)
    assert "no run '20261199-sim'" in str(err.value)
    assert "20261122-181200-sim" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_directory_without_timings_is_not_a_run(tmp_path, reports_dir):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match=r"empty is not a modemcert run directory .*timings"):
        find_run(tmp_path / "empty", reports_dir)


def test_load_run_reads_the_documented_fields(new_run):
    b = new_run("20261122-181200-sim", operator="Li Wei")
    b.test("suites/test_pdp.py::test_qideact", ["PDP-DEACT"])
    b.timing(QIDEACT, 3.2, "AT+QIDEACT", "suites/test_pdp.py::test_qideact")
    run = load_run(b.write())
    assert run.id == "20261122-181200-sim"
    assert (run.info.rig, run.info.time_scale, run.info.operator) == ("sim", 0.02, "Li Wei")
    assert run.info.finished == b.finished
    assert run.module.firmware == "M95FAR03A04"
    assert run.module.imei.endswith("123") and "4567" not in run.module.imei
    [timing] = run.timings
    assert (timing.clause, timing.measured, timing.limit) == ("PDP-DEACT", 3.2, QIDEACT.seconds)
    assert timing.typical == QIDEACT.typical and timing.verdict == "pass"
    assert timing.margin == pytest.approx(1 - 3.2 / QIDEACT.seconds)
    [test] = run.tests
    assert test.clauses == ("PDP-DEACT",) and test.outcome == "passed"
    assert run.environment["module.imei"] == b.module["imei"]


def test_failure_trace_comes_from_junit(new_run):
    b = new_run("r1").test("suites/test_open.py::test_tcp", ["OPEN-TCP"], "failed", message="no")
    run = load_run(b.write())
    assert "AssertionError: no" in run.tests[0].trace


def test_tests_missing_from_timings_are_taken_from_junit(new_run):
    """A run killed after junit.xml was written but before the plugin recorded the test."""
    b = new_run("r1").test("suites/test_pdp.py::test_a", ["PDP-ACT"])
    b.test("suites/test_pdp.py::test_b", ["PDP-DEACT"], "failed", message="boom")
    path = b.write()
    data = json.loads((path / "timings.json").read_text())
    data["tests"] = data["tests"][:1]
    (path / "timings.json").write_text(json.dumps(data))
    run = load_run(path)
    assert [t.nodeid for t in run.tests] == [
        "suites/test_pdp.py::test_a",
        "suites/test_pdp.py::test_b",
    ]
    assert run.tests[1].outcome == "failed" and run.tests[1].message == "boom"
    assert run.tests[1].clauses == ()


def _edited(new_run, edit) -> Path:
    b = new_run("r1").test("suites/test_pdp.py::test_a", ["PDP-DEACT"])
    path = b.timing(QIDEACT, 3.0, "AT+QIDEACT").timing(QIDEACT, 4.0, "AT+QIDEACT").write()
    data = json.loads((path / "timings.json").read_text())
    edit(data)
    (path / "timings.json").write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.update(tests={"a": 1}), r"'tests' is \{'a': 1\}, not a list"),
        (lambda d: d.update(run=[1]), r"'run' is \[1\], not an object"),
        (lambda d: d.update(timings="x"), r"'timings' is 'x', not a list"),
        (lambda d: d.update(format="other/1"), r"not a modemcert-timings/1 file"),
    ],
)
def test_a_record_that_cannot_be_read_names_the_file_and_field(new_run, edit, expected):
    with pytest.raises(ReportError, match=expected) as err:
        load_run(_edited(new_run, edit))
    assert "timings.json" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["timings"][0].update(measured="slow"), r"timings\[0\]\.measured is 'slow'"),
        (lambda d: d["timings"][0].update(typical=[2]), r"timings\[0\]\.typical is \[2\]"),
        (lambda d: d["timings"].__setitem__(0, 7), r"timings\[0\] is 7, not an object"),
        (lambda d: d["tests"][0].pop("nodeid"), r"tests\[0\] has no nodeid"),
        (lambda d: d["run"].update(finished=12345), r"run\.finished is 12345, not text"),
        (lambda d: d["run"].update(time_scale=-1), r"run\.time_scale is -1"),
        (lambda d: d["module"].update(imei=["x"]), r"module\.imei is \['x'\], not text"),
        (lambda d: d["tests"][0].update(category="bad luck"), r"not a known category"),
    ],
)
def test_a_damaged_entry_is_skipped_with_a_warning_and_the_rest_loads(new_run, edit, expected):
    run = load_run(_edited(new_run, edit))
    assert any(re.search(expected, w) for w in run.warnings), run.warnings
    assert all("timings.json" in w and "\n" not in w for w in run.warnings)
    assert len(run.timings) >= 1  # the other step is still there


def test_nan_and_other_impossible_times_are_kept_apart_as_invalid(new_run):
    def edit(d):
        d["timings"][0]["measured"] = float("nan")
        d["timings"][1]["measured"] = -2.0

    run = load_run(_edited(new_run, edit))
    assert run.timings == () and len(run.invalid) == 2
    assert not any(t.valid for t in run.invalid)
    assert sum("not a time" in w for w in run.warnings) == 2


def test_a_broken_allure_result_is_skipped_not_fatal(new_run):
    b = new_run("r1").test("suites/test_open.py::test_tcp", ["OPEN-TCP"], "failed", message="no")
    path = b.write()
    (found,) = (path / "allure-results").glob("*-result.json")
    data = json.loads(found.read_text())
    data["statusDetails"] = "x"
    found.write_text(json.dumps(data))
    (path / "allure-results" / "junk-result.json").write_text("{not json")
    (path / "junit.xml").write_text("<testsuites><testcase")
    run = load_run(path)
    assert run.tests[0].outcome == "failed"  # timings.json is the record
    assert any("2 Allure result file(s) skipped" in w and "statusDetails is 'x'" in w
               for w in run.warnings)  # fmt: skip
    assert any("junit.xml: unreadable" in w for w in run.warnings)


def test_many_damaged_entries_are_counted_not_listed(new_run):
    def edit(d):
        d["timings"] += [{"measured": "x"}] * 30

    run = load_run(_edited(new_run, edit))
    assert len(run.warnings) == 9 and run.warnings[-1].startswith("… and 22 more")


def test_records_older_than_the_status_fields_still_load(new_run):
    """No status, planned, rig_kind, sim: a finished run is complete; an unfinished one was
    interrupted; the sim rig is simulated."""
    done = load_run(new_run("r1").write())
    assert (done.info.status, done.info.planned, done.info.rig_kind) == ("complete", None, "")
    assert done.info.simulated and done.info.kind == "sim" and not done.interrupted
    cut = load_run(new_run("r2", finished=None).write())
    assert cut.info.status == "interrupted" and cut.interrupted


def test_the_new_run_fields(new_run):
    b = new_run(
        "r1",
        rig="pi-m95",
        status="aborted",
        stop_reason="rig fault: the port went away",
        planned=83,
        rig_kind="serial",
        mutations=["qiclose_100s"],
        sim={"profile": "m95", "seed": 7, "mutations": ["qideact_100s"]},
    )
    b.test("suites/test_pdp.py::test_a", ["PDP-ACT"], "interrupted", category="interrupted")
    run = load_run(b.write())
    info = run.info
    assert (info.status, info.stop_reason, info.planned) == (
        "aborted",
        "rig fault: the port went away",
        83,
    )
    assert info.kind == "serial" and info.simulated  # a serial place holding a simulator
    assert not load_run(new_run("real", rig="pi-m95", rig_kind="serial").write()).info.simulated
    assert info.sim.seed == 7 and info.all_mutations == ("qiclose_100s", "qideact_100s")
    assert run.interrupted and run.tests[0].category is Category.INTERRUPTED


def test_a_run_id_never_becomes_a_path():
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("") == "run" and safe_name("20261122-181200-sim") == "20261122-181200-sim"


def test_unparseable_timings_is_a_report_error(new_run):
    path = new_run("r1").write()
    (path / "timings.json").write_text("{not json")
    with pytest.raises(ReportError, match="unreadable run record"):
        load_run(path)


def test_transcripts_outside_the_run_are_not_read(new_run, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    b = new_run("r1").test("suites/test_pdp.py::test_a", ["PDP-ACT"], "failed", message="x")
    path = b.write()
    data = json.loads((path / "timings.json").read_text())
    data["tests"][0]["transcript"] = "../../secret.txt"
    (path / "timings.json").write_text(json.dumps(data))
    run = load_run(path)
    assert run.transcript_text(run.tests[0]) is None


def test_properties_file(tmp_path):
    (tmp_path / "e.properties").write_text("# comment\n! too\na=1\nb : two words\nc\n\n")
    assert read_properties(tmp_path / "e.properties") == {"a": "1", "b": "two words", "c": ""}
    assert read_properties(tmp_path / "missing") == {}


def test_keys_match_what_pytest_and_allure_pytest_write(tmp_path):
    """junit_key/allure_key must name tests exactly as the real tools do."""
    suite = tmp_path / "suites"
    suite.mkdir()
    (suite / "test_k.py").write_text(
        "import pytest\n"
        "def test_plain():\n    assert False, 'plain'\n"
        "class TestGroup:\n"
        "    @pytest.mark.parametrize('n', [1])\n"
        "    def test_param(self, n):\n        assert n == 2, 'param'\n"
    )
    subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("--rootdir", tmp_path, "--junitxml", "junit.xml", "--alluredir", "allure"),
            "suites/test_k.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    junit = read_junit(tmp_path / "junit.xml")
    allure = read_allure_results(tmp_path / "allure")
    for nodeid, message in [
        ("suites/test_k.py::test_plain", "plain"),
        ("suites/test_k.py::TestGroup::test_param[1]", "param"),
    ]:
        assert junit[junit_key(nodeid)].outcome == "failed"
        assert message in junit[junit_key(nodeid)].message
        assert allure[allure_key(nodeid)].outcome == "failed"
        assert message in allure[allure_key(nodeid)].message
