"""The UART: a device path or any pyserial URL, an exclusive lock, and a transcript of every byte.

`Transport` reads and writes raw bytes and stamps them as they cross; `Transcript` keeps them
(both ways, with `stamp()` times) in memory and, line by line as they happen, in a JSON-lines file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import threading
from collections import deque
from pathlib import Path
from typing import NamedTuple, Protocol, TextIO

import serial
import serial.rfc2217

from harness.clock import stamp
from harness.errors import RigFault
from harness.files import StorageFault, storage_fault
from harness.redact import REDACTOR

#: Entries a Transcript keeps in memory (the file keeps everything).
TRANSCRIPT_KEEP = 30_000  # ~4.5 MB; far more than one test writes (bench/soak.py)
#: Longest single OS wait of a read on a port without a file descriptor (loop://, socket://):
#: the read keeps waiting in slices this long so that `cancel_read()` is noticed.
URL_READ_SLICE = 0.1
#: A write that cannot make progress for this many wall seconds means the port is stuck.
WRITE_STALL = 10.0


class SerialPort(Protocol):
    """What a Transport uses of a port from `serial.serial_for_url` (every pyserial class has it;
    the stubs leave `in_waiting` off their common base, SerialBase)."""

    baudrate: int
    timeout: float | None
    rtscts: bool

    @property
    def in_waiting(self) -> int: ...

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self, size: int = ..., /) -> bytes: ...

    def write(self, b: bytes, /) -> int | None: ...


def _set_read_timeout(port: SerialPort, seconds: float) -> None:
    """Set how long a read waits. pyserial 3.5's RFC 2217 client renegotiates every port setting
    on a timeout change and sleeps at least 50 ms for the answers; its read() needs only this."""
    if isinstance(port, serial.rfc2217.Serial):
        # What labgrid's pyserial fork does for the same reason (a private attribute: no stub).
        port._timeout = seconds  # type: ignore[attr-defined]
    else:
        port.timeout = seconds


class TransportError(RigFault):
    """The serial port cannot be used; the message says which port and what to do."""


class PortBusy(TransportError):
    """Another process (named if it can be found) holds the port's exclusive lock."""

    def __init__(self, message: str, port: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.port = port
        self.holder = holder


class PortNotFound(TransportError):
    """No such device, or not a pyserial URL."""


class PortClosed(TransportError):
    """The port is closed, or the device went away (PTY master closed, USB adapter pulled)."""


# -- transcript -----------------------------------------------------------------------------
_DIRECTIONS = ("tx", "rx", "note")
_ESCAPES = {0x0D: "\\r", 0x0A: "\\n", 0x5C: "\\\\"}
_READABLE = [_ESCAPES.get(b, chr(b) if 0x20 <= b <= 0x7E else f"<{b:02X}>") for b in range(256)]


def escape(data: bytes) -> str:
    """Bytes as one readable line: `\\r`, `\\n`, `\\\\`, printable ASCII, `<1A>` for the rest."""
    return "".join([_READABLE[b] for b in data])


class Entry(NamedTuple):
    """One transcript record: bytes sent (`tx`), bytes received (`rx`) or a `note`."""

    t_ns: int
    dir: str
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace") if self.dir == "note" else escape(self.data)

    def as_json(self) -> str:
        if self.dir == "note":
            return json.dumps({"t": self.t_ns, "dir": "note", "text": self.text})
        # Same as json.dumps of {"t", "dir", "hex"} (all plain ASCII), at a fraction of the cost.
        return f'{{"t": {self.t_ns}, "dir": "{self.dir}", "hex": "{self.data.hex()}"}}'


class Transcript:
    """Every byte both ways with arrival stamps; appended to `path` (JSON lines) as it happens.

    Memory keeps the raw bytes (tests compare them); everything written out — the file,
    `text()`, `tail()` — goes through harness.redact first. The file holds back the few
    trailing bytes that could still become a secret or an IMEI with the next chunk (a module
    chunks as it likes), and writes them with the next record; each record is flushed on its
    own, so a crashed run loses at most those bytes.
    """

    def __init__(
        self, path: str | os.PathLike | None = None, *, keep: int | None = TRANSCRIPT_KEEP
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._entries: deque[Entry] = deque(maxlen=keep)
        self._count = 0  # entries ever recorded; marks index into this
        self._origin = stamp()
        self._lock = threading.Lock()
        self._held: Entry | None = None  # bytes not yet written to the file (see the class)
        self._file: TextIO | None = None
        #: The disk refused a write: the file stops there, memory keeps the rest (a rig fault
        #: the plugin reports once; the channel itself goes on).
        self.storage_fault: StorageFault | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")

    def record(self, direction: str, data: bytes, t_ns: int | None = None) -> Entry:
        """Append bytes sent (`tx`), received (`rx`) or a `note`, stamped now or at `t_ns`."""
        if direction not in _DIRECTIONS:
            raise ValueError(f"transcript direction must be tx, rx or note, not {direction!r}")
        entry = Entry(stamp() if t_ns is None else t_ns, direction, bytes(data))
        with self._lock:
            self._entries.append(entry)
            self._count += 1
            file, path = self._file, self.path  # a file is open only where there is a path
            if file is not None and path is not None:
                try:
                    self._write(file, entry)
                except OSError as e:
                    self.storage_fault = storage_fault(e, path) or StorageFault(
                        f"cannot write the transcript {path}: {e}"
                    )
                    with contextlib.suppress(OSError):
                        file.close()
                    self._file = None
        return entry

    def _write(self, file: TextIO, entry: Entry) -> None:
        """Append `entry` to the file, redacted; same-direction bytes that may be the start of
        a secret wait for the next record."""
        held = self._held
        if held is not None and held.dir == entry.dir and entry.dir != "note":
            entry = Entry(held.t_ns, entry.dir, held.data + entry.data)
        elif held is not None:
            file.write(_redacted(held).as_json() + "\n")
        self._held = None
        if entry.dir != "note":
            keep = REDACTOR.held(entry.data)
            if keep:
                self._held = Entry(entry.t_ns, entry.dir, entry.data[len(entry.data) - keep :])
                entry = Entry(entry.t_ns, entry.dir, entry.data[: len(entry.data) - keep])
        if entry.data:
            file.write(_redacted(entry).as_json() + "\n")
        file.flush()

    def note(self, text: str) -> Entry:
        """A remark in the transcript (a skipped garbage byte, a test step)."""
        return self.record("note", text.encode("utf-8"))

    def mark(self) -> int:
        """A position to ask `since()` about later."""
        with self._lock:
            return self._count

    def since(self, mark: int) -> list[Entry]:
        """Entries recorded after `mark` (those still kept in memory)."""
        with self._lock:
            first = self._count - len(self._entries)
            return list(self._entries)[max(0, mark - first) :]

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def text(self, entries: list[Entry] | None = None) -> str:
        """Readable: one line per direction change, `seconds dir bytes` with escapes."""
        if entries is None:
            entries = self.entries()
        lines: list[str] = []
        prev: Entry | None = None
        parts: list[str] = []
        for entry in entries:
            if prev is not None and (entry.dir != prev.dir or entry.dir == "note"):
                lines.append(self._line(prev, parts))
                prev, parts = None, []
            if prev is None:
                prev = entry
            parts.append(entry.text)
        if prev is not None:
            lines.append(self._line(prev, parts))
        return "\n".join(lines)

    def _line(self, first: Entry, parts: list[str]) -> str:
        seconds = (first.t_ns - self._origin) / 1e9
        return f"{seconds:12.6f} {first.dir:<4} {REDACTOR.text(''.join(parts))}"

    def tail(self, lines: int = 20) -> str:
        """The last `lines` lines of `text()`."""
        with self._lock:
            recent = list(self._entries)[-(lines * 64) :]
        return "\n".join(self.text(recent).splitlines()[-lines:])

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                with contextlib.suppress(OSError):  # a full disk was reported already
                    if self._held is not None:
                        self._file.write(_redacted(self._held).as_json() + "\n")
                    self._file.close()
                self._file = self._held = None

    @classmethod
    def load(cls, path: str | os.PathLike) -> Transcript:
        """Read a JSON-lines transcript back (for replay and reports); stays in memory."""
        out = cls(keep=None)
        with Path(path).open(encoding="utf-8") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                    data = (
                        rec["text"].encode("utf-8")
                        if rec["dir"] == "note"
                        else bytes.fromhex(rec["hex"])
                    )
                    out.record(rec["dir"], data, int(rec["t"]))
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise ValueError(
                        f"{path}:{n}: not a modemcert transcript record ({e}); "
                        'expected {"t": ns, "dir": "tx"|"rx"|"note", "hex"|"text": ...}'
                    ) from None
        if out._entries:
            out._origin = out._entries[0].t_ns
        return out


def _redacted(entry: Entry) -> Entry:
    if entry.dir == "note":
        return Entry(entry.t_ns, entry.dir, REDACTOR.text(entry.text).encode("utf-8"))
    return Entry(entry.t_ns, entry.dir, REDACTOR.bytes(entry.data))


# -- who holds a port -----------------------------------------------------------------------
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


# -- the port -------------------------------------------------------------------------------
class Transport:
    """One serial port (a path like /dev/ttyUSB0 or a pyserial URL), with a transcript."""

    def __init__(
        self,
        url: str,
        baudrate: int = 115200,
        *,
        transcript: Transcript | None = None,
        exclusive: bool = True,
    ) -> None:
        self.url = str(url)
        self._baudrate = int(baudrate)
        self.transcript = transcript
        self.exclusive = exclusive
        self._port: SerialPort | None = None
        self._fd: int | None = None
        self._cancel_r: int | None = None
        self._cancel_w: int | None = None
        self._gone: str | None = None  # why the port closed under us
        self._url_timeout: object = object()  # last timeout set on a URL port
        self._close_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport({self.url!r}, {self._baudrate})"

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @property
    def baudrate(self) -> int:
        return self._baudrate

    @baudrate.setter
    def baudrate(self, rate: int) -> None:
        self._baudrate = int(rate)
        # pyserial re-applies an unchanged rate too; over RFC 2217 that is a round of
        # negotiation and at least 50 ms of sleep.
        if self._port is not None and self._port.baudrate != self._baudrate:
            try:
                self._port.baudrate = self._baudrate
            except (ValueError, serial.SerialException) as e:
                raise TransportError(f"{self.url}: cannot set {rate} baud: {e}") from None

    def open(self) -> None:
        """Open (and by default exclusively lock) the port."""
        if self._port is not None:
            return
        is_url = "://" in self.url
        if not is_url and not os.path.exists(self.url):
            raise PortNotFound(
                f"serial port {self.url} does not exist: check the cable or USB adapter "
                "(ls /dev/ttyUSB* /dev/ttyACM* /dev/serial*) and the rig file's serial port"
            )
        try:
            port = serial.serial_for_url(
                self.url,
                baudrate=self._baudrate,
                timeout=0,
                exclusive=self.exclusive if not is_url else None,
                do_not_open=True,
            )
            port.open()
        except ValueError as e:
            raise PortNotFound(
                f"{self.url} is neither a device path nor a pyserial URL ({e}); "
                "use e.g. /dev/ttyUSB0, rfc2217://host:port or socket://host:port"
            ) from None
        except serial.SerialException as e:
            raise self._open_error(e) from None
        self._port = port
        self._gone = None
        fd = getattr(port, "fd", None)
        self._fd = fd if isinstance(fd, int) else None
        self._cancel_r, self._cancel_w = os.pipe()
        os.set_blocking(self._cancel_w, False)
        self._note(f"opened {self.url} at {self._baudrate} baud")

    def _open_error(self, e: serial.SerialException) -> TransportError:
        code = e.errno
        if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY) or "lock" in str(e).lower():
            holder = port_holder(self.url)
            who = f"held by {holder}" if holder else "held by another process"
            return PortBusy(
                f"serial port {self.url} is busy ({who}): stop that program "
                "(or another modemcert run) and try again",
                self.url,
                holder,
            )
        if code == errno.ENOENT:
            return PortNotFound(f"serial port {self.url} does not exist ({e})")
        if code == errno.EACCES:
            return TransportError(
                f"no permission to open {self.url}: add your user to the 'dialout' group "
                "(sudo usermod -aG dialout $USER, then log in again)"
            )
        return TransportError(f"cannot open {self.url}: {e}")

    def close(self) -> None:
        """Close the port (idempotent); a read blocked in another thread returns PortClosed."""
        # The reader thread closes on a lost device while the owner may close too: closing a
        # descriptor number twice could close someone else's file, hence the lock.
        with self._close_lock:
            port, self._port = self._port, None
            if port is None:
                return
            self.cancel_read()
            with contextlib.suppress(Exception):
                port.close()
            for fd in (self._cancel_r, self._cancel_w):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fd = self._cancel_r = self._cancel_w = None
        self._note(f"closed {self.url}")

    def cancel_read(self) -> None:
        """Wake a `read()` blocked in another thread."""
        w = self._cancel_w
        if w is not None:
            with contextlib.suppress(OSError):
                os.write(w, b"x")

    # -- bytes ------------------------------------------------------------------------------
    def write(self, data: bytes) -> int:
        """Write all of `data`; returns the `stamp()` taken once the last byte was handed over."""
        return self.write_stamped(data)[1]

    def write_stamped(self, data: bytes) -> tuple[int, int]:
        """Write all of `data`; returns stamps taken just before and just after the write.

        The transcript gets the bytes (stamped "before") ahead of the write, so an answer
        can never appear in it before the command that caused it.
        """
        port = self._require()
        data = bytes(data)
        before = stamp()
        if self.transcript is not None:
            self.transcript.record("tx", data, before)
        try:
            if self._fd is not None:
                self._write_fd(self._fd, data)
            else:
                port.write(data)
        except (OSError, serial.SerialException) as e:
            raise self._lost(f"write failed: {e}") from None
        return before, stamp()

    def _write_fd(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                _, ready, _ = select.select([], [fd], [], WRITE_STALL)
                if not ready:
                    raise OSError(errno.ETIMEDOUT, "no progress (flow control?)") from None
                continue
            view = view[n:]

    def read(self, max_bytes: int = 4096, wall_timeout: float | None = None) -> bytes:
        """Up to `max_bytes` as soon as any arrive; b"" after `wall_timeout` (None: wait)."""
        return self.read_stamped(max_bytes, wall_timeout)[0]

    def read_stamped(
        self, max_bytes: int = 4096, wall_timeout: float | None = None
    ) -> tuple[bytes, int]:
        """Like `read()`, with the `stamp()` taken when the bytes came out of the OS."""
        port = self._require()
        if self._fd is not None:
            data = self._read_fd(self._fd, max_bytes, wall_timeout)
        else:
            data = self._read_url(port, max_bytes, wall_timeout)
        t = stamp()
        if data and self.transcript is not None:
            self.transcript.record("rx", data, t)
        return data, t

    def _read_fd(self, fd: int, max_bytes: int, wall_timeout: float | None) -> bytes:
        cancel = self._cancel_r
        if cancel is None:  # closed by another thread since `_require()`
            raise self._lost("select failed: the cancel pipe is closed")
        try:
            ready, _, _ = select.select([fd, cancel], [], [], wall_timeout)
        except (OSError, ValueError, TypeError) as e:
            raise self._lost(f"select failed: {e}") from None
        if cancel in ready:
            with contextlib.suppress(OSError):
                os.read(cancel, 64)
            if self._port is None:
                raise PortClosed(f"{self.url} was closed")
            return b""
        if not ready:
            return b""
        try:
            data = os.read(fd, max_bytes)
        except BlockingIOError:
            return b""
        except OSError as e:
            raise self._lost(f"read failed: {e}") from None
        if not data:
            raise self._lost("end of file")
        return data

    def _read_url(self, port: SerialPort, max_bytes: int, wall: float | None) -> bytes:
        end = None if wall is None else stamp() + int(wall * 1e9)
        while True:
            left = URL_READ_SLICE if end is None else min(URL_READ_SLICE, (end - stamp()) / 1e9)
            left = max(0.0, left)
            try:
                if self._url_timeout != left:
                    _set_read_timeout(port, left)
                    self._url_timeout = left
                data = port.read(1)
                if data:
                    waiting = port.in_waiting
                    if waiting:
                        data += port.read(min(waiting, max_bytes - 1))
                    return data
            except (OSError, serial.SerialException) as e:
                raise self._lost(f"read failed: {e}") from None
            if self._port is None:
                raise PortClosed(f"{self.url} was closed")
            if end is not None and stamp() >= end:
                return b""
            if self._cancel_r is not None and select.select([self._cancel_r], [], [], 0)[0]:
                with contextlib.suppress(OSError):
                    os.read(self._cancel_r, 64)
                return b""

    # -- helpers ----------------------------------------------------------------------------
    def _require(self) -> SerialPort:
        port = self._port
        if port is None:
            why = self._gone or "it is not open (call open() first)"
            raise PortClosed(f"serial port {self.url} is closed: {why}")
        return port

    def _lost(self, why: str) -> PortClosed:
        """The device went away: release it and say so."""
        if self._port is None:
            return PortClosed(f"serial port {self.url} was closed")
        self._gone = (
            f"the device went away ({why}); check that the module, its USB adapter "
            "or the simulator is still there"
        )
        self._note(f"port lost: {why}")
        self.close()
        return PortClosed(f"serial port {self.url}: {self._gone}")

    def _note(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.note(text)
