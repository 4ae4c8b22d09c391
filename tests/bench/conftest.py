"""Helpers for the bench tests: run a bench script's quick version, read its table and last line.

The bench tests check correctness only (the last line's format, finite numbers, that the
measured thing happened), never timing: CI machines are too noisy for that.
"""

from __future__ import annotations

import importlib.util
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
#: Wall seconds a quick bench run may take before the test gives up on it.
RUN_WALL = 120.0
#: `<figure>: <value> (target <op> <target>) MET|MISSED`
VERDICT = re.compile(
    r"^(?P<figure>[^:]+): (?P<value>\S+) \(target (?P<op><=|>=|==|<|>) (?P<target>\S+)\) "
    r"(?P<verdict>MET|MISSED)$"
)


@dataclass(frozen=True)
class Verdict:
    figure: str
    value: float
    op: str
    target: float
    met: bool

    def agrees(self) -> bool:
        """MET exactly when the value satisfies the target."""
        ops = {
            "<=": float.__le__,
            ">=": float.__ge__,
            "==": float.__eq__,
            "<": float.__lt__,
            ">": float.__gt__,
        }
        return math.isfinite(self.value) and ops[self.op](self.value, self.target) == self.met


@dataclass(frozen=True)
class BenchRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.rstrip("\n").splitlines()

    def verdicts(self) -> list[Verdict]:
        return [v for v in (parse_verdict(line) for line in self.lines) if v is not None]

    def last(self) -> Verdict:
        """The last line as a verdict; AssertionError if it is not one."""
        verdict = parse_verdict(self.lines[-1]) if self.lines else None
        assert verdict is not None, f"last line is not a verdict: {self.lines[-1:]}\n{self.stderr}"
        return verdict

    def row(self, first: str) -> list[str]:
        """The table row whose first column is `first`, split on runs of 2+ spaces."""
        for line in self.lines:
            cells = re.split(r"\s{2,}", line.strip())
            if cells and cells[0] == first:
                return cells
        raise AssertionError(f"no table row {first!r} in:\n{self.stdout}")


def parse_verdict(line: str) -> Verdict | None:
    m = VERDICT.match(line)
    if m is None:
        return None
    return Verdict(
        m["figure"], float(m["value"]), m["op"], float(m["target"]), m["verdict"] == "MET"
    )


def run_bench(script: str, *args: str) -> BenchRun:
    """Run `bench/<script>` with `args` in a fresh interpreter (as CI and people do)."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=RUN_WALL,
        cwd=BENCH.parent,
        check=False,
    )
    return BenchRun(done.returncode, done.stdout, done.stderr)


def load_bench(name: str) -> ModuleType:
    """Import `bench/<name>.py` in-process (with `_common`, which the scripts import by name)."""
    for module, path in (("_common", BENCH / "_common.py"), (name, BENCH / f"{name}.py")):
        if module in sys.modules and getattr(sys.modules[module], "__file__", None) == str(path):
            continue
        spec = importlib.util.spec_from_file_location(module, path)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[module] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules[name]


def assert_user_error(done: BenchRun, *words: str) -> None:
    """Bad input: exit status 2, a message naming the problem, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.fixture
def bench():
    """`bench(script, *args) -> BenchRun`: run a bench script in a fresh interpreter."""
    return run_bench


@pytest.fixture
def bench_module():
    """`bench_module(name) -> module`: import bench/<name>.py in-process."""
    return load_bench


@pytest.fixture
def verdict():
    """`verdict(line) -> Verdict | None`: read a verdict line."""
    return parse_verdict


@pytest.fixture
def user_error():
    """`user_error(run, *words)`: assert a clean one-line refusal of bad input."""
    return assert_user_error


#: Wall seconds a quick bench run may take before pytest-timeout stops it (a last resort).
BENCH_TIMEOUT = 240


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.parent == Path(__file__).parent and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(BENCH_TIMEOUT, method="signal"))
