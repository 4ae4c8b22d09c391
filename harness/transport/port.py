"""`Transport`: one serial port (a device path or any pyserial URL), opened with an exclusive
lock, reading and writing raw bytes stamped as they cross, into a `Transcript` when given."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
from typing import Protocol

import serial
import serial.rfc2217

from harness.clock import stamp
from harness.transport.errors import PortBusy, PortClosed, PortNotFound, TransportError
from harness.transport.holder import port_holder
from harness.transport.transcript import Transcript

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
