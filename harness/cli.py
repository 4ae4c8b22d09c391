"""The `modemcert` command: run, sim, peer, report, compare, clauses, trend, doctor, power.

Each subcommand lives in its own module with `add_arguments(parser)` and `main(args) -> int`;
this file only dispatches, importing the one module asked for.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from harness import __version__

#: name → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("harness.runner", "run the certification suites on a rig and write a report"),
    "sim": ("harness.sim.cli", "run a simulated M95 on a pseudo-terminal"),
    "peer": ("harness.peer.cli", "run the peer server (the module's far end)"),
    "report": ("harness.report.cli", "write the HTML report or certificate of a run"),
    "compare": ("harness.report.compare_cli", "supplier regression report between two runs"),
    "clauses": ("harness.report.matrix", "print the clause traceability matrix"),
    "trend": ("harness.report.trend", "timings and verdicts across runs (HTML with plots, CSV)"),
    "doctor": ("harness.doctor_cli", "check a rig, one line per piece, before a run"),
    "power": ("harness.power_cli", "switch the module on or off, or read its state (bench, CI)"),
}


class SubcommandUnavailable(Exception):
    """The subcommand's module, or a package it needs, is not installed here."""


def _import(name: str, modname: str) -> ModuleType:
    """The subcommand's module; a missing module or package is one clear error, not a traceback."""
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing == modname or modname.startswith(missing + "."):
            raise SubcommandUnavailable(
                f"modemcert {name}: not available in this installation ({modname} is missing); "
                "update or reinstall modemcert"
            ) from None
        if missing.partition(".")[0] in ("harness", "fixtures"):
            raise  # our own module is missing: a broken tree, the traceback helps
        raise SubcommandUnavailable(
            f"modemcert {name}: needs the Python module {missing!r}, which is not installed; "
            "install modemcert's dependencies (pip install -e .) and try again"
        ) from None


def _parser(argv: list[str]) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    parser = argparse.ArgumentParser(
        prog="modemcert",
        description="Certify a Quectel GSM module against the GSM TCPIP Recommended Process.",
    )
    parser.add_argument("--version", action="version", version=f"modemcert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = None
    for name, (modname, help_) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            module = _import(name, modname)
            module.add_arguments(p)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, module = _parser(argv)
    except SubcommandUnavailable as e:
        print(e, file=sys.stderr)
        return 1
    if module is not None and getattr(module, "PASSTHROUGH", False):
        # `modemcert run ... [pytest args]`: unknown options go on to pytest.
        args, extra = parser.parse_known_args(argv)
        args.extra = extra
    else:
        args = parser.parse_args(argv)
    if module is None:
        parser.print_help()
        return 2
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        print("modemcert: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
