"""Fuzz the codec and the channel: every hypothesis property of tests/harness/test_protocol_props.py
(`PROPERTIES`) under the `fuzz` profile of tests/conftest.py, ≥ 100k examples in total.

Reports examples run, hangs (an example over HANG_WALL seconds), untyped exceptions (anything
but an assertion or the codec's/channel's own errors) and misattributed lines (a property's
assertion: a reply, block or URC that came out wrong). The test files are loaded by path, so
the properties are the very ones CI runs.

    python bench/fuzz.py [--examples 100000] [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from _common import positive, run, table, verdict_line
from hypothesis import settings
from hypothesis.errors import UnsatisfiedAssumption

from harness.at import ChannelError
from harness.clock import stamp
from harness.protocol import ProtocolError
from harness.transport import TransportError

TESTS = Path(__file__).resolve().parent.parent / "tests"
PROPS_FILE = TESTS / "harness" / "test_protocol_props.py"
TARGET_EXAMPLES = 100_000
QUICK_EXAMPLES = 800
#: Wall seconds one example may take before it counts as a hang (the slowest, a whole channel
#: exchange, takes milliseconds).
HANG_WALL = 5.0
#: The codec's and channel's own exception types: a property may meet them without a bug.
TYPED = (ProtocolError, ChannelError, TransportError)


class Hang(Exception):
    """An example ran longer than HANG_WALL seconds."""


@dataclass
class Outcome:
    """One property's run: examples tried and the failures hypothesis ended with."""

    name: str
    examples: int = 0
    rejected: int = 0
    seconds: float = 0.0
    hangs: int = 0
    untyped: list[str] = field(default_factory=list)
    misattributed: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return self.hangs + len(self.untyped) + len(self.misattributed) + len(self.typed)


# -- loading the properties ---------------------------------------------------------------------
def _load(name: str, path: Path) -> ModuleType:
    """Import a test file by path under `name` (the properties import their helpers by name);
    a module already loaded from that very file (pytest's own) is reused."""
    known = sys.modules.get(name)
    if known is not None and getattr(known, "__file__", None) == str(path):
        return known
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_properties() -> tuple[Callable[..., None], ...]:
    """The profiles (tests/conftest.py) and PROPERTIES, loaded afresh: `fuzz()` rewraps them."""
    _load("_modemcert_tests_conftest", TESTS / "conftest.py")
    for helper in ("_at_cases", "_at_seeds", "_at_checks", "_at_strategies"):  # in their order
        _load(helper, TESTS / "harness" / f"{helper}.py")
    sys.modules.pop("_modemcert_protocol_props", None)
    props = _load("_modemcert_protocol_props", PROPS_FILE)
    return tuple(props.PROPERTIES)


# -- running one ----------------------------------------------------------------------------
@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Raise Hang in this (main) thread if the block runs longer than `seconds` wall seconds."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise Hang(f"example still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def counted(inner: Callable[..., None], outcome: Outcome) -> Callable[..., None]:
    """`inner` with a hang watchdog, counting examples run and rejected."""

    def example(*args: object, **kwargs: object) -> None:
        try:
            with watchdog(HANG_WALL):
                inner(*args, **kwargs)
        except UnsatisfiedAssumption:
            outcome.rejected += 1
            raise
        outcome.examples += 1

    return example


def classify(error: BaseException, outcome: Outcome) -> None:
    """Sort the failure(s) hypothesis ended with."""
    if isinstance(error, BaseExceptionGroup):
        for sub in error.exceptions:
            classify(sub, outcome)
        return
    text = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    if isinstance(error, Hang):
        outcome.hangs += 1
    elif isinstance(error, AssertionError):
        outcome.misattributed.append(text)
    elif isinstance(error, TYPED):
        outcome.typed.append(text)
    else:
        outcome.untyped.append(text)


def fuzz(prop: Callable[..., None], examples: int, seed: int | None) -> Outcome:
    """Run one property for `examples` examples under the fuzz profile."""
    outcome = Outcome(prop.__name__.removeprefix("test_"))
    prop.hypothesis.inner_test = counted(prop.hypothesis.inner_test, outcome)  # type: ignore[attr-defined]
    configured = settings(settings.get_profile("fuzz"), max_examples=examples, database=None)
    test = configured(prop)
    if seed is not None:
        from hypothesis import seed as fix_seed

        test = fix_seed(seed)(test)
    crashed: set[str] = set()  # the channel's reader thread turns a crash into PortClosed

    def thread_crash(args: threading.ExceptHookArgs) -> None:
        crashed.add(
            f"{args.exc_type.__name__} in thread {args.thread.name if args.thread else '?'}"
        )

    hook, threading.excepthook = threading.excepthook, thread_crash
    start = stamp()
    try:
        test()
    except Exception as error:  # every failure is a finding to sort and count
        classify(error, outcome)
    finally:
        threading.excepthook = hook
    outcome.seconds = (stamp() - start) / 1e9
    outcome.untyped += sorted(crashed)
    return outcome


# -- the script -----------------------------------------------------------------------------
def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--examples", type=positive(int), default=TARGET_EXAMPLES, help="examples in total"
    )
    p.add_argument("--seed", type=int, default=None, help="fix hypothesis's random seed")
    p.add_argument("--quick", action="store_true", help=f"a short run ({QUICK_EXAMPLES} examples)")
    args = p.parse_args(argv)
    if args.quick:
        args.examples = QUICK_EXAMPLES
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    properties = load_properties()
    each = math.ceil(args.examples / len(properties))
    outcomes = [fuzz(prop, each, args.seed) for prop in properties]
    rows = [
        (
            o.name,
            o.examples,
            o.rejected,
            o.seconds,
            o.hangs,
            len(o.untyped),
            len(o.misattributed),
            len(o.typed),
        )
        for o in outcomes
    ]
    total = sum(o.examples for o in outcomes)
    hangs = sum(o.hangs for o in outcomes)
    untyped = sum(len(o.untyped) for o in outcomes)
    misattributed = sum(len(o.misattributed) for o in outcomes)
    typed = sum(len(o.typed) for o in outcomes)
    seconds = sum(o.seconds for o in outcomes)
    rejected = sum(o.rejected for o in outcomes)
    rows.append(("total", total, rejected, seconds, hangs, untyped, misattributed, typed))
    print(
        table(
            (
                "property",
                "examples",
                "rejected",
                "seconds",
                "hangs",
                "untyped",
                "misattributed",
                "typed",
            ),
            rows,
        )
    )
    for o in outcomes:
        for text in (*o.untyped, *o.misattributed, *o.typed):
            print(f"  {o.name}: {text}")
    print()
    print(verdict_line("examples run", total, ">=", each * len(properties), digits=0))
    failures = hangs + untyped + misattributed + typed
    print(
        verdict_line(
            "hangs + untyped exceptions + misattributed lines", failures, "<=", 0, digits=0
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
