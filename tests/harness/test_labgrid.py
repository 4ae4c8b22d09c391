"""The labgrid rig kind: rig keys checked at load, the place acquired exclusively and released on
every way out, its port and lines used, each failure one clear rig fault, and the certification
through a real coordinator, exporter and ser2net on loopback giving the plain sim rig's verdicts.

The lab tests need labgrid 24+ (its own venv: .ci/run makes .venv-labgrid) and ser2net; without
them they skip, naming what is missing (tests/harness/_labgrid_lab.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness import labgrid as lg
from harness.clock import Clock
from harness.errors import RigFault, UsageFault
from harness.gpio.base import GpioConfigError, GpioLineMissing
from harness.gpio.labgrid import LabgridBackend, LabgridLineError
from harness.report.runs import load_run
from harness.report.verdicts import ClauseVerdict, clause_rows
from harness.rig import LabgridConfig, RigError, load_rig
from harness.transport import Transport

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _labgrid_lab import EXPORTER, PLACE, REPO, RIG_TEMPLATE, Lab, free_port, missing

#: The suites run through the place in CI (bench/labgrid_verdicts.py runs them all).
SUITES = ("pdp", "close")
#: Wall seconds one certification run of SUITES may take on a loaded 2-core machine.
RUN_WALL = 240.0
#: Wall seconds a run has to finish its teardown after SIGTERM / SIGINT.
STOP_WALL = 90.0


# -- rig files --------------------------------------------------------------------------------
def write_rig(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    """rigs/labgrid-sim.toml with each (old, new) text change applied once."""
    text = RIG_TEMPLATE.read_text()
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "rig.toml"
    path.write_text(text)
    return path


def test_the_labgrid_sim_rig_takes_port_and_lines_from_its_place():
    rig = load_rig("labgrid-sim")
    assert rig.kind == "labgrid" and not rig.is_sim
    assert rig.labgrid == LabgridConfig(coordinator="127.0.0.1:20408", place="modemcert-sim")
    assert rig.serial.port is None
    assert rig.gpio.backend == "labgrid"
    assert {n: line.pin for n, line in rig.gpio.lines().items()} == {
        "pwrkey": "pwrkey",
        "emerg_off": "emerg_off",
        "status": "status",
        "supply": "supply",
    }
    assert not rig.has("sim.faults")


COORDINATOR = 'coordinator = "127.0.0.1:20408"'
PWRKEY = '{ pin = "pwrkey", '
#: (text in rigs/labgrid-sim.toml, what it becomes, the key the error names, words in it)
BAD_KEYS = [
    (COORDINATOR, 'coordinator = "http://x:1"', "labgrid.coordinator", "HOST[:PORT]"),
    (COORDINATOR, 'coordinator = "host:99999"', "labgrid.coordinator", "HOST[:PORT]"),
    ('place = "modemcert-sim"', 'place = "my place"', "labgrid.place", "not a place name"),
    ('place = "modemcert-sim"', 'plac = "x"', "labgrid.plac", "did you mean 'place'"),
    ("# env = ", 'env = "nowhere.yaml"\n# ', "labgrid.env", "no labgrid environment file"),
    ("# python = ", 'python = "/no/python"\n# ', "labgrid.python", "no Python"),
    ("# timeout = 30 ", "timeout = 0\n# ", "labgrid.timeout", "allow 1 to 600 s"),
    ("baud = 115200", 'port = "/dev/ttyUSB0"', "serial.port", "NetworkSerialPort"),
    ('backend = "labgrid"', 'backend = "rpi"', "gpio.backend", "place's digital outputs"),
    ('{ pin = "pwrkey",', "{ pin = 4,", "gpio.pwrkey.pin", "must be a string"),
    (PWRKEY, PWRKEY + 'drive = "push-pull", ', "gpio.pwrkey.drive", "remove the key"),
]


@pytest.mark.parametrize(("old", "new", "key", "words"), BAD_KEYS)
def test_a_bad_labgrid_key_is_one_rig_error_naming_it(tmp_path, old, new, key, words):
    with pytest.raises(RigError) as caught:
        load_rig(write_rig(tmp_path, (old, new)))
    assert caught.value.key == key
    assert words in str(caught.value)
    assert isinstance(caught.value, UsageFault)


def test_a_labgrid_table_on_another_kind_of_rig_is_refused(tmp_path):
    path = write_rig(
        tmp_path,
        ('kind = "labgrid"', 'kind = "hardware"'),
        ("time_scale = 0.05", "time_scale = 1.0"),
    )
    with pytest.raises(RigError, match='only a rig with kind = "labgrid"') as caught:
        load_rig(path)
    assert caught.value.key == "labgrid"


def test_a_labgrid_rig_needs_its_labgrid_table(tmp_path):
    text = RIG_TEMPLATE.read_text()
    start, end = text.index("[labgrid]"), text.index("[serial]")
    path = tmp_path / "rig.toml"
    path.write_text(text[:start] + text[end:])
    with pytest.raises(RigError, match="names its place") as caught:
        load_rig(path)
    assert caught.value.key == "labgrid"


def test_only_a_labgrid_rig_has_the_labgrid_backend(tmp_path):
    path = tmp_path / "rig.toml"
    path.write_text(
        textwrap.dedent(
            """\
            kind = "hardware"
            state_dir = "state"
            [serial]
            port = "/dev/ttyUSB0"
            [gpio]
            backend = "labgrid"
            [peer]
            host = "203.0.113.10"
            port = 7007
            control_url = "http://203.0.113.10:7008"
            """
        )
    )
    with pytest.raises(RigError, match='kind = "labgrid"') as caught:
        load_rig(path)
    assert caught.value.key == "gpio.backend"


# -- finding labgrid ---------------------------------------------------------------------------
def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_labgrid_is_found_from_the_rig_then_the_environment_then_labgrid_client(
    tmp_path, monkeypatch
):
    venv_python = executable(tmp_path / "venv-python", "#!/bin/sh\n")
    executable(tmp_path / "labgrid-client", f"#!{venv_python}\nprint('labgrid')\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(lg.PYTHON_ENV, raising=False)
    assert lg.find_python(LabgridConfig("h:1", "p")) == str(venv_python)
    named = executable(tmp_path / "named-python", "#!/bin/sh\n")
    monkeypatch.setenv(lg.PYTHON_ENV, str(named))
    assert lg.find_python(LabgridConfig("h:1", "p")) == str(named)
    assert lg.find_python(LabgridConfig("h:1", "p", python=venv_python)) == str(venv_python)


def test_no_labgrid_is_a_rig_fault_saying_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(lg.PYTHON_ENV, raising=False)
    monkeypatch.setattr(lg.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(lg.LabgridMissing, match="pipx install labgrid") as caught:
        lg.find_python(LabgridConfig("h:1", "p"))
    assert isinstance(caught.value, RigFault)


# -- the place, with a stand-in agent (the protocol and the error taxonomy) ------------------
AGENT_READY = {
    "place": "bench-1",
    "coordinator": "192.0.2.5:20408",
    "acquired_by": "runner/ci",
    "labgrid": "26.0.1",
    "tags": {},
    "exporter": "pi-3",
    "exporters": ["pi-3"],
    "serial": {
        "url": "rfc2217://192.0.2.7:50123?ign_set_control",
        "resource": "pi-3/m95/NetworkSerialPort/RawSerialPort",
        "speed": 115200,
        "path": "/dev/serial0",
    },
    "lines": {
        "pwrkey": {"cls": "NetworkSysfsGPIO", "driver": "GpioDigitalOutputDriver"},
        "status": {"cls": "HttpDigitalOutput", "driver": "HttpDigitalOutputDriver"},
        "broken": {"cls": "ModbusTCPCoil", "driver": "ModbusCoilDriver"},
    },
}

SERVING_AGENT = """\
import json, sys
out = sys.stdout
out.write(json.dumps({"ready": %s}) + "\\n"); out.flush()
levels = {"status": True}
with open(%r, "a") as seen:
    for raw in sys.stdin:
        req = json.loads(raw)
        seen.write(raw); seen.flush()
        if req["op"] == "set" and req["line"] == "broken":
            answer = {"ok": False, "error": {"kind": "io", "message": "Modbus timed out"}}
        elif req["op"] == "set":
            levels[req["line"]] = req["value"]; answer = {"ok": True}
        elif req["op"] == "get":
            answer = {"ok": True, "value": levels.get(req["line"], False)}
        else:
            answer = {"ok": True}
        out.write(json.dumps(answer) + "\\n"); out.flush()
        if req["op"] == "release":
            break
