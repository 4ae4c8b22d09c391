"""Run directories for the report tests, written in the documented formats.

`RunBuilder` writes timings.json through harness.runrecord.RunRecorder, allure-results as
allure-pytest writes them, junit.xml as pytest writes it and transcripts as
harness.transport.Transcript renders them. The helper module next to this file (`_browser`, a
headless Chromium on the DevTools protocol) is made importable here.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock
from xml.sax.saxutils import quoteattr

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from harness import __version__  # noqa: E402
from harness.clauses import CLAUSES  # noqa: E402
from harness.limits import (  # noqa: E402
    CGATT,
    DEFAULT_COMMAND,
    QIACT,
    QICLOSE,
    QIDEACT,
    QIOPEN,
    Limit,
    Timing,
    Verdict,
)
from harness.report.runs import Run, junit_key, load_run  # noqa: E402
from harness.runrecord import RunRecorder  # noqa: E402
from harness.transport import Transcript  # noqa: E402

FULL_IMEI = "861234567890123"
ICCID = "89860012345678901234"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@dataclass
class _Test:
    nodeid: str
    clauses: tuple[str, ...]
    outcome: str
    message: str
    category: str | None
    trace: str
    transcript: list[tuple[str, bytes]] | None


@dataclass
class RunBuilder:
    """Collects tests and timings, then `write()`s a run directory under `reports_dir`."""

    reports_dir: Path
    run_id: str
    rig: str = "sim"
    time_scale: float = 0.02
    started: str = "2026-11-22T18:12:00+00:00"
    finished: str | None = "2026-11-22T18:20:00+00:00"
    operator: str | None = None
    #: The newer run fields (None: leave them out, as records older than them did).
    status: str | None = None
    stop_reason: str | None = None
    planned: int | None = None
    planned_clauses: dict | None = None
    rig_kind: str | None = None
    sim: dict | None = None
    mutations: list[str] | None = None
    module: dict = field(
        default_factory=lambda: {
            "model": "Quectel_M95",
            "revision": "M95FAR02A08",
            "firmware": "M95FAR03A04",
            "imei": FULL_IMEI,
            "iccid": ICCID,
        }
    )
    tests: list[_Test] = field(default_factory=list)
    timings: list[tuple[Timing, str | None]] = field(default_factory=list)

    def test(
        self,
        nodeid: str,
        clauses: tuple[str, ...] | list[str],
        outcome: str = "passed",
        *,
        message: str = "",
        category: str | None = None,
        trace: str = "",
        transcript: list[tuple[str, bytes]] | None = None,
    ) -> RunBuilder:
        if outcome == "failed" and not trace:
            trace = f"E   AssertionError: {message}\n{nodeid.split('::')[0]}:42: AssertionError"
        self.tests.append(
            _Test(nodeid, tuple(clauses), outcome, message, category, trace, transcript)
        )
        return self

    def timing(
        self, limit: Limit, measured: float, command: str | None = None, test: str | None = None
    ) -> RunBuilder:
        self.timings.append((limit.check(measured, command), test))
        return self

    def unlimited(self, clause: str, command: str, measured: float, test: str | None = None):
        """A step with no documented time limit (verdict pass, limit None)."""
        self.timings.append((Timing(clause, command, measured, None, None, Verdict.PASS), test))
        return self

    @property
    def path(self) -> Path:
        return self.reports_dir / self.run_id

    def write(self, *, latest: bool = True) -> Path:
        run = {
            "id": self.run_id,
            "rig": self.rig,
            "rig_file": f"rigs/{self.rig}.toml",
            "time_scale": self.time_scale,
            "started": self.started,
            "finished": None,
            "operator": self.operator,
            "harness_version": __version__,
            "host": "pi-lab-3",
        }
        for key in ("planned", "planned_clauses", "rig_kind", "sim", "mutations"):
            if getattr(self, key) is not None:
                run[key] = getattr(self, key)
        if self.status is not None:
            run["status"] = "running"
        # RunRecorder fsyncs after every record; durability is not under test here and the
        # fsyncs made a 100-record run cost over half a second.
        with mock.patch("os.fsync"):
            self._write_record(run)
        self._write_allure()
        self._write_junit()
        if latest:
            link = self.reports_dir / "latest"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(self.run_id)
        return self.path

    def _write_record(self, run: dict) -> None:
        recorder = RunRecorder(self.path, run)
        recorder.set_module(**self.module)
        for i, (timing, test) in enumerate(self.timings):
            recorder.add_timing(timing, test, at=1795371120.0 + i)
        for t in self.tests:
            transcript = None
            if t.transcript is not None:
                transcript = f"transcripts/{t.nodeid.replace('/', '_').replace('::', '__')}.txt"
                log = Transcript(keep=None)
                for direction, data in t.transcript:
                    log.record(direction, data)
                (self.path / "transcripts").mkdir(exist_ok=True)
                (self.path / transcript).write_text(log.text() + "\n", encoding="utf-8")
            recorder.add_test(
                nodeid=t.nodeid,
                clauses=list(t.clauses),
                outcome=t.outcome,
                category=t.category,
                message=t.message,
                duration=0.41,
                transcript=transcript,
            )
        if self.finished:
            recorder.update_run(finished=self.finished)
        if self.status is not None:
            recorder.update_run(status=self.status, stop_reason=self.stop_reason)

    def _write_allure(self) -> None:
        results = self.path / "allure-results"
        results.mkdir(parents=True, exist_ok=True)
        status = {
            "passed": "passed",
            "failed": "failed",
            "error": "broken",
            "skipped": "skipped",
            "interrupted": "broken",
            "xfailed": "skipped",
            "xpassed": "passed",
        }
        for i, t in enumerate(self.tests):
            path, *names = t.nodeid.split("::")
            package = path.rsplit(".", 1)[0].replace("/", ".")
            result = {
                "name": names[-1],
                "status": status[t.outcome],
                "start": 1795371120000 + i * 1000,
                "stop": 1795371120000 + i * 1000 + 410,
                "uuid": str(uuid.uuid4()),
                "historyId": uuid.uuid5(uuid.NAMESPACE_URL, t.nodeid).hex,
                "testCaseId": uuid.uuid5(uuid.NAMESPACE_URL, t.nodeid).hex,
                "fullName": f"{package}#{names[-1].split('[')[0]}",
                "labels": [{"name": "tag", "value": c} for c in t.clauses]
                + [
                    {"name": "suite", "value": package},
                    {"name": "framework", "value": "pytest"},
                    {"name": "language", "value": "cpython3"},
                ],
                "titlePath": [path],
            }
            if t.outcome != "passed":
                result["statusDetails"] = {"message": t.message, "trace": t.trace}
            (results / f"{result['uuid']}-result.json").write_text(json.dumps(result))
        env = {
            "module.model": self.module["model"],
            "module.revision": self.module["revision"],
            "module.firmware": self.module["firmware"],
            "module.imei": self.module["imei"],
            "rig": self.rig,
            "time_scale": str(self.time_scale),
        }
        (results / "environment.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in env.items())
        )

    def _write_junit(self) -> None:
        cases = []
        for t in self.tests:
            classname, name = junit_key(t.nodeid)
            inner = ""
            if t.outcome == "failed":
                inner = f"<failure message={quoteattr(t.message)}>{_x(t.trace)}</failure>"
            elif t.outcome in ("error", "interrupted"):
                inner = f"<error message={quoteattr(t.message)}>{_x(t.trace)}</error>"
            elif t.outcome == "skipped":
                inner = (
                    f'<skipped type="pytest.skip" message={quoteattr(t.message)}>'
                    f"{_x(t.nodeid)}: {_x(t.message)}</skipped>"
                )
            cases.append(
                f"<testcase classname={quoteattr(classname)} name={quoteattr(name)} "
                f'time="0.410">{inner}</testcase>'
            )
        count = {o: sum(t.outcome == o for t in self.tests) for o in ("failed", "error", "skipped")}
        (self.path / "junit.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
            f'<testsuite name="pytest" errors="{count["error"]}" failures="{count["failed"]}" '
            f'skipped="{count["skipped"]}" tests="{len(self.tests)}" time="8.2" '
            f'timestamp="{self.started}" hostname="pi-lab-3">{"".join(cases)}'
            "</testsuite></testsuites>"
        )


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- a whole certification run ----------------------------------------------------------------
def node_for(clause_id: str) -> str:
    """The node id the builder gives the test that walks `clause_id`."""
    group = CLAUSES[clause_id].group.lower()
    return f"suites/test_{group}.py::test_{clause_id.lower().replace('-', '_')}"


#: (limit, command, typical module seconds of the simulated module) measured in every run.
MEASURED = (
    (QIDEACT, "AT+QIDEACT", 3.0),
    (QIACT, "AT+QIACT", 1.8),
    (QICLOSE, "AT+QICLOSE", 0.9),
    (QIOPEN, 'AT+QIOPEN="TCP","127.0.0.1","7007"', 1.2),
    (CGATT, "AT+CGATT?", 0.3),
    (DEFAULT_COMMAND, "AT+CPIN?", 0.2),
)

FAIL_LOG = [
    ("tx", b'AT+QIOPEN="TCP","127.0.0.1","7007"\r'),
    ("rx", b"\r\nOK\r\n"),
    ("note", "peer refused: waiting for CONNECT OK"),
    ("rx", b"\r\nCONNECT FAIL\r\n"),
    ("tx", b"AT+QISTAT\r"),
    ("rx", b"\r\nOK\r\n\r\nSTATE: IP CLOSE\r\n"),
]


def certification_run(
    reports_dir: Path,
    run_id: str,
    *,
    seed: int = 0,
    samples: int = 8,
    spread: float = 0.08,
    slower: dict[str, float] | None = None,
    fail: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    omit: tuple[str, ...] = (),
    firmware: str = "M95FAR03A04",
    started: str = "2026-11-22T18:12:00+00:00",
    rig: str = "sim",
    latest: bool = True,
) -> RunBuilder:
    """A run with one test per clause (but `omit`), and `samples` timings per measured command
    spread ±`spread` (relative, normal) around its typical time; `slower` adds module seconds to
    a command's timings. Failing tests carry a transcript."""
    rnd = random.Random(seed)
    finished = started.replace("T18:12", "T18:20")
    b = RunBuilder(reports_dir, run_id, rig=rig, started=started, finished=finished)
    b.module["firmware"] = firmware
    for cid in CLAUSES:
        if cid in omit:
            continue
        if cid in fail:
            b.test(
                node_for(cid),
                [cid],
                "failed",
                message=f"{cid}: CONNECT FAIL where CONNECT OK was expected",
                category="protocol deviation",
                transcript=[(d, x if isinstance(x, bytes) else x.encode()) for d, x in FAIL_LOG],
            )
        elif cid in skip:
            b.test(node_for(cid), [cid], "skipped", message="rig lacks capability 'power'")
        else:
            b.test(node_for(cid), [cid])
    for limit, command, typical in MEASURED:
        extra = (slower or {}).get(command.split("=")[0], 0.0)
        for _ in range(samples):
            value = max(0.01, rnd.gauss(typical, typical * spread)) + extra
            b.timing(limit, value, command, node_for(limit.clause))
    b.write(latest=latest)
    return b


