"""Lint the nightly kit in deploy/ the way a Pi would run it: units, workflow, script, docs.

    python deploy/check_kit.py [--root DIR]

Checks, each one line (`ok`, `FAIL`, or `skip` when a tool is missing here):
- every systemd unit with `systemd-analyze verify` (where installed), the template instantiated
  and /opt/modemcert mapped to this checkout; any warning it prints is a failure;
- the nightly unit starts after the peer tunnel and real time, runs deploy/nightly.sh, and
  reads /etc/modemcert/nightly.env, which docs/nightly.md installs readable by its user;
- the peer unit hands the root-only token over with LoadCredential, under the file name
  docs/peer.md and docs/nightly.md use;
- nightly.env.example ships no token the peer would refuse, and the notify settings;
- the GitHub workflow against the GitHub-workflow JSON schema (check-jsonschema, in .[dev]),
  and its safety rules: doctor first, `exec` for the run, a `cancelled()` power-off step;
- deploy/nightly.sh parses (`bash -n`) and is executable.
Exit status 0 when nothing failed, 1 otherwise. tests/harness/report/test_nightly_kit.py runs
it in CI.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

INSTALL_ROOT = "/opt/modemcert"
NIGHTLY_USER = "modemcert"
ENV_FILE = "/etc/modemcert/nightly.env"
TOKEN_FILE = "/etc/modemcert/peer-token"
MIN_TOKEN = 16  # harness/peer/auth.py MIN_TOKEN_LENGTH


class Kit:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.deploy = root / "deploy"
        self.results: list[tuple[str, str, str]] = []

    def check(self, name: str, fn: Callable[[], str | None]) -> None:
        """Run one check: it returns a note (ok), raises Skip, or raises AssertionError."""
        try:
            note = fn() or ""
            self.results.append(("ok", name, note))
        except Skip as e:
            self.results.append(("skip", name, str(e)))
        except (AssertionError, OSError, ValueError, subprocess.SubprocessError) as e:
            self.results.append(("FAIL", name, str(e) or type(e).__name__))

    @property
    def failed(self) -> bool:
        return any(status == "FAIL" for status, _, _ in self.results)

    # -- helpers -------------------------------------------------------------------------------
    def unit(self, name: str) -> dict[str, list[tuple[str, str]]]:
        return parse_unit(self.deploy / "systemd" / name)

    def doc(self, name: str) -> str:
        return (self.root / "docs" / name).read_text(encoding="utf-8")


class Skip(Exception):
    """The tool this check needs is not installed here."""


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as {section: [(key, value), ...]}; keys may repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
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


def values(unit: dict, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def words(unit: dict, section: str, key: str) -> list[str]:
    return [w for v in values(unit, section, key) for w in v.split()]


# -- systemd ------------------------------------------------------------------------------------
def verify_units(kit: Kit) -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        raise Skip("systemd-analyze is not installed here")
    units = sorted((kit.deploy / "systemd").glob("*.service")) + sorted(
        (kit.deploy / "systemd").glob("*.timer")
    )
    missing = set()
    with tempfile.TemporaryDirectory(prefix="modemcert-units-") as tmp:
        names = []
        for path in units:
            text = path.read_text(encoding="utf-8").replace(INSTALL_ROOT, str(kit.root))
            lines = []
            for line in text.splitlines():
                key, sep, value = line.partition("=")
                if sep and key.startswith("Exec") and value.startswith("/"):
                    exe = value.split()[0]
                    if not os.access(exe, os.X_OK):  # ssh on a CI host, the venv before install
                        missing.add(os.path.basename(exe))
                        line = f"{key}=/bin/true{value[len(exe) :]}"
                lines.append(line)
            name = path.name.replace("@.", "@pi-m95.")  # verify an instance of a template
            (Path(tmp) / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
            names.append(name)
        done = subprocess.run(
            [tool, "verify", "--man=no", *names],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
    noise = [
        ln
        for ln in (done.stdout + done.stderr).splitlines()
        if ln.strip() and any(n in ln for n in names)
    ]
    assert done.returncode == 0 and not noise, "; ".join(noise) or f"exit {done.returncode}"
    note = f"{len(names)} units"
    return note + (
        f" (not installed here, stood in for: {', '.join(sorted(missing))})" if missing else ""
    )


def nightly_unit(kit: Kit) -> str:
    unit = kit.unit("modemcert-nightly@.service")
    for key in ("Wants", "After"):
        have = set(words(unit, "Unit", key))
        for need in ("network-online.target", "time-sync.target", "modemcert-peer-tunnel.service"):
            assert need in have, f"[Unit] {key}= lacks {need}"
    [start] = values(unit, "Service", "ExecStart")
    assert start == f"{INSTALL_ROOT}/deploy/nightly.sh %i", f"ExecStart={start}"
    assert values(unit, "Service", "EnvironmentFile") == [ENV_FILE], "EnvironmentFile"
    assert values(unit, "Service", "KillMode") in ([], ["control-group"]), "KillMode"
    assert values(unit, "Service", "User") == [NIGHTLY_USER], "User"
    assert {"dialout", "gpio"} <= set(words(unit, "Service", "SupplementaryGroups"))
    return "after the tunnel and real time; runs deploy/nightly.sh"


def env_readable(kit: Kit) -> str:
    """docs/nightly.md installs /etc/modemcert and nightly.env so the nightly user reads it
    (the Pi's commands: its section "The nightly service"; the VPS has its own)."""
    doc = section(kit.doc("nightly.md"), "## The nightly service")
    commands = [c for c in install_commands(doc) if c["target"].startswith("/etc/modemcert")]
    folder = [c for c in commands if c["dir"] and c["target"] == "/etc/modemcert"]
    env = [c for c in commands if c["target"] == ENV_FILE]
    assert folder, "docs/nightly.md never creates /etc/modemcert with install -d"
    assert env, f"docs/nightly.md never installs {ENV_FILE}"
    for c in folder:
        assert can(c, NIGHTLY_USER, 0o1), (
            f"`{c['text']}`: the {NIGHTLY_USER} user cannot enter /etc/modemcert "
            "(give it -g modemcert and -m 750)"
        )
    for c in env:
        assert can(c, NIGHTLY_USER, 0o4), f"`{c['text']}`: {NIGHTLY_USER} cannot read it"
        assert not int(c["mode"], 8) & 0o007, f"`{c['text']}`: others may read the token"
    return f"{len(folder) + len(env)} install commands give {NIGHTLY_USER} read access"


def section(doc: str, heading: str) -> str:
    start = doc.find(heading)
    assert start >= 0, f"docs/nightly.md has no section {heading!r}"
    end = doc.find("\n## ", start + len(heading))
    return doc[start : end if end >= 0 else len(doc)]


def install_commands(doc: str) -> list[dict]:
    out = []
    for line in doc.splitlines():
        line = line.strip().removeprefix("sudo ").removeprefix("# ")
        if not line.startswith("install "):
            continue
        argv = shlex.split(line.split("#")[0])
        mode, group, owner, is_dir, targets = "755", "root", "root", False, []
        i = 1
        while i < len(argv):
            a = argv[i]
            if a in ("-m", "-g", "-o"):
                value = argv[i + 1]
                if a == "-m":
                    mode = value
                elif a == "-g":
                    group = value
                else:
                    owner = value
                i += 2
                continue
            if a == "-d":
                is_dir = True
            elif not a.startswith("-"):
                targets.append(a)
            i += 1
        if not targets:
            continue
        out.append(
            {
                "text": line,
                "mode": mode,
                "group": group,
                "owner": owner,
                "dir": is_dir,
                "target": targets[-1] if not is_dir else targets[0],
            }
        )
        if not is_dir and len(targets) >= 2 and not targets[-1].endswith("/"):
            out[-1]["target"] = targets[-1]
    return out


def can(cmd: dict, user: str, bit: int) -> bool:
    """Whether `user` (in its own group) gets permission `bit` (4 read, 1 enter) from it."""
    mode = int(cmd["mode"], 8)
    if cmd["owner"] == user:
        return bool(mode & (bit << 6))
    if cmd["group"] == user:
        return bool(mode & (bit << 3))
    return bool(mode & bit)


def peer_credentials(kit: Kit) -> str:
    unit = kit.unit("modemcert-peer.service")
    creds = values(unit, "Service", "LoadCredential")
    assert creds, "the peer unit does not use LoadCredential (its user could not read the token)"
    name, _, source = creds[0].partition(":")
    assert source == TOKEN_FILE, f"LoadCredential reads {source}, docs use {TOKEN_FILE}"
    [start] = values(unit, "Service", "ExecStart")
    assert f"--token-file %d/{name}" in start, f"ExecStart does not read %d/{name}: {start}"
    assert "--control 127.0.0.1:" in start, "the control channel must stay on loopback"
    for doc in ("nightly.md", "peer.md"):
        assert TOKEN_FILE in kit.doc(doc), f"docs/{doc} does not name {TOKEN_FILE}"
    return f"LoadCredential {name} from {TOKEN_FILE}"


def env_example(kit: Kit) -> str:
    text = (kit.deploy / "systemd" / "nightly.env.example").read_text(encoding="utf-8")
    env = dict(
        line.split("=", 1)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#") and "=" in line
    )
    token = env.get("MODEMCERT_PEER_TOKEN")
    assert token is not None, "no MODEMCERT_PEER_TOKEN line"
    assert token == "" or len(token) >= MIN_TOKEN, (
        f"MODEMCERT_PEER_TOKEN is {len(token)} characters: the peer refuses fewer than "
        f"{MIN_TOKEN}; ship it empty so that doctor names it"
    )
    for key in (
        "MODEMCERT_KEEP",
        "MODEMCERT_KEEP_MB",
        "MODEMCERT_NOTIFY_COMMAND",
        "MODEMCERT_NOTIFY_URL",
        "MODEMCERT_PEER_SSH",
    ):
        assert key in env, f"no {key} line"
    return "token empty until set; notify and prune settings present"


def timer(kit: Kit) -> str:
    unit = kit.unit("modemcert-nightly@.timer")
    assert values(unit, "Timer", "Persistent") == ["true"], "Persistent=true (catch up)"
    delay = values(unit, "Timer", "RandomizedDelaySec")
    doc = kit.doc("nightly.md")
    assert "± 15" not in doc, "docs/nightly.md says ± 15 min: RandomizedDelaySec only delays"
    return f"OnCalendar {values(unit, 'Timer', 'OnCalendar')[0]}, delay up to {delay[0]}"


def time_sync(kit: Kit) -> str:
    doc = section(kit.doc("nightly.md"), "## The nightly service")
    assert re.search(r"systemctl enable [^\n]*systemd-time-wait-sync", doc), (
        "docs/nightly.md must enable systemd-time-wait-sync: time-sync.target does not wait "
        "for NTP without it, and PWR-BACKOFF keeps calendar times"
    )
    return "time-sync.target waited for"


# -- the workflow -------------------------------------------------------------------------------
def workflow_schema(kit: Kit) -> str:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        raise Skip("check-jsonschema is not installed (pip install -e '.[dev]')") from None
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(kit.deploy / "github" / "nightly.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.stdout + done.stderr).strip().replace("\n", "; ")
    return "valid against the GitHub workflow schema"


def workflow_rules(kit: Kit) -> str:
    text = (kit.deploy / "github" / "nightly.yml").read_text(encoding="utf-8")
    runs = re.findall(r"^\s+run: (.*modemcert run .*)$", text, re.M)
    assert runs, "no `modemcert run` step"
    for line in runs:
        assert line.startswith("exec "), (
            f"`run: {line}`: without exec a cancel signals only the shell and the harness is "
            "killed ~10 s later without its safe state"
        )
    cancel = re.search(r"if: cancelled\(\)\n(?:\s+[a-z-]+:.*\n)*?\s+run: (.*)", text)
    assert cancel and "modemcert power off" in cancel.group(1), (
        "no `if: cancelled()` step running `modemcert power off`"
    )
    doctor = text.find("modemcert doctor")
    assert 0 <= doctor < text.find(runs[0]), "doctor must run before the certification"
    return "doctor first, exec run, power off when cancelled"


# -- the script ---------------------------------------------------------------------------------
def nightly_script(kit: Kit) -> str:
    script = kit.deploy / "nightly.sh"
    assert os.access(script, os.X_OK), f"{script} is not executable (chmod +x)"
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr.strip()
    tool = shutil.which("shellcheck")
    if tool:
        lint = subprocess.run([tool, str(script)], capture_output=True, text=True, timeout=120)
        assert lint.returncode == 0, lint.stdout.strip().replace("\n", "; ")
    return "bash -n" + (" and shellcheck" if tool else "")


CHECKS: list[tuple[str, Callable[[Kit], str | None]]] = [
    ("systemd-analyze verify", verify_units),
    ("nightly unit dependencies", nightly_unit),
    ("nightly.env readable by its user", env_readable),
    ("peer token handed over", peer_credentials),
    ("nightly.env.example", env_example),
    ("timer", timer),
    ("real time before the run", time_sync),
    ("workflow schema", workflow_schema),
    ("workflow safety rules", workflow_rules),
    ("deploy/nightly.sh", nightly_script),
]


def run(root: Path) -> Kit:
    kit = Kit(root)
    for name, fn in CHECKS:
        kit.check(name, lambda fn=fn: fn(kit))
    return kit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check_kit.py", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    kit = run(args.root.resolve())
    for status, name, note in kit.results:
        print(f"[{status:^4}] {name:<34} {note}")
    return 1 if kit.failed else 0


if __name__ == "__main__":
    sys.exit(main())