"""


def fake_place(tmp_path: Path, body: str, **cfg) -> lg.Place:
    agent = executable(tmp_path / "agent", f"#!{sys.executable}\n{body}")
    config = LabgridConfig("192.0.2.5:20408", "bench-1", python=agent, timeout=5, **cfg)
    return lg.Place(config, where="rig 'bench' (rigs/bench.toml)", log_path=tmp_path / "lg.log")


@pytest.mark.parametrize(
    ("kind", "fault"),
    [
        ("unreachable", lg.CoordinatorUnreachable),
        ("no-place", lg.PlaceNotFound),
        ("busy", lg.PlaceBusy),
        ("missing", lg.ResourceMissing),
        ("unavailable", lg.ResourceUnavailable),
        ("labgrid", lg.LabgridMissing),
        ("env", lg.LabgridEnvError),
    ],
)
def test_each_agent_failure_is_its_own_error_on_one_line(tmp_path, kind, fault):
    error = {"error": {"kind": kind, "message": "what went wrong; what to do"}}
    place = fake_place(tmp_path, f"import json; print(json.dumps({error!r}))\n")
    with pytest.raises(fault) as caught:
        place.acquire(["pwrkey"])
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("rig 'bench' (rigs/bench.toml): labgrid place 'bench-1' at 192.0.2.5")
    assert "what went wrong; what to do" in text
    assert isinstance(caught.value, UsageFault if kind == "env" else RigFault)


def test_an_agent_that_dies_without_a_word_is_a_lost_agent(tmp_path):
    place = fake_place(tmp_path, "import sys; sys.exit(3)\n")
    with pytest.raises(lg.AgentLost, match=r"exited \(code 3\)"):
        place.acquire()


def test_lines_switch_and_read_through_the_agent_and_release_ends_it(tmp_path):
    seen = tmp_path / "seen.jsonl"
    place = fake_place(tmp_path, SERVING_AGENT % (json.dumps(AGENT_READY), str(seen)))
    place.acquire(["pwrkey", "status"])
    assert place.port == "rfc2217://192.0.2.7:50123?ign_set_control"
    assert place.exporter == "pi-3"
    backend = place.backend()
    assert isinstance(backend, LabgridBackend)
    assert "NetworkSysfsGPIO" in backend.describe()
    pwrkey = backend.output("PWRKEY", "pwrkey", active_high=False)  # claimed inactive: high
    pwrkey.set_active(True)
    status = backend.input("STATUS", "status")
    assert status.is_active() is True
    with pytest.raises(LabgridLineError, match="Modbus timed out"):
        backend.output("BROKEN", "broken")
    with pytest.raises(GpioLineMissing, match="offers no line 'supply'"):
        backend.output("SUPPLY", "supply")
    place.release()
    place.release()  # idempotent
    requests = [json.loads(line) for line in seen.read_text().splitlines()]
    assert [(r["op"], r.get("line"), r.get("value")) for r in requests] == [
        ("set", "pwrkey", True),  # inactive on an active-low line
        ("set", "pwrkey", False),  # asserted
        ("get", "status", None),
        ("set", "broken", False),
        ("release", None, None),
    ]
    assert place._proc.poll() == 0
    env = place.environment()
    assert env["place"] == "bench-1" and env["exporter"] == "pi-3"
    assert place.properties()["labgrid.serial"].startswith("pi-3/m95/NetworkSerialPort")
    assert not place.simulated


def test_a_labgrid_line_has_no_drive_of_its_own(tmp_path):
    seen = tmp_path / "seen.jsonl"
    place = fake_place(tmp_path, SERVING_AGENT % (json.dumps(AGENT_READY), str(seen)))
    backend = place.acquire(["pwrkey"]).backend()
    try:
        with pytest.raises(GpioConfigError, match="drives as its exporter's resource does"):
            backend.output("PWRKEY", "pwrkey", active_high=False, drive="open-drain")
    finally:
        place.release()


@pytest.mark.parametrize(
    ("tags", "ok"), [({}, False), ({"time_scale": "1"}, False), ({"time_scale": "0.05"}, True)]
)
def test_a_compressed_clock_needs_a_place_tagged_as_simulated(tmp_path, tags, ok):
    rig = load_rig("labgrid-sim")
    place = lg.Place(rig.labgrid, where="rig")
    place.info = {"tags": tags}
    if ok:
        lg._check_time_scale(rig, place)
        return
    with pytest.raises(lg.PlaceTimeScale, match=r"set-tags time_scale=0\.05") as caught:
        lg._check_time_scale(rig, place)
    assert "a real module runs in real time" in str(caught.value)


# -- a real lab on loopback ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lacking = missing()
    if lacking:
        pytest.skip(f"no labgrid lab on this machine: missing {lacking}")
    lab = Lab(tmp_path_factory.mktemp("labgrid-lab")).start()
    yield lab
    lab.stop()


@pytest.fixture
def lab_env(lab, monkeypatch):
    for name, value in lab.env.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **lab.env}


def agents_for(lab: Lab) -> list[int]:
    """Agent processes still holding (or trying) this lab's place."""
    return lab.agents()