#: Clauses whose tests all end with an AT+QICLOSE in their teardown (the issue's 17, abridged).
TORN_DOWN = ("OPT-DNSIP", "OPEN-ALREADY", "KEEP-CHECK", "PWR-EMERG", "FLOW-HAPPY")
QICLOSE_TIMEOUT = (
    "AT+QICLOSE: no final answer within 90 s (module time, Clock(scale=0.02); documented limit "
    "90 s, CLOSE); got so far: nothing\nlast bytes:\n    0.1 tx   AT+QICLOSE\\r"
)


def _slow_qiclose_run(new_run, run_id="new", mutations=("qiclose_100s",), deviation=False):
    """Every test of TORN_DOWN fails in teardown on an AT+QICLOSE that never answers; one test
    of CLOSE itself measured it; optionally OPEN-TCP fails on its own (a deviation)."""
    b = new_run(run_id, mutations=list(mutations))
    for n, cid in enumerate(TORN_DOWN):
        node = f"suites/test_x.py::test_{n}"
        b.test(node, [cid], "failed", message=QICLOSE_TIMEOUT, category="limit exceeded")
        b.timing(QIDEACT, 3.0, "AT+QIDEACT", node)  # a passing step first
        b.timings.append((QICLOSE.check(90.01, "AT+QICLOSE", note="no final answer"), node))
    b.test("suites/test_close.py::test_close", ["CLOSE"], "failed", message=QICLOSE_TIMEOUT,
           category="limit exceeded")  # fmt: skip
    b.timings.append(
        (
            QICLOSE.check(90.01, "AT+QICLOSE", note="no final answer"),
            "suites/test_close.py::test_close",
        )
    )
    if deviation:
        b.test(
            "suites/test_open.py::test_tcp",
            ["OPEN-TCP"],
            "failed",
            message="OPEN-TCP: CONNECT FAIL where CONNECT OK was expected after AT+QIOPEN",
            category="protocol deviation",
        )
        b.timing(QIOPEN, 1.0, 'AT+QIOPEN="TCP","127.0.0.1","7007"', "suites/test_open.py::test_tcp")
    b.test("suites/test_rig.py::test_peer", ["SEND-ACK"], "error",
           message="the peer at 127.0.0.1:7008 does not answer", category="rig fault")  # fmt: skip
    return load_run(b.write(latest=False))


