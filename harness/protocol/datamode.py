"""Transparent data mode (TRANS-*): every byte is the peer's, except the escape's answer.

`CLOSED` / `+PDP DEACT` in the stream may be the module's or the peer's: they are reported as
`PossibleClosed` where they stand, never acted on (TRANS-CLOSED).
"""

from __future__ import annotations

from enum import Enum

from harness.protocol.events import DATA_MODE_ALERTS, DataBytes, Event, PossibleClosed

_ESCAPE_OK = b"\r\nOK\r"
_ESCAPE_ECHO = b"+++"
_ALERT_TAIL = max(map(len, DATA_MODE_ALERTS)) - 1
LF = 0x0A


class Escaped(Enum):
    """How the bytes after `+++` ended data mode, if they did."""

    OK = "ok"  # the module answered OK: command mode (TRANS-ESC)
    ECHO = "echo"  # it echoed `+++`: it had already left data mode (TRANS-CLOSED)


class DataStream:
    """Peer bytes in transparent mode; with an escape in flight, looks for its answer."""

    __slots__ = ("_lf_due", "_tail")

    def __init__(self) -> None:
        self._tail = b""  # last bytes passed on, to see CLOSED split across chunks
        self._lf_due = False  # CONNECT ended in CR: its LF is not peer data

    def enter(self, lf_due: bool) -> None:
        self._tail = b""
        self._lf_due = lf_due

    def reset(self) -> None:
        self._lf_due = False

    def read(self, buf: bytearray, escaping: bool, out: list[Event], t: int) -> bool | Escaped:
        """Pass `buf` on as data; True: read on, False: wait for more, or how data mode ended."""
        if self._lf_due:
            self._lf_due = False
            if buf[0] == LF:
                del buf[0]
                return True
        if not escaping:
            self._release(bytes(buf), out, t)
            buf.clear()
            return False
        ok = buf.find(_ESCAPE_OK)
        echo = buf.find(_ESCAPE_ECHO)
        hits = [(i, what) for i, what in ((ok, Escaped.OK), (echo, Escaped.ECHO)) if i >= 0]
        if not hits:
            hold = 0  # keep a tail that may be the start of "\r\nOK\r" or "+++"
            for pattern in (_ESCAPE_OK, _ESCAPE_ECHO):
                for n in range(min(len(pattern) - 1, len(buf)), 0, -1):
                    if buf.endswith(pattern[:n]):
                        hold = max(hold, n)
                        break
            self._release(bytes(buf[: len(buf) - hold]), out, t)
            del buf[: len(buf) - hold]
            return False
        i, what = min(hits, key=lambda hit: hit[0])
        self._release(bytes(buf[:i]), out, t)
        del buf[: i + (len(_ESCAPE_OK) if what is Escaped.OK else len(_ESCAPE_ECHO))]
        return what

    def _release(self, data: bytes, out: list[Event], t: int) -> None:
        if not data:
            return
        tail = self._tail
        window = tail + data
        hits: list[tuple[int, bytes]] = []
        for alert in DATA_MODE_ALERTS:
            i = window.find(alert)
            while i >= 0:
                end = i + len(alert) - len(tail)
                if end > 0:
                    hits.append((end, alert))
                i = window.find(alert, i + 1)
        start = 0
        for end, alert in sorted(hits):
            out.append(DataBytes(data[start:end], t))
            out.append(PossibleClosed(alert.decode(), t))
            start = end
        if start < len(data):
            out.append(DataBytes(data[start:], t))
        self._tail = window[-_ALERT_TAIL:]