@pytest.mark.timeout(120)
def test_the_place_gives_its_port_and_lines_and_is_free_again_after(lab, lab_env, tmp_path):
    rig = load_rig(lab.rig(tmp_path / "rig.toml"))
    place = lg.acquire_place(rig, tmp_path)
    try:
        assert lab.holder() is not None
        assert place.port.startswith("rfc2217://127.0.0.1:")
        assert place.exporter == EXPORTER
        assert place.lines == dict.fromkeys(
            ("pwrkey", "emerg_off", "status", "supply"), "HttpDigitalOutput"
        )
        assert place.simulated
        with pytest.raises(lg.PlaceBusy, match="already acquired by"):  # exclusive, even for us
            lg.acquire_place(rig, tmp_path)
        # The simulated module is off until PWRKEY: press it through labgrid, then talk to it.
        backend = place.backend()
        supply = backend.output("SUPPLY", "supply")
        pwrkey = backend.output("PWRKEY", "pwrkey")
        status = backend.input("STATUS", "status")
        clock = Clock(rig.time_scale)
        supply.set_active(True)
        pwrkey.set_active(True)
        clock.sleep(1.5)
        pwrkey.set_active(False)
        deadline = clock.deadline(20.0)
        while not status.is_active() and not deadline.expired:
            clock.sleep(0.1)
        assert status.is_active(), "STATUS did not rise after PWRKEY through the place"
        with Transport(place.port) as port:
            port.write(b"ATE0\r")
            seen = b""
            deadline = clock.deadline(20.0)
            while b"OK" not in seen and not deadline.expired:
                seen += port.read(256, 0.2)
            assert b"OK" in seen
        backend.release()
    finally:
        place.release()
    assert lab.holder() is None
    assert agents_for(lab) == []