@pytest.fixture
def slow_qiclose_run(new_run):
    """`slow_qiclose_run(run_id="new", mutations=("qiclose_100s",), deviation=False)` → a loaded
    run where AT+QICLOSE never answers in the teardown of TORN_DOWN's tests (see above)."""

    def make(run_id: str = "new", **kw) -> Run:
        return _slow_qiclose_run(new_run, run_id, **kw)

    make.clauses, make.message = TORN_DOWN, QICLOSE_TIMEOUT
    return make


@pytest.fixture
def reports_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`reports/` in a fresh working directory, so the CLI's defaults find it."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "reports"
    path.mkdir()
    return path


@pytest.fixture
def new_run(reports_dir: Path):
    """`new_run(run_id, **fields)` → an empty RunBuilder under reports/."""
    return lambda run_id, **kw: RunBuilder(reports_dir, run_id, **kw)


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory: pytest.TempPathFactory):
    """`shared_run(run_id, **options)` → a certification run (see certification_run) built
    once per session, each in its own reports directory: read it, never change it."""
    root = tmp_path_factory.mktemp("shared")
    cache: dict[str, Path] = {}

    def get(run_id: str, **options) -> Path:
        key = repr((run_id, sorted(options.items())))
        if key not in cache:
            where = root / f"reports-{len(cache)}"
            where.mkdir()
            cache[key] = certification_run(where, run_id, latest=False, **options).path
        return cache[key]

    return get


