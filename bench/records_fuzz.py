"""Corrupt run records and give each to every reader: report, certificate, compare, clauses, trend.

One realistic run is written the way a run writes it (timings.json through RunRecorder, Allure
results, junit.xml, transcripts); then N copies are damaged 1–3 ways each: a value replaced by
the wrong type, NaN, infinity or an absurd number; a key dropped; the file truncated, flipped,
emptied or nested too deep; an Allure result, junit.xml, the environment or a transcript
broken. Each copy goes through the five commands in-process, as `modemcert <command>` runs
them. Counted per command:

- a traceback: any exception that escapes the command;
- a hang: a command still running after HANG_WALL seconds;
- an unclear error: exit 2 whose message is not one line naming the run's directory or file.

`modemcert clauses` collects suites/ once and reuses that list: collecting is not under test.

    python bench/records_fuzz.py [--records 1000] [--seed N] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from _common import positive, table, verdict_line

from harness.cli import main as modemcert
from harness.limits import QIACT, QICLOSE, QIDEACT, Timing, Verdict
from harness.runrecord import FILENAME, RunRecorder

RECORDS = 1000
QUICK_RECORDS = 40
#: Wall seconds one command may run on one record before it counts as a hang.
HANG_WALL = 30
COMMANDS = ("report", "certificate", "compare", "clauses", "trend")
SUITES = Path(__file__).resolve().parent.parent / "suites"


class Hang(BaseException):
    """A command ran past HANG_WALL (a BaseException, so no `except Exception` swallows it)."""


# -- the run every corruption starts from --------------------------------------------------------
def write_base(run_dir: Path, run_id: str) -> Path:
    """A small but complete run: two commands measured, passing, failing, skipped and
    interrupted tests, Allure results, junit.xml, environment, transcripts."""
    with mock.patch("os.fsync"):
        rec = RunRecorder(
            run_dir,
            {
                "id": run_id,
                "rig": "sim",
                "rig_file": "rigs/sim.toml",
                "time_scale": 0.02,
                "started": "2026-11-22T18:12:00+00:00",
                "finished": None,
                "operator": "bench",
                "harness_version": "0.1.0",
                "host": "bench",
                "status": "running",
                "planned": 5,
                "rig_kind": "sim",
                "sim": {"profile": "m95", "seed": 0, "mutations": []},
                "mutations": [],
            },
        )
        rec.set_module(
            model="Quectel_M95",
            revision="M95FAR02A08",
            firmware="M95FAR03A04",
            imei="861234567890123",
            iccid="89860012345678901234",
        )
        tests = [
            ("suites/test_pdp.py::test_deact", ["PDP-DEACT"], "passed", None, ""),
            ("suites/test_pdp.py::test_act", ["PDP-ACT"], "passed", None, ""),
            ("suites/test_close.py::test_close", ["CLOSE"], "failed", "limit exceeded",
             "AT+QICLOSE: no final answer within 90 s"),
            ("suites/test_power.py::test_on", ["PWR-ON"], "skipped", None, "rig lacks power"),
            ("suites/test_flow.py::test_happy", ["FLOW-HAPPY"], "interrupted", "interrupted",
             "SIGTERM: the test did not finish"),
        ]  # fmt: skip
        for i in range(6):
            rec.add_timing(QIDEACT.check(3.0 + i * 0.2, "AT+QIDEACT"), tests[0][0], 1e9 + i)
            rec.add_timing(QIACT.check(1.5 + i * 0.1, "AT+QIACT"), tests[1][0], 1e9 + 10 + i)
        rec.add_timing(
            QICLOSE.check(90.01, "AT+QICLOSE", note="no final answer"), tests[2][0], 1e9 + 20
        )
        rec.add_timing(
            Timing("PWR-BACKOFF", "back-off before reboot 2 of a streak", 600.0, None, None,
                   Verdict.PASS), None, 1e9 + 30,
        )  # fmt: skip
        (run_dir / "transcripts").mkdir()
        (run_dir / "transcripts" / "close.txt").write_text(
            "    0.100000 tx   AT+QICLOSE\\r\n" + "    0.2 rx   " + "<00><01>" * 400 + "\n"
        )
        allure = run_dir / "allure-results"
        allure.mkdir()
        for n, (nodeid, clauses, outcome, category, message) in enumerate(tests):
            rec.add_test(
                nodeid=nodeid,
                clauses=clauses,
                outcome=outcome,
                category=category,
                message=message,
                duration=0.4,
                transcript="transcripts/close.txt" if outcome == "failed" else None,
            )
            path, name = nodeid.split("::")
            result = {
                "name": name,
                "fullName": f"{path[:-3].replace('/', '.')}#{name}",
                "status": {"failed": "failed", "interrupted": "broken"}.get(outcome, outcome),
                "statusDetails": {"message": message, "trace": "E   boom"},
                "labels": [{"name": "category", "value": category or ""}],
                "start": 1,
                "stop": 2 + n,
            }
            (allure / f"{n:04d}-result.json").write_text(json.dumps(result))
        (allure / "environment.properties").write_text("rig=sim\nmodule.imei=861234567890123\n")
        (run_dir / "junit.xml").write_text(
            '<testsuites><testsuite name="pytest"><testcase classname="suites.test_close" '
            'name="test_close"><failure message="AT+QICLOSE">E</failure></testcase>'
            "</testsuite></testsuites>"
        )
        rec.update_run(finished="2026-11-22T18:20:00+00:00", status="complete")
    return run_dir


# -- corruptions --------------------------------------------------------------------------------
BAD_VALUES: list[object] = [
    None, 12345, -1, 0, 1e308, -1e308, 5e-324, 10**400, True, "", "x", "NaN", "12345", [],
    {}, [1, 2, 3], {"a": 1}, "x" * 5000, [[[[[]]]]], {"measured": "x"}, 3.5, -0.0,
]  # fmt: skip
NON_FINITE = [math.nan, math.inf, -math.inf]


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON tree (keys and list indexes), the root excluded."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _set(tree: object, path: tuple, value: object) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _delete(tree: object, path: tuple) -> None:
    for key in path[:-1]:
        tree = tree[key]
    del tree[path[-1]]


def _deep(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def _dump(data: object) -> str:
    return json.dumps(data, allow_nan=True)


@dataclass
class Damage:
    """What was done to a record (for the table: how many of each kind)."""

    kinds: list[str] = field(default_factory=list)


def corrupt(run_dir: Path, rnd: random.Random, damage: Damage) -> None:
    """Damage one copy of the run 1–3 ways."""
    for _ in range(rnd.randint(1, 3)):
        kind = rnd.choice(KINDS)
        damage.kinds.append(kind.__name__.removeprefix("_"))
        kind(run_dir, rnd)


def _timings(run_dir: Path) -> object:
    try:
        return json.loads((run_dir / FILENAME).read_text())
    except (OSError, ValueError, RecursionError):
        return None


def _wrong_value(run_dir: Path, rnd: random.Random) -> None:
    data = _timings(run_dir)
    paths = _paths(data)
    if not paths:
        return
    value = rnd.choice(BAD_VALUES + NON_FINITE)
    _set(data, rnd.choice(paths), copy.deepcopy(value))
    (run_dir / FILENAME).write_text(_dump(data))


def _non_finite_time(run_dir: Path, rnd: random.Random) -> None:
    data = _timings(run_dir)
    if not isinstance(data, dict) or not isinstance(data.get("timings"), list):
        return
    rows = [r for r in data["timings"] if isinstance(r, dict)]
    if rows:
        row = rnd.choice(rows)
        row[rnd.choice(["measured", "limit", "at"])] = rnd.choice([*NON_FINITE, 1e308, -5.0])
        (run_dir / FILENAME).write_text(_dump(data))


def _dropped_key(run_dir: Path, rnd: random.Random) -> None:
    data = _timings(run_dir)
    paths = [p for p in _paths(data) if isinstance(p[-1], str)]
    if paths:
        _delete(data, rnd.choice(paths))
        (run_dir / FILENAME).write_text(_dump(data))


def _truncated(run_dir: Path, rnd: random.Random) -> None:
    raw = (run_dir / FILENAME).read_bytes()
    (run_dir / FILENAME).write_bytes(raw[: rnd.randrange(len(raw) or 1)])


def _flipped(run_dir: Path, rnd: random.Random) -> None:
    raw = bytearray((run_dir / FILENAME).read_bytes())
    for _ in range(rnd.randint(1, 8)):
        if raw:
            raw[rnd.randrange(len(raw))] = rnd.randrange(256)
    (run_dir / FILENAME).write_bytes(bytes(raw))


def _replaced_file(run_dir: Path, rnd: random.Random) -> None:
    (run_dir / FILENAME).write_bytes(
        rnd.choice(
            [
                b"",
                b"   \n",
                b"null",
                b"[]",
                b'"text"',
                b"\xff\xfe\x00garbage",
                b'{"format": "modemcert-timings/1"}',
                b'{"format": "modemcert-timings/1", "tests": "' + b"x" * 100 + b'"}',
                b'{"format": "modemcert-timings/1", "timings": [1e999, -1e999]}',
                b'{"format": "modemcert-timings/1", "run": {"id": "' + b"9" * 5000 + b'"}}',
                b'{"format": "modemcert-timings/1", "run": {"planned": ' + b"9" * 5000 + b"}}",
            ]
        )
    )


def _nested(run_dir: Path, rnd: random.Random) -> None:
    data = _timings(run_dir)
    paths = _paths(data)
    if paths:
        _set(data, rnd.choice(paths), _deep(rnd.choice([50, 900])))
        try:
            (run_dir / FILENAME).write_text(_dump(data))
        except RecursionError:
            pass
    else:
        (run_dir / FILENAME).write_text("[" * 100_000 + "]" * 100_000)


def _wrong_format(run_dir: Path, rnd: random.Random) -> None:
    data = _timings(run_dir)
    if isinstance(data, dict):
        data["format"] = rnd.choice(["modemcert-timings/2", None, 1, ["x"]])
        (run_dir / FILENAME).write_text(_dump(data))


def _allure_result(run_dir: Path, rnd: random.Random) -> None:
    results = sorted((run_dir / "allure-results").glob("*-result.json"))
    if not results:
        return
    path = rnd.choice(results)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    if rnd.random() < 0.3 or not isinstance(data, dict):
        path.write_bytes(rnd.choice([b"", b"{not json", b"[]", b"\xff\xfe", b"null"]))
        return
    key = rnd.choice(["statusDetails", "status", "name", "fullName", "stop", "labels"])
    data[key] = copy.deepcopy(rnd.choice(BAD_VALUES))
    if key == "statusDetails" and rnd.random() < 0.5:
        data[key] = {"message": rnd.choice(BAD_VALUES), "trace": rnd.choice(BAD_VALUES)}
    path.write_text(_dump(data))


def _junit(run_dir: Path, rnd: random.Random) -> None:
    (run_dir / "junit.xml").write_bytes(
        rnd.choice(
            [
                b"",
                b"<testsuites><testcase",
                b"\xff\xfe<x/>",
                b"<testsuites>" + b"<testcase name='a'>" * 3 + b"</testsuites>",
                b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><testsuites>&a;&a;</testsuites>',
                b"<testsuites><testcase classname='x' name='y'><failure/></testcase></testsuites>",
            ]
        )
    )


def _environment(run_dir: Path, rnd: random.Random) -> None:
    (run_dir / "allure-results" / "environment.properties").write_bytes(
        rnd.choice([b"\xff\xfe\x00", b"=\n:\n!!\n" * 100, b"module.imei=" + b"9" * 5000])
    )


def _transcript(run_dir: Path, rnd: random.Random) -> None:
    data = _timings(run_dir)
    if isinstance(data, dict) and isinstance(data.get("tests"), list) and data["tests"]:
        row = rnd.choice(data["tests"])
        if isinstance(row, dict):
            row["transcript"] = rnd.choice(
                ["../../../etc/passwd", "/etc/hostname", "transcripts", "\x00bad", 7, ["x"]]
            )
            (run_dir / FILENAME).write_text(_dump(data))
            return
    (run_dir / "transcripts" / "close.txt").write_bytes(
        bytes(rnd.randrange(256) for _ in range(4000))
    )


KINDS: list[Callable[[Path, random.Random], None]] = [
    _wrong_value,
    _wrong_value,
    _wrong_value,
    _non_finite_time,
    _dropped_key,
    _truncated,
    _flipped,
    _replaced_file,
    _nested,
    _wrong_format,
    _allure_result,
    _junit,
    _environment,
    _transcript,
]


# -- running the commands -----------------------------------------------------------------------
@dataclass
class Tally:
    ok: int = 0
    clear_errors: int = 0
    unclear: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _alarm(_signum, _frame) -> None:
    raise Hang(f"over {HANG_WALL} s")


def run_command(argv: list[str], run_dir: Path, tally: Tally, label: str) -> None:
    """One command on one record, in-process, its outcome counted."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_WALL)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = modemcert(argv)
    except Hang:
        tally.hangs.append(label)
        return
    except SystemExit as e:  # argparse: a usage error of the bench itself, never expected
        code = e.code if isinstance(e.code, int) else 2
    except BaseException:
        tally.tracebacks.append(f"{label}: {traceback.format_exc().strip().splitlines()[-1]}")
        return
    finally:
        signal.alarm(0)
        tally.seconds += time.monotonic() - started
    if code != 2 or "wrote " in out.getvalue():
        # 2 with its files written: `compare` judged the runs not comparable, as it should.
        tally.ok += 1
        return
    errors = [line for line in err.getvalue().splitlines() if ": warning: " not in line]
    named = errors and (str(run_dir) in errors[-1] or FILENAME in errors[-1])
    if len(errors) == 1 and named:
        tally.clear_errors += 1
    else:
        tally.unclear.append(f"{label}: {errors[-3:]}")


