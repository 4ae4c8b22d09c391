"""The wall around the peer: it imports only harness.clock, harness.errors and the stdlib, so it
runs alone."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import harness.peer

PACKAGE = Path(harness.peer.__file__).parent
ALLOWED = ("harness.clock", "harness.errors", "harness.peer")


def test_every_import_is_stdlib_clock_or_peer():
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                ok = top in sys.stdlib_module_names or top == "__future__"
                ok = ok or any(name == a or name.startswith(a + ".") for a in ALLOWED)
                assert ok, f"{path.name} imports {name}"


def test_the_cli_loads_nothing_else_of_harness():
    code = (
        "import json, sys, harness.peer.cli; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('harness'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parents[1],
    ).stdout
    loaded = json.loads(out)
    assert [m for m in loaded if not m.startswith(ALLOWED)] == ["harness"]
