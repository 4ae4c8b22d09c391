"""Who holds a serial port: the process that has it open or locked, from /proc (Linux), so that
a busy port can be named with its holder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _describe_pid(pid: int) -> str:
    proc = Path(f"/proc/{pid}")
    try:
        comm = (proc / "comm").read_text().strip()
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return f"pid {pid}"
    me = " (this process)" if pid == os.getpid() else ""
    return f"pid {pid} {comm}{me}: {cmdline[:120]}"


def port_holder(path: str) -> str | None:
    """Name the process holding `path` open or locked, from /proc (Linux), if it can be seen."""
    try:
        st = os.stat(path)
        real = os.path.realpath(path)
    except OSError:
        return None
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with contextlib.suppress(OSError):
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 6 and fields[5] == key and fields[4].isdigit() and fields[4] != "0":
                return _describe_pid(int(fields[4]))
    holders = []
    with contextlib.suppress(OSError):
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            fd_dir = f"/proc/{pid}/fd"
            with contextlib.suppress(OSError):
                if any(os.readlink(f"{fd_dir}/{fd}") == real for fd in os.listdir(fd_dir)):
                    holders.append(_describe_pid(int(pid)))
    return "; ".join(holders) or None
