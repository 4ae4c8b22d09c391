"""`modemcert doctor --rig R`: the rig's checklist, one line per piece with a fix hint.

Exit status (harness.errors.ExitCode): 0 ready, 2 the rig file is wrong, 3 the rig cannot
certify (a line says FAIL). The nightly runs it before the certification.
"""

from __future__ import annotations

import argparse
import sys

from harness.errors import ExitCode
from harness.rig import RigError, load_rig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rig", default="sim", help="rig file path or name in rigs/ (default: sim)"
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="the rig's state directory (default: the rig file's state_dir)",
    )
    parser.add_argument(
        "--no-module",
        action="store_true",
        help="check the rig only (port, GPIO, peer, disk): do not power or talk to the module",
    )


def main(args: argparse.Namespace) -> int:
    from harness import doctor

    try:
        rig = load_rig(args.rig)
    except RigError as e:
        print(f"modemcert doctor: rig error: {e}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"modemcert doctor: rig {rig.name!r} ({rig.file})", flush=True)
    report = doctor.run(
        rig,
        module=not args.no_module,
        state_dir=args.state_dir,
        say=lambda c: print(c.line(), flush=True),
    )
    if report.failed:
        names = ", ".join(c.name for c in report.failed)
        print(f"{len(report.failed)} check(s) failed ({names}): the rig cannot certify until fixed")
    else:
        print("ready: every check passed")
    return int(report.exit_code())
