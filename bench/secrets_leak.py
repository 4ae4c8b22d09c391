"""Secrets planted in every secret field of a rig: how often do they show in a run's outputs?

    .venv/bin/python bench/secrets_leak.py [--suite S ...] [--quick]

Writes a sim rig whose APN user, APN password (from an environment variable) and peer token
are distinctive strings, runs `modemcert run` on it (the whole certification by default; a
test that fails on purpose quoting the credentials is added, so failure messages are covered
too), then scans every file of the run directory and the console output for each secret,
plain and hex-encoded (upper and lower case), and for the simulated module's full IMEI and
ICCID. The figure is the number of occurrences found.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import run, table, verdict_line

from harness.sim.profile import Profile

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "network.user": "bench-user-7QXK",
    "network.password_env": "bench-pw-M4RZ9T",
    "peer.token": "bench-token-H2VC8NPL5Q",
}
FAILING = """
import pytest

@pytest.mark.clause("INIT-APN")
def test_a_failure_quoting_the_credentials(at, station):
    apn, user, password = station.rig.network.credentials()
    reply = at.command(f'AT+QICSGP=1,"{apn}","{user}","{password}"')
    assert reply.final == "ERROR", f"deliberate: {reply.command} answered {reply.final}"
"""


def rig_text(state: Path) -> str:
    text = (ROOT / "rigs" / "sim.toml").read_text()
    text = text.replace('state_dir = ".modemcert/state/sim"', f'state_dir = "{state}"')
    text = text.replace(
        '[network]\napn = "CMNET"',
        f'[network]\napn = "CMNET"\nuser = "{SECRETS["network.user"]}"\n'
        'password_env = "MODEMCERT_BENCH_PASSWORD"',
    )
    return text.replace("[peer]\n", f'[peer]\ntoken = "{SECRETS["peer.token"]}"\n', 1)


def occurrences(secret: str, console: str, run_dir: Path) -> list[str]:
    raw = secret.encode()
    forms = {raw, raw.hex().encode(), raw.hex().upper().encode()}
    found = [f"console ({console.count(secret)}x)"] if secret in console else []
    for path in sorted(run_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            n = sum(data.count(f) for f in forms)
            if n:
                found.append(f"{path.relative_to(run_dir)} ({n}x)")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", action="append", default=[], help="a suite (default: all)")
    p.add_argument("--quick", action="store_true", help="the pdp and close suites only")
    args = p.parse_args(argv)
    suites = ["pdp", "close"] if args.quick and not args.suite else args.suite
    with tempfile.TemporaryDirectory(prefix="secrets-") as tmp:
        folder = Path(tmp)
        rig = folder / "secret-rig.toml"
        rig.write_text(rig_text(folder / "state"))
        failing = folder / "test_quotes_credentials.py"
        failing.write_text(FAILING)
        cmd = [sys.executable, "-m", "harness.cli", "run", "--rig", str(rig), "-v"]
        cmd += ["--reports-dir", str(folder / "reports"), "--suite", str(failing)]
        for suite in suites or [str(ROOT / "suites")]:
            cmd += ["--suite", suite]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env["MODEMCERT_BENCH_PASSWORD"] = SECRETS["network.password_env"]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        console = done.stdout + done.stderr
        runs = [d for d in (folder / "reports").iterdir() if d.is_dir() and not d.is_symlink()]
        if len(runs) != 1 or "test_a_failure_quoting_the_credentials" not in console:
            print(console[-3000:])
            print("secret-occurrences: nan (the run did not happen) (target <= 0) MISSED")
            return 1
        run_dir = runs[0]
        files = sum(1 for f in run_dir.rglob("*") if f.is_file())
        profile = Profile.m95()
        checks = {**SECRETS, "module IMEI (full)": profile.imei, "SIM ICCID (full)": profile.iccid}
        rows, total = [], 0
        for field, secret in checks.items():
            where = occurrences(secret, console, run_dir)
            total += len(where)
            rows.append([field, secret, len(where), "; ".join(where)[:80] or "-"])
    print(f"run exit {done.returncode}; {files} files in the run directory scanned")
    print(table(["field", "planted", "places", "where"], rows))
    print(verdict_line("secret-occurrences", total, "<=", 0, digits=0))
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(run(main))