def fuzz(records: int, seed: int, work: Path) -> dict[str, Tally]:
    from harness.report import matrix

    base = write_base(work / "base-run", "20261121-181200-sim")
    collected = matrix.collect(SUITES) if SUITES.is_dir() else []
    tallies = {c: Tally() for c in COMMANDS}
    rnd = random.Random(seed)
    kinds: Counter = Counter()
    with mock.patch.object(matrix, "collect", lambda _suites: collected):
        for n in range(records):
            run_dir = work / f"r{n:05d}"
            shutil.copytree(base, run_dir)
            damage = Damage()
            corrupt(run_dir, rnd, damage)
            kinds.update(damage.kinds)
            out = work / f"out{n:05d}"
            argvs = {
                "report": ["report", str(run_dir), "--no-allure"],
                "certificate": ["report", str(run_dir), "--certificate"],
                "compare": ["compare", str(base), str(run_dir), "--out-dir", str(out)],
                "clauses": ["clauses", "--run", str(run_dir), "--reports-dir", str(work)],
                "trend": ["trend", str(base), str(run_dir), "--out-dir", str(out)],
            }
            for command, argv in argvs.items():
                run_command(argv, run_dir, tallies[command], f"record {n} {damage.kinds}")
            shutil.rmtree(run_dir, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
    fuzz.kinds = kinds  # type: ignore[attr-defined]
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=positive(int), default=RECORDS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RECORDS} records")
    args = parser.parse_args(argv)
    records = QUICK_RECORDS if args.quick else args.records
    with tempfile.TemporaryDirectory(prefix="records-fuzz-") as tmp:
        tallies = fuzz(records, args.seed, Path(tmp))
    rows = [
        [c, t.ok, t.clear_errors, len(t.unclear), len(t.tracebacks), len(t.hangs),
         round(t.seconds / records * 1000, 1)]
        for c, t in tallies.items()
    ]  # fmt: skip
    print(f"{records} corrupted records × {len(COMMANDS)} commands (seed {args.seed})")
    print(table(["command", "ok", "clear errors", "unclear", "tracebacks", "hangs", "ms/record"],
                rows))  # fmt: skip
    print("damage: " + ", ".join(f"{k} {v}" for k, v in sorted(fuzz.kinds.items())))
    bad = []
    for command, t in tallies.items():
        bad += [f"{command}: {x}" for x in t.tracebacks + t.hangs + t.unclear]
    for line in bad[:20]:
        print(f"  {line}")
    print(verdict_line("records × commands run", records * len(COMMANDS), ">=", 5000, digits=0))
    print(verdict_line("tracebacks + hangs + unclear errors", len(bad), "<=", 0, digits=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
