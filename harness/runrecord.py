"""A run's record, `reports/<run-id>/timings.json`: written as the run goes, read by reports.

Format "modemcert-timings/1" (docs/architecture.md). Every write replaces the file atomically,
so a run killed at any moment leaves a valid file holding everything measured until then.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from harness.clock import stamp
from harness.limits import Timing, Verdict

FORMAT = "modemcert-timings/1"
FILENAME = "timings.json"
#: Passing steps are batched: the file is rewritten at most this often for them (wall ns).
SAVE_INTERVAL_NS = 250_000_000


class RunRecordError(ValueError):
    """A timings.json that cannot be read; the message names the file and what is wrong."""


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
        if "imei" in identity:
            identity["imei"] = mask_imei(identity["imei"])
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

    def flush(self) -> None:
        self._save()

    def add_test(self, **result: Any) -> None:
        _check_json("test", result)
        with self._lock:
            self._data["tests"].append(result)
        self._save()

    def _save(self) -> None:
        with self._lock:
            self._saved_ns = stamp()
            text = json.dumps(self._data, indent=1, ensure_ascii=False)
            fd, tmp = tempfile.mkstemp(prefix=".timings-", dir=self.run_dir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are served and shared
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
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
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunRecordError(f"{path}: unreadable run record: {e}")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise RunRecordError(f"{path}: not a {FORMAT} file (a JSON {kind}, not an object)")
    if data.get("format") != FORMAT:
        raise RunRecordError(f"{path}: not a {FORMAT} file (format={data.get('format')!r})")
    for key in ("run", "module", "timings", "tests"):
        data.setdefault(key, {} if key in ("run", "module") else [])
    return data