@pytest.mark.timeout(60)
def test_an_environment_file_supplies_the_line_drivers(lab, lab_env, tmp_path):
    env_file = REPO / "tests" / "data" / "labgrid" / "env.yaml"
    rig = load_rig(lab.rig(tmp_path / "rig.toml", extra_labgrid=f'env = "{env_file}"'))
    place = lg.acquire_place(rig, tmp_path)
    try:
        assert place.info["lines"]["pwrkey"]["driver"] == "HttpDigitalOutputDriver"
        assert place.environment()["env_file"] == str(env_file)
    finally:
        place.release()
    assert lab.holder() is None


def test_no_coordinator_is_a_rig_fault_naming_the_address(lab_env, tmp_path):
    port = free_port()  # nothing listens there
    path = write_rig(
        tmp_path, ('coordinator = "127.0.0.1:20408"', f'coordinator = "127.0.0.1:{port}"')
    )
    answers = f"no labgrid coordinator answers at 127.0.0.1:{port}"
    with pytest.raises(lg.CoordinatorUnreachable, match=re.escape(answers)):
        lg.acquire_place(load_rig(path), tmp_path)


def test_an_unknown_place_is_named_with_the_places_there_are(lab, lab_env, tmp_path):
    path = lab.rig(tmp_path / "rig.toml")
    path.write_text(path.read_text().replace(f'place = "{PLACE}"', 'place = "no-such-bench"'))
    with pytest.raises(lg.PlaceNotFound, match=f"no place 'no-such-bench' \\(places: {PLACE}\\)"):
        lg.acquire_place(load_rig(path), tmp_path)


