"""Child process for the SIGTERM test: holds PWRKEY pressed and the supply on, then waits.

Its lines are pins in a JSON file (a SimPins that another process can read). Usage:
    python sigterm_child.py STATE_FILE safe|bare
"safe" runs inside Power.safe_state(); "bare" does not (the control: lines stay held).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from harness.clock import Clock
from harness.gpio.base import GpioBackend
from harness.power import Power, PowerLines
from harness.terminate import Terminated


class FileBackend(GpioBackend):
    """Pins whose levels and claims are rewritten to a JSON file on every change."""

    name = "file"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.levels: dict[int, bool] = {}
        self.claims: set[int] = set()

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        state = {"levels": self.levels, "claimed": sorted(self.claims)}
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path)

    def _setup_output(self, pin, level, drive="push-pull"):
        self.claims.add(pin)
        self.levels[pin] = level
        self._save()

    def _setup_input(self, pin):
        self.claims.add(pin)
        self._save()

    def _write(self, pin, level):
        self.levels[pin] = level
        self._save()

    def _read(self, pin):
        return self.levels.get(pin, False)

    def _free(self, pins):
        self.claims -= set(pins)
        self._save()


def main() -> int:
    path, mode = Path(sys.argv[1]), sys.argv[2]
    backend = FileBackend(path)
    lines = PowerLines(
        pwrkey=backend.output("PWRKEY", 4),
        emerg_off=backend.output("EMERG_OFF", 17),
        supply=backend.output("SUPPLY", 22),
    )
    power = Power(backend, lines, Clock(0.01), on_exit="off")

    def hold() -> None:
        lines.supply.set_active(True)
        lines.pwrkey.set_active(True)  # caught mid-press
        print("ready", flush=True)
        while True:
            signal.pause()

    if mode == "bare":
        hold()
    try:
        with power.safe_state():
            hold()
    except Terminated:
        return 143
    return 0


if __name__ == "__main__":
    sys.exit(main())