@pytest.fixture
def cert_run(reports_dir: Path, shared_run):
    """`cert_run(run_id, **options)` → a certification run copied into reports/ (yours to
    change), made `latest`."""

    def make(run_id: str, **options) -> Path:
        path = reports_dir / run_id
        shutil.copytree(shared_run(run_id, **options), path)
        link = reports_dir / "latest"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(run_id)
        return path

    return make


@pytest.fixture(name="node_for")
def _node_for():
    return node_for


@pytest.fixture
def modemcert(capsys: pytest.CaptureFixture):
    """`modemcert(*argv)` → (exit code, stdout, stderr) of the real command line."""
    from harness.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


#: Where the real Allure 3 CLI is installed from npm for the tests (`npm install allure`).
ALLURE3_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "modemcert-allure3"


@pytest.fixture(scope="session")
def allure3() -> str:
    """The real Allure 3 CLI: $MODEMCERT_ALLURE, `allure` on PATH, or installed from npm into a
    cache directory; skips naming the missing piece (node, npm, or the package registry)."""
    from harness.report.allure_render import ALLURE_ENV, allure_major

    for candidate in (
        os.environ.get(ALLURE_ENV),
        shutil.which("allure"),
        str(ALLURE3_CACHE / "node_modules" / ".bin" / "allure"),
    ):
        if candidate and Path(candidate).exists() and allure_major(candidate) == 3:
            return candidate
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"Allure 3 needs {tool} (Node.js 20+); it is not installed here")
    ALLURE3_CACHE.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["npm", "install", "--no-fund", "--no-audit", "--prefix", str(ALLURE3_CACHE), "allure"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("`npm install allure` did not finish in 10 min (no package registry?)")
    cli = ALLURE3_CACHE / "node_modules" / ".bin" / "allure"
    if done.returncode != 0 or not cli.exists():
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"`npm install allure` failed (registry unreachable?): {last[0]}")
    if allure_major(str(cli)) != 3:
        pytest.skip(f"{cli} --version does not name Allure 3")
    return str(cli)


@pytest.fixture
def chromium() -> str:
    """Path of a headless-capable Chromium, or skip (CI installs Debian's chromium)."""
    found = next((p for p in CHROMIUM_PATHS if Path(p).exists()), None) or shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    return found


# -- reading HTML back ------------------------------------------------------------------------
class _TableReader(HTMLParser):
    """Rows of one <table id=...>: (the <tr>'s attributes, [cell text, ...])."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # >0 while inside the wanted table
        self.rows: list[tuple[dict, list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            if self.depth or attrs.get("id") == self.table_id:
                self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self.rows.append((attrs, []))
        elif self.depth == 1 and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth == 1 and tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str, table_id: str) -> list[tuple[dict, list[str]]]:
    """The body rows (header row dropped) of the table with this id; [] if there is none."""
    reader = _TableReader(table_id)
    reader.feed(html)
    return reader.rows[1:]


@pytest.fixture(name="table_rows")
def _table_rows():
    return table_rows
