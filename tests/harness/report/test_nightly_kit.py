"""The nightly kit in deploy/: deploy/check_kit.py passes on it and catches each way it broke
before (no tunnel dependency, an unreadable env file, a short token, no exec); every
`modemcert` command the units, the workflow and deploy/nightly.sh run is one the command line
accepts; nightly.sh maps outcomes to its documented exit codes, notifies and prunes."""

import argparse
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import SUBCOMMANDS
from harness.rig import load_rig

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service")) + sorted(
    (DEPLOY / "systemd").glob("*.timer")
)
WORKFLOW = DEPLOY / "github" / "nightly.yml"
NIGHTLY = DEPLOY / "nightly.sh"
CHECK_KIT = DEPLOY / "check_kit.py"
# The unit-file reader is deploy/check_kit.py's own (one parser for the kit and its tests).
_spec = importlib.util.spec_from_file_location("check_kit", CHECK_KIT)
assert _spec and _spec.loader
_kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_kit)
parse_unit, values = _kit.parse_unit, _kit.values
PEER_COMMAND = (
    "modemcert peer --listen 0.0.0.0:7007 --control 127.0.0.1:7008 --token-file %d/peer-token "
    "--idle-timeout 3600"
)
#: Values for the placeholders the files use, to parse their command lines.
PLACEHOLDERS = {
    "%i": "pi-m95",
    "${MODEMCERT_KEEP}": "30",
    '"$MODEMCERT_KEEP"': "30",
    "${{ matrix.rig }}": "sim",
    '"$old"': "20261122-181200-sim",
    '"$new"': "20261123-181200-sim",
    '"$rig"': "sim",
    '"$reports"': "reports",
    '"$new_dir"': "reports/20261123-181200-sim",
    "${MODEMCERT_RUN_ARGS:-}": "",
}


def modemcert_argv(command: str) -> list[str]:
    """`/opt/.../modemcert report --prune ${MODEMCERT_KEEP}` → ["report", "--prune", "30"]."""
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    words = shlex.split(command.split(" || ")[0].split(" >")[0])
    at = next(i for i, w in enumerate(words) if w.endswith("modemcert"))
    return words[at + 1 :]


def check_command(argv: list[str]) -> None:
    """Parse argv with the subcommand's own parser; skip subcommands not written yet."""
    name = argv[0]
    assert name in SUBCOMMANDS, f"modemcert has no subcommand {name!r}"
    try:
        module = importlib.import_module(SUBCOMMANDS[name][0])
    except ImportError:
        pytest.skip(f"`modemcert {name}` is not written yet")
    parser = argparse.ArgumentParser(prog=f"modemcert {name}", exit_on_error=False)
    module.add_arguments(parser)
    try:
        if getattr(module, "PASSTHROUGH", False):
            parser.parse_known_args(argv[1:])
        else:
            parser.parse_args(argv[1:])
    except (argparse.ArgumentError, SystemExit) as e:
        pytest.fail(f"modemcert {' '.join(argv)}: {e}")


def unit_commands() -> list[tuple[str, str]]:
    out = []
    for path in UNITS:
        unit = parse_unit(path)
        for key in ("ExecStart", "ExecStartPost", "ExecStopPost"):
            out += [(path.name, v) for v in values(unit, "Service", key) if "modemcert " in v]
    return out


def script_commands() -> list[str]:
    """Every `"$bin/modemcert" …` line of deploy/nightly.sh."""
    return [
        m.group(1).strip()
        for m in re.finditer(r'(?:^|\s)("\$bin/modemcert" [^\n]*)', NIGHTLY.read_text())
    ]


def workflow_commands() -> list[str]:
    text = WORKFLOW.read_text()
    return [
        m.group(1).strip()
        for m in re.finditer(r"(?:^|\s)(\.venv/bin/modemcert [^\n]*)", text)
        if "\\" not in m.group(1)
    ]


def test_every_unit_parses_and_has_its_sections():
    assert {p.name for p in UNITS} >= {
        "modemcert-nightly@.service",
        "modemcert-nightly@.timer",
        "modemcert-peer.service",
    }
    for path in UNITS:
        unit = parse_unit(path)
        assert values(unit, "Unit", "Description"), path.name
        if path.suffix == ".service":
            assert values(unit, "Service", "ExecStart"), path.name


