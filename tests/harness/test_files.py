"""State files are replaced atomically even by concurrent writers, a full disk is a rig fault
that leaves the old file intact, and one run lock per rig names the run that holds it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading

import pytest

from harness.errors import Category
from harness.files import RigBusy, RunLock, StorageFault, atomic_write
from harness.sim.settings import FILE_NAME, StoredSettings


def test_concurrent_writers_never_collide_and_never_leave_half_a_file(tmp_path):
    path = tmp_path / "state.json"
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        for i in range(250):
            try:
                atomic_write(path, json.dumps({"writer": n, "i": i, "pad": "x" * 2000}))
            except BaseException as e:
                failures.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert json.loads(path.read_text())["i"] == 249
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"], "no temp file left behind"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_the_simulators_stored_settings_survive_concurrent_saves(tmp_path):
    """The simulator's AT&W file used one fixed temp name: concurrent saves failed."""
    from harness.sim.profile import Profile

    path = tmp_path / FILE_NAME
    failures: list[BaseException] = []

    def save() -> None:
        settings = StoredSettings(tmp_path, Profile.m95())
        for _ in range(100):
            try:
                settings.store({"ipr": 115200}, ("ipr",))
            except BaseException as e:
                failures.append(e)

    threads = [threading.Thread(target=save) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert json.loads(path.read_text())["ipr"] == 115200


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_is_a_rig_fault_and_keeps_the_old_file(
    tmp_path, monkeypatch, code
):
    path = tmp_path / "timings.json"
    atomic_write(path, '{"old": true}')

    def no_space(fd: int) -> None:  # where a full disk shows on a delayed-allocation fs
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageFault) as info:
        atomic_write(path, '{"new": true}')
    monkeypatch.undo()
    assert info.value.category is Category.RIG_FAULT and info.value.stops_run
    assert str(tmp_path) in str(info.value) and "the run is incomplete" in str(info.value)
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["timings.json"]


def test_a_second_run_on_the_same_rig_is_refused_naming_the_first(tmp_path):
    with RunLock(tmp_path, "rig 'sim'"):
        with pytest.raises(RigBusy) as info:
            RunLock(tmp_path, "rig 'sim'").acquire()
        assert f"pid {os.getpid()}" in str(info.value) and "--state-dir" in str(info.value)
    with RunLock(tmp_path, "rig 'sim'"):  # released: the next run gets it
        pass


def test_a_killed_run_never_leaves_its_rig_locked(tmp_path):
    code = (
        "import sys, threading; from harness.files import RunLock; "
        f"RunLock({str(tmp_path)!r}).acquire(); print('held', flush=True); "
        "threading.Event().wait(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(RigBusy, match=f"pid {child.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        child.kill()
        child.wait()
    RunLock(tmp_path).acquire().release()
