"""What AT&W stores: a JSON file in the state directory, surviving reboots and simulator restarts.

Without a state directory the values live in memory (they still survive reboots, not restarts).
Only the keys of `Profile.stored_with_w` are kept; AT&F does not touch the stored rate
(M35MAN p.36).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.files import atomic_write
from harness.sim.profile import IPR_RATES, Profile

FILE_NAME = "sim-settings.json"


class SettingsError(ValueError):
    """The state file cannot be used; the message names it and what to do."""


def factory(profile: Profile) -> dict[str, int | bool]:
    return {"ipr": 0, "echo": True, "verbose": True, "cmee": profile.cmee_default, "qiurc": 1}


class StoredSettings:
    def __init__(self, state_dir: Path | None, profile: Profile) -> None:
        self.path = Path(state_dir) / FILE_NAME if state_dir is not None else None
        self.values = factory(profile)
        self.chosen: set[str] = set()  # keys a host stored with AT&W (now or in an earlier run)
        if self.path is not None and self.path.exists():
            loaded = self._load(self.path)
            self.values.update(loaded)
            self.chosen.update(loaded)

    def store(self, current: dict[str, int | bool], keys: tuple[str, ...]) -> None:
        """AT&W: keep `keys` of `current`; written atomically."""
        for key in keys:
            if key in current:
                self.values[key] = current[key]
                self.chosen.add(key)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(self.values, indent=1, sort_keys=True) + "\n")

    @staticmethod
    def _load(path: Path) -> dict[str, int | bool]:
        hint = f"fix or delete {path} to start from factory settings"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"simulator state file {path} is unreadable ({exc}); {hint}"
            ) from exc
        if not isinstance(data, dict):
            raise SettingsError(f"simulator state file {path} is not a JSON object; {hint}")
        ipr = data.get("ipr", 0)
        if ipr not in IPR_RATES:
            raise SettingsError(f"simulator state file {path}: ipr={ipr!r} is not a rate; {hint}")
        known = {"ipr", "echo", "verbose", "cmee", "qiurc"}
        return {k: v for k, v in data.items() if k in known}
