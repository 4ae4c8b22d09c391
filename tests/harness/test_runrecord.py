"""harness/runrecord.py: timings.json is valid after every call, even when the writer is killed.

The file is read back after each change, as a report would read a run killed at that moment;
one test really SIGKILLs a recording process mid-write.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness import runrecord
from harness.clock import Clock
from harness.limits import QIACT, QIDEACT
from harness.runrecord import FILENAME, FORMAT, RunRecorder, RunRecordError, load, mask_imei

REPO = Path(__file__).resolve().parents[2]
RUN = {"id": "20261122-181200-sim", "rig": "sim", "time_scale": 0.02, "finished": None}
TEST = "suites/test_pdp.py::test_qideact"
PASSING = QIDEACT.check(3.2, "AT+QIDEACT")
MARGINAL = QIDEACT.check(7.5, "AT+QIDEACT")
FAILING = QIACT.check(181.0, "AT+QIACT")


@pytest.fixture
def lazy(monkeypatch):
    """Passing steps are never due on their own: only what must be saved at once is saved."""
    monkeypatch.setattr(runrecord, "SAVE_INTERVAL_NS", 10**18)


def on_disk(recorder: RunRecorder) -> dict:
    """The file as a report would read it now; no temp files may be left beside it."""
    leftovers = [p.name for p in recorder.run_dir.iterdir() if p.name != FILENAME]
    assert not leftovers, leftovers
    return load(recorder.path)


# -- creation ----------------------------------------------------------------------------------
def test_a_new_recorder_writes_a_valid_empty_record(tmp_path):
    run_dir = tmp_path / "reports" / RUN["id"]  # made, parents included
    recorder = RunRecorder(run_dir, RUN)
    assert recorder.path == run_dir / FILENAME
    raw = json.loads(recorder.path.read_text(encoding="utf-8"))
    assert raw == {"format": FORMAT, "run": RUN, "module": {}, "timings": [], "tests": []}


def test_the_run_dict_given_is_copied_not_shared(tmp_path):
    run = dict(RUN)
    recorder = RunRecorder(tmp_path, run)
    run["rig"] = "changed later"
    recorder.flush()
    assert on_disk(recorder)["run"]["rig"] == "sim"


def test_the_file_is_world_readable_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        recorder = RunRecorder(tmp_path, RUN)
        recorder.add_test(nodeid=TEST, outcome="passed")
    finally:
        os.umask(old)
    assert stat.S_IMODE(recorder.path.stat().st_mode) == 0o644


# -- every change, read back -------------------------------------------------------------------
def test_the_file_is_valid_after_every_call(tmp_path, lazy):
    recorder = RunRecorder(tmp_path, RUN)
    assert on_disk(recorder)["run"] == RUN

    recorder.set_module(model="Quectel_M95", revision="M95FAR02A08", imei="861234567890123")
    assert on_disk(recorder)["module"] == {
        "model": "Quectel_M95",
        "revision": "M95FAR02A08",
        "imei": "xxxxxxxxxxxx123",
    }

    recorder.add_timing(FAILING, TEST, at=1795371120.5)
    assert [t["verdict"] for t in on_disk(recorder)["timings"]] == ["fail"]

    recorder.add_test(nodeid=TEST, clauses=["PDP-DEACT"], outcome="failed", duration=0.41)
    assert on_disk(recorder)["tests"] == [
        {"nodeid": TEST, "clauses": ["PDP-DEACT"], "outcome": "failed", "duration": 0.41}
    ]

    recorder.update_run(finished="2026-11-22T18:20:00+00:00")
    assert on_disk(recorder)["run"]["finished"] == "2026-11-22T18:20:00+00:00"
    assert on_disk(recorder)["run"]["rig"] == "sim"

    recorder.add_timing(PASSING, TEST, at=1795371121.0)
    recorder.flush()
    assert len(on_disk(recorder)["timings"]) == 2


def test_a_timing_row_is_the_timing_with_its_test_and_time(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)
    recorder.add_timing(PASSING, TEST, at=1795371120.5)
    recorder.flush()
    (row,) = on_disk(recorder)["timings"]
    assert row == {"test": TEST, **PASSING.as_dict(), "at": 1795371120.5}
    assert "provoked" not in row


def test_provoked_steps_are_marked(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)
    recorder.add_timing(FAILING, TEST, at=1.0, provoked=True)
    recorder.add_timing(FAILING, TEST, at=2.0, provoked=False)
    rows = on_disk(recorder)["timings"]
    assert [r.get("provoked") for r in rows] == [True, None]


def test_set_module_masks_the_imei_and_skips_empty_values(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)
    recorder.set_module(model="Quectel_M95", firmware=None, iccid="", imei="861234567890123")
    recorder.set_module(firmware="M95FAR03A04")  # later fields add to what is known
    module = on_disk(recorder)["module"]
    assert module == {"model": "Quectel_M95", "imei": "xxxxxxxxxxxx123", "firmware": "M95FAR03A04"}
    assert "861234567890123" not in recorder.path.read_text(encoding="utf-8")


def test_data_is_a_copy(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)
    recorder.add_timing(FAILING, TEST, at=1.0)
    snapshot = recorder.data
    snapshot["timings"].clear()
    snapshot["run"]["rig"] = "x"
    assert len(recorder.data["timings"]) == 1
    assert recorder.data["run"]["rig"] == "sim"


# -- batching ----------------------------------------------------------------------------------
def test_a_passing_step_may_wait_but_flush_saves_it(tmp_path, lazy):
    recorder = RunRecorder(tmp_path, RUN)
    recorder.add_timing(PASSING, TEST, at=1.0)
    assert on_disk(recorder)["timings"] == []  # batched
    assert len(recorder.data["timings"]) == 1  # but kept
    recorder.flush()
    assert len(on_disk(recorder)["timings"]) == 1


@pytest.mark.parametrize("timing", [MARGINAL, FAILING], ids=["marginal", "fail"])
def test_a_step_that_is_not_a_pass_is_saved_at_once_with_those_before_it(tmp_path, lazy, timing):
    recorder = RunRecorder(tmp_path, RUN)
    recorder.add_timing(PASSING, TEST, at=1.0)
    recorder.add_timing(timing, TEST, at=2.0)
    assert [r["at"] for r in on_disk(recorder)["timings"]] == [1.0, 2.0]


def test_other_changes_save_pending_passing_steps(tmp_path, lazy):
    recorder = RunRecorder(tmp_path, RUN)
    recorder.add_timing(PASSING, TEST, at=1.0)
    recorder.add_test(nodeid=TEST, outcome="passed")
    assert len(on_disk(recorder)["timings"]) == 1


def test_a_passing_step_is_saved_once_the_interval_has_passed(tmp_path, monkeypatch):
    monkeypatch.setattr(runrecord, "SAVE_INTERVAL_NS", 10_000_000)  # 10 ms
    recorder = RunRecorder(tmp_path, RUN)
    Clock(1.0).sleep(0.05)
    recorder.add_timing(PASSING, TEST, at=1.0)
    assert len(on_disk(recorder)["timings"]) == 1


def test_steps_recorded_from_many_threads_are_all_kept(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)

    def record(n):
        for i in range(25):
            recorder.add_timing(PASSING if i % 5 else FAILING, f"t{n}", at=float(i))

    threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorder.flush()
    rows = on_disk(recorder)["timings"]
    assert len(rows) == 100
    assert {r["test"] for r in rows} == {"t0", "t1", "t2", "t3"}


# -- refusing what JSON cannot hold ------------------------------------------------------------
def test_a_value_json_cannot_hold_is_refused_and_recording_goes_on(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)
    with pytest.raises(TypeError, match=r"timings\.json test: .*PosixPath.*str\(\) a Path"):
        recorder.add_test(nodeid=TEST, transcript=tmp_path / "t.txt")
    with pytest.raises(TypeError, match=r"timings\.json run"):
        recorder.update_run(finished=object())
    recorder.add_test(nodeid=TEST, transcript="transcripts/t.txt")
    assert on_disk(recorder)["tests"] == [{"nodeid": TEST, "transcript": "transcripts/t.txt"}]
    assert "finished" in on_disk(recorder)["run"] and on_disk(recorder)["run"]["finished"] is None


# -- a killed writer ---------------------------------------------------------------------------
_WRITER = """
import sys
from harness.limits import QIACT
from harness.runrecord import RunRecorder
rec = RunRecorder(sys.argv[1], {"id": "killed"})
print("ready", flush=True)
i = 0
while True:
    rec.add_timing(QIACT.check(200.0 + i), "t", at=float(i))
    i += 1
