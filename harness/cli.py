"""The `modemcert` command: run, sim, peer, report, compare, clauses.

Each subcommand lives in its own module with `add_arguments(parser)` and `main(args) -> int`;
this file only dispatches, importing the one module asked for.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from harness import __version__

#: name → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("harness.runner", "run the certification suites on a rig and write a report"),
    "sim": ("harness.sim.cli", "run a simulated M95 on a pseudo-terminal"),
    "peer": ("harness.peer.cli", "run the peer server (the module's far end)"),
    "report": ("harness.report.cli", "write the HTML report or certificate of a run"),
    "compare": ("harness.report.compare_cli", "supplier regression report between two runs"),
    "clauses": ("harness.report.matrix", "print the clause traceability matrix"),
}


def _parser(argv: list[str]) -> tuple[argparse.ArgumentParser, object | None]:
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
            module = importlib.import_module(modname)
            module.add_arguments(p)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, module = _parser(argv)
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
