"""A run's record, `reports/<run-id>/timings.json`: written as the run goes, read by reports.

Format "modemcert-timings/1" (docs/architecture.md). Every write replaces the file atomically,
so a run killed at any moment leaves a valid file holding everything measured until then.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness.clock import stamp
from harness.errors import UsageFault
from harness.files import StorageFault, atomic_write, storage_fault
from harness.limits import Timing, Verdict
from harness.redact import REDACTOR

log = logging.getLogger("modemcert.runrecord")

FORMAT = "modemcert-timings/1"
FILENAME = "timings.json"
#: Passing steps are batched: the file is rewritten at most this often for them (wall ns).
SAVE_INTERVAL_NS = 250_000_000


class RunRecordError(UsageFault, ValueError):
    """A timings.json that cannot be read; the message names the file and what is wrong."""


class RunStatus(StrEnum):
    """timings.json `run.status`: how far the run got."""

    RUNNING = "running"  # still going, or stopped so hard it could not say (killed, disk full)
    COMPLETE = "complete"  # every selected test ran to its end
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM: some tests did not run or finish
    ABORTED = "aborted"  # a rig fault or usage error stopped it: nothing after it is judged


def new_run_dir(reports_dir: Path, rig_name: str) -> Path:
    """A fresh `reports/<UTC time to the ms>-<rig>` directory, created here and now."""
    return new_dated_dir(reports_dir, "{time}-" + rig_name)


def new_dated_dir(reports_dir: Path, pattern: str) -> Path:
    """`reports_dir/<pattern>` with `{time}` the UTC time to the millisecond, created here.

    Created with mkdir (never exist_ok), so two runs or batches started in the same
    millisecond still get a directory each (the second takes a `-2` suffix).
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    base = pattern.format(time=f"{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}")
    for n in range(1, 1000):
        path = reports_dir / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            raise storage_fault(e, reports_dir) or e from None
        return path
    raise RunRecordError(f"{reports_dir}: 999 runs named {base}*: clean up the reports directory")


def _check_json(what: str, value: Any) -> None:
    """Refuse a value timings.json cannot hold before it is kept: one bad field kept would
    make every later save fail, and the run would stop recording."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"timings.json {what}: {e}; record only strings, numbers, booleans, None, "
            "lists and dicts (e.g. str() a Path)"
        ) from None


def mask_imei(imei: str | None, keep: int = 3) -> str | None:
    """`861234567890123` → `xxxxxxxxxxxx123`: shared reports show only the last digits."""
    if not imei:
        return imei
    keep = min(keep, len(imei))
    return "x" * (len(imei) - keep) + imei[len(imei) - keep :]


class RunRecorder:
    """Collects run metadata, module identity, timings and test outcomes; saves on each change."""

    def __init__(self, run_dir: Path, run: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / FILENAME
        _check_json("run", run)
        self._lock = threading.Lock()
        self._saved_ns = 0
        #: The disk refused a save: later saves are skipped (the file keeps its last good copy).
        self.storage_fault: StorageFault | None = None
        self._data: dict[str, Any] = {
            "format": FORMAT,
            "run": dict(run),
            "module": {},
            "timings": [],
            "tests": [],
        }
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._save()

    @property
    def data(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._data))

    def set_module(self, **identity: str | None) -> None:
        identity = dict(identity)
        for key in ("imei", "iccid"):  # identities are masked in every record
            if key in identity:
                identity[key] = mask_imei(identity[key])
        _check_json("module", identity)
        with self._lock:
            self._data["module"].update({k: v for k, v in identity.items() if v})
        self._save()

    def update_run(self, **fields: Any) -> None:
        _check_json("run", fields)
        with self._lock:
            self._data["run"].update(fields)
        self._save()

    def add_timing(
        self, timing: Timing, test: str | None, at: float, *, provoked: bool = False
    ) -> None:
        """Record a step; `provoked`: a test made it slow on purpose (reports show, never judge).

        A passing step is saved with the next change once SAVE_INTERVAL has passed (a run
        records thousands of replies); any other verdict, `flush()` (the plugin's, after each
        test) and every other change save at once, so a killed run loses at most the passing
        steps since the last save.
        """
        row = {"test": test, **timing.as_dict(), "at": at}
        if provoked:
            row["provoked"] = True
        _check_json("timing", row)
        with self._lock:
            self._data["timings"].append(row)
            due = stamp() - self._saved_ns >= SAVE_INTERVAL_NS
        if due or timing.verdict is not Verdict.PASS:
            self._save()

    def add_decision(
        self, test: str | None, clause: str, what: str, at: float, reaction: str = "continue"
    ) -> None:
        """Record one branch the recommended process took (harness.process.Decision) in
        `decisions`; saved with the next change, like a passing step."""
        row = {"test": test, "clause": clause, "what": what, "reaction": reaction, "at": at}
        _check_json("decision", row)
        with self._lock:
            self._data.setdefault("decisions", []).append(row)
            due = stamp() - self._saved_ns >= SAVE_INTERVAL_NS
        if due:
            self._save()

    def flush(self) -> None:
        self._save()

    def add_test(self, **result: Any) -> None:
        _check_json("test", result)
        with self._lock:
            self._data["tests"].append(result)
        self._save()

    def close(self) -> None:
        """The last save of the run (the file is complete from here on)."""
        self._save()

    def _save(self) -> None:
        with self._lock:
            if self.storage_fault is not None:
                return  # said once; the last good copy stays on disk
            self._saved_ns = stamp()
            text = json.dumps(REDACTOR.value(self._data), indent=1, ensure_ascii=False)
            try:
                atomic_write(self.path, text)
            except StorageFault as e:
                self.storage_fault = e
                log.error("%s", e)
                raise


def load(path: Path) -> dict[str, Any]:
    """Read a run's timings.json (a run directory or the file itself), checking its format."""
    path = Path(path)
    if path.is_dir():
        path = path / FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunRecordError(f"{path}: no such file (is this a modemcert run directory?)")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        # ValueError covers bad JSON and integers past Python's digit limit; RecursionError
        # a record nested too deep to parse.
        reason = "nested too deep" if isinstance(e, RecursionError) else str(e)[:200]
        raise RunRecordError(f"{path}: unreadable run record: {reason}")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise RunRecordError(f"{path}: not a {FORMAT} file (a JSON {kind}, not an object)")
    if data.get("format") != FORMAT:
        raise RunRecordError(f"{path}: not a {FORMAT} file (format={data.get('format')!r})")
    for key in ("run", "module", "timings", "tests"):
        data.setdefault(key, {} if key in ("run", "module") else [])
    return data