@pytest.mark.parametrize(("unit", "command"), unit_commands())
def test_unit_commands_are_real_modemcert_commands(unit, command):
    check_command(modemcert_argv(command))


@pytest.mark.parametrize("command", workflow_commands())
def test_workflow_commands_are_real_modemcert_commands(command):
    check_command(modemcert_argv(command))


@pytest.mark.parametrize("command", script_commands())
def test_nightly_script_commands_are_real_modemcert_commands(command):
    check_command(modemcert_argv(command))


def test_the_script_runs_doctor_run_report_compare():
    names = [modemcert_argv(c)[0] for c in script_commands()]
    assert names[:2] == ["doctor", "run"], names
    assert {"report", "compare"} <= set(names)


def test_nightly_service_runs_the_script_after_tunnel_and_time():
    unit = parse_unit(DEPLOY / "systemd" / "modemcert-nightly@.service")
    assert values(unit, "Service", "Type") == ["oneshot"]
    assert values(unit, "Service", "ExecStart") == ["/opt/modemcert/deploy/nightly.sh %i"]
    after = " ".join(values(unit, "Unit", "After"))
    assert "modemcert-peer-tunnel.service" in after and "time-sync.target" in after
    assert "dialout" in values(unit, "Service", "SupplementaryGroups")[0]


def test_timer_runs_nightly_and_catches_up():
    unit = parse_unit(DEPLOY / "systemd" / "modemcert-nightly@.timer")
    assert values(unit, "Timer", "OnCalendar") and values(unit, "Timer", "Persistent") == ["true"]
    assert values(unit, "Install", "WantedBy") == ["timers.target"]


def test_peer_unit_runs_the_agreed_command():
    unit = parse_unit(DEPLOY / "systemd" / "modemcert-peer.service")
    [start] = values(unit, "Service", "ExecStart")
    assert start.endswith(PEER_COMMAND)
    assert values(unit, "Service", "Restart") == ["on-failure"]
    assert values(unit, "Service", "LoadCredential") == ["peer-token:/etc/modemcert/peer-token"]
    assert values(unit, "Install", "WantedBy") == ["multi-user.target"]


RULE_TOKEN = re.compile(r'\s*[A-Z_]+(\{[^}]+\})?\s*(==|!=|\+=|:=|=)\s*"[^"]*"\s*')


