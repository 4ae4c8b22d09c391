"""The checks every rig key goes through: known keys, TOML types, lengths, choices, host:port,
and whether a state directory is usable. Each failure is one `RigError` naming file and key."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.rig.errors import RigError, did_you_mean, short, toml_type

#: Longest text a rig key may hold (an APN is at most 100 characters, 3GPP TS 23.003 §9.1).
MAX_TEXT = {"apn": 100, "user": 64, "password": 64, "description": 500}
MAX_TEXT_DEFAULT = 1024
#: Longest path or URL a rig key may hold.
MAX_PATH = 4096

TYPE_WORDS = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


def state_dir_problem(path: Path) -> str | None:
    """Why `path` cannot hold the module's stored settings and reboot history, or None.

    Checked without creating anything: the path (or its nearest existing parent) must be a
    writable directory.
    """
    probe = path
    try:
        while not probe.exists():
            if probe.parent == probe:
                return "no part of this path exists"
            probe = probe.parent
    except OSError as e:  # a component too long, a loop of links
        return f"not a usable path ({e.strerror or e})"
    if not probe.is_dir():
        where = "it" if probe == path else str(probe)
        return f"{where} is not a directory: name a directory (it is created if missing)"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable by this user: fix its permissions or choose another"
    return None


class Checks:
    """The generic checks of one rig file, shared by its section parsers."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str | None, message: str) -> RigError:
        return RigError(self.path, key, message)

    def project_path(self, raw: str) -> Path:
        """A path the rig file names: `~` expanded; a relative one is relative to the project
        holding rigs/ (the repository root) when the file is in rigs/, else to the file."""
        path = Path(os.path.expanduser(raw))
        if path.is_absolute():
            return path
        folder = self.path.resolve().parent
        return (folder.parent if folder.name == "rigs" else folder) / path

    def keys(self, table: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                full = f"{where}.{key}" if where else key
                raise self.error(
                    full,
                    f"unknown key{did_you_mean(key, allowed)}; allowed here: {', '.join(allowed)}",
                )

    def get(
        self,
        table: Mapping[str, Any],
        where: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
    ) -> Any:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if default is ...:
                raise self.error(full, "missing: this key is required")
            return default
        value = table[key]
        wanted = kind if isinstance(kind, tuple) else (kind,)
        kinds = (*wanted, int) if float in wanted else wanted  # an integer is a number too
        # bool is an int in Python but not in TOML.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            want = " or ".join(TYPE_WORDS.get(k, k.__name__) for k in wanted)
            raise self.error(full, f"must be {want}, not {toml_type(value)} {short(value)}")
        if isinstance(value, str):
            longest = MAX_TEXT.get(key.removesuffix("_env").removesuffix("_file"), MAX_TEXT_DEFAULT)
            longest = MAX_PATH if key in ("port", "state_dir", "control_url") else longest
            if len(value) > longest:
                raise self.error(full, f"{len(value)} characters: at most {longest} are allowed")
            if "\x00" in value:
                raise self.error(full, "contains a NUL character: remove it")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63 - 1:
            raise self.error(full, f"{short(value)} is out of range (a 64-bit integer at most)")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(full, f"{short(value)} is not a finite number")
        return value

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}]), not {toml_type(value)}")
        return value

    def choice(
        self,
        table: Mapping[str, Any],
        where: str,
        key: str,
        choices: tuple[str, ...],
        default: Any = ...,
    ) -> str:
        value = self.get(table, where, key, str, default)
        if value not in choices:
            full = f"{where}.{key}" if where else key
            raise self.error(
                full,
                f"{short(value)} is not one of {', '.join(choices)}{did_you_mean(value, choices)}",
            )
        return value

    def host_port(self, url: str, key: str) -> tuple[str, int]:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if not parts.hostname or port is None or not (1 <= port <= 65535):
            raise self.error(
                key,
                f"{short(url)} needs a host and a port 1..65535, like scheme://203.0.113.10:7008",
            )
        return parts.hostname, port
