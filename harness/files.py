"""Files that must never be half-written or shared: atomic replacement and a per-rig run lock.

Every state file (timings.json, the back-off history, the simulator's stored settings) is
replaced through `atomic_write`: a uniquely named temp file in the same directory, fsynced, then
renamed, so concurrent writers never clobber each other's temp and a reader never sees half a
file. A full or read-only disk is a `StorageFault` (a rig fault: the run stops, nothing is
blamed on the module). Bottom layer: stdlib and harness.errors only (the simulator uses it too).
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

from harness.errors import RigFault

#: errno values that mean "this disk cannot take the write", not "the harness is wrong".
STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO}
LOCK_FILE = "run.lock"


class StorageFault(RigFault):
    """The disk is full, read-only or failing: what was written stays valid, the run stops."""


class RigBusy(RigFault):
    """Another run holds this rig (its state directory): the message names its pid."""


def storage_fault(error: OSError, where: Path | str) -> StorageFault | None:
    """The StorageFault for an OSError that means the disk cannot take the write, else None."""
    if error.errno not in STORAGE_ERRNOS:
        return None
    what = {
        errno.ENOSPC: "no space left on",
        errno.EDQUOT: "disk quota exceeded on",
        errno.EROFS: "read-only file system at",
        errno.EIO: "I/O error writing",
    }[error.errno]
    return StorageFault(
        f"{what} {where}: the run is incomplete (what was written before stays valid); "
        "free some space or point --reports-dir elsewhere, then run again"
    )


def atomic_write(path: Path | str, data: str | bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` in one step (unique temp name, fsync, rename).

    Raises StorageFault when the disk is full or read-only; the old file is left intact.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise storage_fault(e, path.parent) or e from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; records are served and shared
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise storage_fault(e, path.parent) or e from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunLock:
    """One run per rig at a time: an exclusive lock on `<state_dir>/run.lock` holding the pid.

    The kernel drops the lock when the holder dies, so a killed run never leaves the rig locked.
    """

    def __init__(self, state_dir: Path | str, what: str = "this rig") -> None:
        self.path = Path(state_dir) / LOCK_FILE
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock now or raise RigBusy naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise RigBusy(
                f"{self.what} is in use by another run (pid {holder}, lock {self.path}): "
                "wait for it to finish, or give this run its own --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Let the next run in (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing drops the flock

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