"""


def test_a_writer_killed_mid_run_leaves_a_valid_file(tmp_path):
    run_dir = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(run_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        clock = Clock(1.0)
        deadline = clock.deadline(30.0)
        count = 0
        while count < 30 and not deadline.expired:  # let it rewrite the file many times
            count = len(load(run_dir)["timings"])
            clock.sleep(0.005)
        assert count >= 30, "the writer never got going"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    data = load(run_dir)  # whatever moment the kill hit, the file is whole
    rows = data["timings"]
    assert len(rows) >= 30
    assert [r["at"] for r in rows] == [float(i) for i in range(len(rows))]


# -- load() errors -----------------------------------------------------------------------------
def test_load_accepts_the_run_directory_or_the_file(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)
    assert load(tmp_path) == load(recorder.path)


def test_load_fills_in_missing_sections(tmp_path):
    path = tmp_path / FILENAME
    path.write_text(json.dumps({"format": FORMAT}), encoding="utf-8")
    assert load(path) == {"format": FORMAT, "run": {}, "module": {}, "timings": [], "tests": []}


def test_load_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(RunRecordError) as e:
        load(tmp_path)  # a directory without timings.json
    assert str(tmp_path / FILENAME) in str(e.value)
    assert "no such file" in str(e.value)
    assert "run directory" in str(e.value)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"format": "modemcert-timings/1", "timings": [', "unreadable run record"),
        (b"", "unreadable run record"),
        (b"\xff\xfe not utf-8", "unreadable run record"),
        (b'{"format": "allure/2"}', "format='allure/2'"),
        (b'{"run": {}}', "format=None"),
        (b"[1, 2, 3]", "a JSON list, not an object"),
        (b'"modemcert-timings/1"', "a JSON str, not an object"),
    ],
    ids=["truncated", "empty", "not-utf8", "other-format", "no-format", "list", "string"],
)
def test_load_of_a_bad_file_is_one_error_naming_the_file(tmp_path, content, says):
    path = tmp_path / FILENAME
    path.write_bytes(content)
    with pytest.raises(RunRecordError) as e:
        load(path)
    assert str(e.value).startswith(f"{path}: ")
    assert says in str(e.value)
    assert isinstance(e.value, ValueError)


# -- mask_imei ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("imei", "masked"),
    [
        ("861234567890123", "xxxxxxxxxxxx123"),
        ("123", "123"),
        ("12", "12"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_imei_keeps_only_the_last_three_digits(imei, masked):
    assert mask_imei(imei) == masked


def test_mask_imei_can_keep_fewer_digits():
    assert mask_imei("861234567890123", keep=0) == "x" * 15
    assert mask_imei("861234567890123", keep=5) == "xxxxxxxxxx90123"
    assert mask_imei(mask_imei("861234567890123")) == "xxxxxxxxxxxx123"


@pytest.mark.parametrize(
    "text",
    ['{"format": ' + "[" * 100_000 + "]" * 100_000 + "}", '{"x": 1' + "0" * 5000 + "}"],
    ids=["nested-too-deep", "integer-too-long"],
)
def test_a_record_python_cannot_parse_is_one_error_naming_the_file(tmp_path, text):
    (tmp_path / "timings.json").write_text(text)
    with pytest.raises(RunRecordError) as info:
        load(tmp_path)
    assert str(tmp_path) in str(info.value) and len(str(info.value)) < 400