def test_a_place_held_by_someone_else_is_busy_and_stays_theirs(lab, lab_env, tmp_path):
    other = {"LG_USERNAME": "night-shift"}
    lab.client("-p", PLACE, "acquire", env=other)
    try:
        with pytest.raises(lg.PlaceBusy, match=r"acquired by \S+/night-shift"):
            lg.acquire_place(load_rig(lab.rig(tmp_path / "rig.toml")), tmp_path)
        assert lab.holder().endswith("/night-shift")
    finally:
        lab.client("-p", PLACE, "release", env=other)


def test_a_line_the_place_lacks_is_a_missing_resource_and_the_place_is_let_go(
    lab, lab_env, tmp_path
):
    path = lab.rig(tmp_path / "rig.toml")
    path.write_text(path.read_text().replace('{ pin = "supply",', '{ pin = "relay",'))
    with pytest.raises(lg.ResourceMissing, match="no resource named 'relay'"):
        lg.acquire_place(load_rig(path), tmp_path)
    assert lab.holder() is None


def test_a_compressed_clock_on_a_place_tagged_otherwise_is_refused(lab, lab_env, tmp_path):
    path = lab.rig(tmp_path / "rig.toml")
    path.write_text(path.read_text().replace("time_scale = 0.05", "time_scale = 0.1"))
    with pytest.raises(lg.PlaceTimeScale, match=r"is tagged time_scale=0\.05"):
        lg.acquire_place(load_rig(path), tmp_path)
    assert lab.holder() is None


@pytest.mark.timeout(120)
def test_doctor_checks_a_labgrid_rig_through_its_place(lab, lab_env, tmp_path):
    rig = lab.rig(tmp_path / "rig.toml")
    cmd = [sys.executable, "-m", "harness.cli", "doctor", "--rig", str(rig), "--no-module"]
    cmd += ["--state-dir", str(tmp_path / "state")]
    done = subprocess.run(cmd, cwd=REPO, env=lab_env, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"\[ ok \] labgrid place +Place\('{PLACE}'", done.stdout), done.stdout
    assert "labgrid (place modemcert-sim: pwrkey HttpDigitalOutput" in done.stdout
    assert lab.holder() is None


# -- certification through the place -----------------------------------------------------------
def run_suites(rig: Path | str, out: Path, env: dict[str, str], *extra: str):
    """`modemcert run` on SUITES into `out`; (exit code, run directory, output)."""
    cmd = [sys.executable, "-m", "harness.cli", "run", "--rig", str(rig)]
    for suite in SUITES:
        cmd += ["--suite", suite]
    cmd += ["--reports-dir", str(out / "reports"), "--state-dir", str(out / "state"), *extra]
    done = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_WALL, check=False
    )
    return done.returncode, (out / "reports" / "latest").resolve(), done.stdout + done.stderr


#: Verdicts that mean the same for this comparison. Skipped (here) and deselected (there) both
#: mean not run. Marginal is a pass near a limit: which draw of the simulator's one random
#: generator a latency gets depends on how many commands came before it (a slower line polls
#: fewer times), so pass and marginal trade places even between two plain sim runs
#: (bench/labgrid_verdicts.py measures it).
SAME = {ClauseVerdict.SKIPPED: ClauseVerdict.NOT_RUN, ClauseVerdict.MARGINAL: ClauseVerdict.PASS}


def verdicts(run) -> dict[str, ClauseVerdict]:
    return {r.clause.id: SAME.get(r.verdict, r.verdict) for r in clause_rows(run)}