def test_udev_rules_are_well_formed_and_keep_modemmanager_off():
    rules = [
        line
        for line in (DEPLOY / "udev" / "99-modemcert.rules").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(rules) >= 2
    for rule in rules:
        for token in rule.split(","):
            assert RULE_TOKEN.fullmatch(token), f"bad token {token!r} in {rule!r}"
        if 'SUBSYSTEM=="tty"' in rule:
            assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in rule and 'GROUP="dialout"' in rule
    assert any('ATTR{latency_timer}="1"' in r and "ftdi_sio" in r for r in rules)
    assert any('SYMLINK+="modem-m95"' in r and "ATTRS{serial}" in r for r in rules)
    assert any('KERNEL=="ttyAMA0"' in r for r in rules)


def test_workflow_shape():
    text = WORKFLOW.read_text()
    assert "\t" not in text
    for n, line in enumerate(text.splitlines(), 1):
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"nightly.yml:{n}: odd indentation"
    assert re.search(r"^on:\n  schedule:\n    - cron: ", text, re.M)
    assert text.count("runs-on: [self-hosted,") == 2
    rigs = re.search(r"^\s+rig: \[([^\]]+)\]", text, re.M).group(1).split(", ")
    assert "sim" in rigs and len(rigs) >= 2
    for rig in rigs:
        load_rig(rig)  # every rig of the matrix is a real rig file
    for action in re.findall(r"uses: ([^\s]+)", text):
        assert re.fullmatch(r"actions/[a-z-]+@v\d+", action), action
    assert "merge-multiple: true" in text and "actions/upload-artifact@v4" in text
    assert "MODEMCERT_ALLURE_HISTORY" in text and "--config allurerc.mjs" in text
    assert (ROOT / "allurerc.mjs").is_file()


def test_wiring_table_matches_the_rig_files():
    """docs/nightly.md's BCM numbers are those of rigs/pi-m95.toml and the simulated HAT."""
    doc = (ROOT / "docs" / "nightly.md").read_text()
    table = dict(
        re.findall(r"^\| (PWRKEY|EMERG_OFF|STATUS|SUPPLY)[^|]* \| BCM (\d+) \|", doc, re.M)
    )
    assert set(table) == {"PWRKEY", "EMERG_OFF", "STATUS", "SUPPLY"}
    for rig_name in ("pi-m95", "sim"):
        rig = load_rig(rig_name)
        for name, line in rig.gpio.lines().items():
            assert int(table[name.upper()]) == line.pin, (rig_name, name)
            assert line.polarity == "active-high"
    assert "2.8 V" in doc and "/dev/serial0" in doc


# -- deploy/check_kit.py ----------------------------------------------------------------------
def check_kit(root: Path) -> tuple[int, dict[str, str]]:
    """Run the kit linter on a tree; (exit status, {check: status})."""
    done = subprocess.run(
        [sys.executable, str(CHECK_KIT), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = {}
    for line in done.stdout.splitlines():
        m = re.match(r"\[\s*(ok|FAIL|skip)\s*\] (.+?)\s{2,}", line + "  ")
        if m:
            lines[m.group(2).strip()] = m.group(1)
    return done.returncode, lines


def test_check_kit_passes_on_the_kit():
    status, lines = check_kit(ROOT)
    assert status == 0, lines
    assert "FAIL" not in lines.values()
    assert lines["nightly.env readable by its user"] == "ok"
    assert lines["workflow safety rules"] == "ok"


@pytest.fixture
def kit_copy(tmp_path):
    """deploy/ and docs/ copied, so that a test can break one thing in them."""
    for name in ("deploy", "docs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("where", "old", "new", "check"),
    [
        (
            "deploy/systemd/modemcert-nightly@.service",
            "time-sync.target modemcert-peer-tunnel.service\nAfter",
            "time-sync.target\nAfter",
            "nightly unit dependencies",
        ),
        (
            "docs/nightly.md",
            "sudo install -d -m 750 -g modemcert /etc/modemcert",
            "sudo install -d -m 750 /etc/modemcert",
            "nightly.env readable by its user",
        ),
        (
            "deploy/systemd/nightly.env.example",
            "MODEMCERT_PEER_TOKEN=\n",
            "MODEMCERT_PEER_TOKEN=change-me\n",
            "nightly.env.example",
        ),
        (
            "deploy/github/nightly.yml",
            "run: exec .venv/bin/modemcert run",
            "run: .venv/bin/modemcert run",
            "workflow safety rules",
        ),
        (
            "deploy/systemd/modemcert-peer.service",
            "LoadCredential=peer-token:/etc/modemcert/peer-token\n",
            "",
            "peer token handed over",
        ),
        (
            "docs/nightly.md",
            "systemctl enable systemd-time-wait-sync.service",
            "systemctl enable chrony",
            "real time before the run",
        ),
    ],
)
def test_check_kit_names_what_broke(kit_copy, where, old, new, check):
    edit(kit_copy / where, old, new)
    status, lines = check_kit(kit_copy)
    assert status == 1 and lines[check] == "FAIL", lines
    assert [name for name, s in lines.items() if s == "FAIL"] == [check]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_check_kit_reports_what_systemd_analyze_warns_about(kit_copy):
    edit(kit_copy / "deploy/systemd/modemcert-nightly@.timer", "Persistent=true", "Persistant=true")
    status, lines = check_kit(kit_copy)
    assert status == 1 and lines["systemd-analyze verify"] == "FAIL"


# -- deploy/nightly.sh with a stand-in modemcert ------------------------------------------------
STUB = r"""#!/usr/bin/env bash
# A stand-in for `modemcert`: logs its arguments, does what STUB_* ask.
echo "$*" >> "$STUB_LOG"
sub=$1; shift
case $sub in
  doctor) exit "${STUB_DOCTOR:-0}" ;;
  run)
    rig=sim; reports=reports
    while [ $# -gt 0 ]; do
      case $1 in --rig) rig=$2; shift ;; --reports-dir) reports=$2; shift ;; esac; shift
    done
    id="$STUB_RUN_ID-$rig"
    mkdir -p "$reports/$id"
    printf '{"format": "modemcert-timings/1", "run": {"id": "%s", "rig": "%s"}, ' "$id" "$rig" \
      > "$reports/$id/timings.json"
    printf '"module": {}, "timings": [], "tests": []}' >> "$reports/$id/timings.json"
    head -c "${STUB_RUN_BYTES:-1000}" /dev/zero > "$reports/$id/uart.jsonl"
    ln -sfn "$id" "$reports/latest"
    exit "${STUB_RUN:-0}" ;;
  report) exit 0 ;;
  compare) exit "${STUB_COMPARE:-0}" ;;
esac
exit 2
"""


@pytest.fixture
def night(tmp_path):
    """night(run_id, **STUB) runs deploy/nightly.sh sim once; returns (exit, log, notes)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "modemcert"
    stub.write_text(STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    python = bin_dir / "python"  # a wrapper: a symlink would lose the virtual environment
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    reports, log, notes = tmp_path / "reports", tmp_path / "calls.log", tmp_path / "notes.log"

    def run(run_id: str, **stub: str) -> tuple[int, list[str], list[dict]]:
        env = {
            **os.environ,
            "MODEMCERT_ROOT": str(ROOT),
            "MODEMCERT_BIN": str(bin_dir),
            "MODEMCERT_REPORTS": str(reports),
            "MODEMCERT_TIME_WAIT": "0",
            "MODEMCERT_KEEP": stub.pop("keep", "30"),
            "MODEMCERT_KEEP_MB": stub.pop("keep_mb", "2000"),
            "MODEMCERT_NOTIFY_COMMAND": (
                f"{sys.executable} -c 'import json, os; print(json.dumps({{k: v for k, v in "
                f'os.environ.items() if k.startswith("MODEMCERT_")}}))\' >> {notes}'
            ),
            "STUB_LOG": str(log),
            "STUB_RUN_ID": run_id,
            **{f"STUB_{k.upper()}": v for k, v in stub.items()},
        }
        done = subprocess.run(
            ["bash", str(NIGHTLY), "sim"], env=env, capture_output=True, text=True, timeout=120
        )
        run.output = done.stdout + done.stderr
        calls = log.read_text().splitlines() if log.exists() else []
        told = (
            [json.loads(line) for line in notes.read_text().splitlines()] if notes.exists() else []
        )
        return done.returncode, calls, told

    run.reports = reports
    return run


def test_a_good_first_night_exits_0_and_tells(night):
    status, calls, told = night("20261201-023000")
    assert status == 0
    assert [c.split()[0] for c in calls] == ["doctor", "run", "report", "report"]  # no compare
    assert told[-1]["MODEMCERT_EXIT"] == "0" and told[-1]["MODEMCERT_RIG"] == "sim"
    assert told[-1]["MODEMCERT_RUN_DIR"].endswith("20261201-023000-sim")


def test_the_second_night_is_compared_and_a_regression_exits_5(night):
    night("20261201-023000")
    status, calls, told = night("20261202-023000", compare="1")
    assert status == 5
    assert "compare 20261201-023000-sim 20261202-023000-sim --lang en" in " ".join(calls)
    assert "regressed against 20261201-023000-sim" in told[-1]["MODEMCERT_SUMMARY"]
    assert told[-1]["MODEMCERT_PREVIOUS"] == "20261201-023000-sim"


@pytest.mark.parametrize(("run_exit", "night_exit"), [(1, 1), (2, 2), (3, 3), (4, 4), (137, 4)])
def test_the_run_outcome_is_the_nights_exit(night, run_exit, night_exit):
    status, _, told = night("20261201-023000", run=str(run_exit))
    assert status == night_exit and told[-1]["MODEMCERT_EXIT"] == str(night_exit)


def test_a_doctor_failure_stops_the_night_with_3_and_one_line(night):
    status, calls, told = night("20261201-023000", doctor="3")
    assert status == 3 and [c.split()[0] for c in calls] == ["doctor"]
    assert "doctor" in told[-1]["MODEMCERT_SUMMARY"]


def test_runs_are_pruned_by_count_and_by_size(night):
    for day in range(1, 5):
        night(f"2026120{day}-023000", keep="3")
    names = sorted(p.name for p in night.reports.iterdir() if p.name != "latest")
    assert names == [f"2026120{d}-023000-sim" for d in (2, 3, 4)]  # 3 kept per rig
    for day in (5, 6, 7):
        night(f"2026120{day}-023000", keep="30", keep_mb="1.5", run_bytes=str(700 * 1024))
    names = sorted(p.name for p in night.reports.iterdir() if p.name != "latest")
    # nights 5–7 are ~0.7 MB each: the oldest runs go until the rest fit in 1.5 MB
    assert names == ["20261206-023000-sim", "20261207-023000-sim"]
