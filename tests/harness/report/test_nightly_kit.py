"""The nightly CI kit in deploy/: units, udev rules and workflow are well-formed, and every
`modemcert` command they run is one the command line accepts."""

import argparse
import importlib
import re
import shlex
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
PEER_COMMAND = (
    "modemcert peer --listen 0.0.0.0:7007 --control 127.0.0.1:7008 "
    "--token-file /etc/modemcert/peer.token"
)
#: Values for the placeholders the files use, to parse their command lines.
PLACEHOLDERS = {
    "%i": "pi-m95",
    "${MODEMCERT_KEEP}": "30",
    '"$MODEMCERT_KEEP"': "30",
    "${{ matrix.rig }}": "sim",
    '"$old"': "20261122-181200-sim",
    '"$new"': "20261123-181200-sim",
}


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as {section: [(key, value), ...]}; keys may repeat (ExecStopPost)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"{path.name}:{n}: bad section header"
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}:{n}: key outside a section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", key.strip()), f"{path.name}:{n}: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def modemcert_argv(command: str) -> list[str]:
    """`/opt/.../modemcert report --prune ${MODEMCERT_KEEP}` → ["report", "--prune", "30"]."""
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    words = shlex.split(command)
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


def test_nightly_service_reports_and_prunes_whatever_the_run_says():
    unit = parse_unit(DEPLOY / "systemd" / "modemcert-nightly@.service")
    assert values(unit, "Service", "Type") == ["oneshot"]
    assert modemcert_argv(values(unit, "Service", "ExecStart")[0]) == ["run", "--rig", "pi-m95"]
    post = [modemcert_argv(v) for v in values(unit, "Service", "ExecStopPost")]
    assert ["report"] in post and ["report", "--certificate"] in post
    assert ["report", "--prune", "30"] in post
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
        assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in rule and 'GROUP="dialout"' in rule
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