@pytest.mark.timeout(2 * RUN_WALL + 60)
def test_certification_through_the_place_gives_the_sim_rigs_clause_verdicts(lab, lab_env, tmp_path):
    rig = lab.rig(tmp_path / "rig.toml")
    lab.fresh_module()  # its latencies drawn from the start, as the sim rig's are in each run
    code, run_dir, output = run_suites(rig, tmp_path / "labgrid", lab_env)
    assert code == 0, output[-3000:]
    assert lab.holder() is None, "the place is still acquired after the run"
    labgrid_run = load_run(run_dir)
    # Only the tests that inject faults into the in-process simulator are left out.
    skipped = [t for t in labgrid_run.tests if t.outcome == "skipped"]
    assert skipped and all("is not simulated" in t.message for t in skipped), [
        (t.nodeid, t.message) for t in skipped
    ]
    deselect = [arg for t in skipped for arg in ("--deselect", t.nodeid)]
    scale = ("--time-scale", f"{lab.scale:g}")  # the same compression as through the place
    code, sim_dir, output = run_suites("sim", tmp_path / "sim", lab_env, *scale, *deselect)
    assert code == 0, output[-3000:]
    theirs = verdicts(load_run(sim_dir))
    ours = verdicts(labgrid_run)
    differ = {c: (ours[c], theirs[c]) for c in ours if ours[c] != theirs[c]}
    assert not differ, f"clause verdicts (labgrid, sim) that differ: {differ}"
    assert sum(v is ClauseVerdict.PASS for v in ours.values()) >= 10
    # The run's record says which place and exporter held the module, and that it was simulated.
    record = json.loads((run_dir / "timings.json").read_text())
    assert record["run"]["labgrid"]["place"] == PLACE
    assert record["run"]["labgrid"]["exporter"] == EXPORTER
    assert record["run"]["labgrid"]["serial"]["url"].startswith("rfc2217://127.0.0.1:")
    assert labgrid_run.info.simulated
    properties = (run_dir / "allure-results" / "environment.properties").read_text()
    assert f"labgrid.place = {PLACE}" in properties
    assert f"labgrid.exporter = {EXPORTER}" in properties
    assert "certification = simulated module" in properties


@pytest.mark.timeout(RUN_WALL + STOP_WALL + 30)
@pytest.mark.parametrize(
    ("sig", "exit_code"),
    [(signal.SIGTERM, 4), (signal.SIGINT, 4), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGTERM", "SIGINT", "SIGKILL"],
)
def test_a_signal_mid_run_still_releases_the_place(lab, lab_env, tmp_path, sig, exit_code):
    """SIGTERM and Ctrl+C unwind through the station, which releases the place; even a killed
    run lets go of it: its agent releases the place when modemcert's end of the pipe closes."""
    rig = lab.rig(tmp_path / "rig.toml")
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "harness.cli", "run", "--rig", str(rig), "--suite", "pdp"]
    cmd += ["--reports-dir", str(reports), "--state-dir", str(tmp_path / "state")]
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO, env=lab_env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        wall = Clock(1.0)
        deadline = wall.deadline(RUN_WALL)

        def under_way() -> bool:  # the place is held and a test has finished
            for record in reports.glob("*/timings.json"):
                try:
                    if json.loads(record.read_text())["tests"]:
                        return True
                except (OSError, ValueError):
                    pass
            return False

        while not under_way():
            assert proc.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert not deadline.expired, "the run did not get under way"
            wall.sleep(0.05)
        assert lab.holder() is not None
        proc.send_signal(sig)
        code = proc.wait(STOP_WALL)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == exit_code, (tmp_path / "run.log").read_text()[-3000:]
    wall = Clock(1.0)
    deadline = wall.deadline(STOP_WALL)  # a killed run's agent notices its closed input
    while agents_for(lab) and not deadline.expired:
        wall.sleep(0.05)
    assert agents_for(lab) == []
    assert lab.holder() is None, "the place is still acquired after the interrupted run"


@pytest.mark.timeout(120)
def test_the_exporters_own_ser2net_serves_the_place_too(tmp_path, monkeypatch):
    """The usual lab set-up: a RawSerialPort the exporter serves with ser2net while acquired."""
    lacking = missing()
    if lacking:
        pytest.skip(f"no labgrid lab on this machine: missing {lacking}")
    lab = Lab(tmp_path / "lab", own_ser2net=False).start()
    try:
        for name, value in lab.env.items():
            monkeypatch.setenv(name, value)
        rig = load_rig(lab.rig(tmp_path / "rig.toml"))
        place = lg.acquire_place(rig, tmp_path)
        try:
            assert place.info["serial"]["resource"].endswith("/NetworkSerialPort/RawSerialPort")
            assert place.info["serial"]["path"] == lab.pty
            with Transport(place.port) as port:  # opened: ser2net runs for the place
                assert port.is_open
        finally:
            place.release()
        assert lab.holder() is None
    finally:
        lab.stop()
