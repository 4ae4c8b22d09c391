"""RECV: data from the peer, pushed with an `IPD<len>:` header (OPT-HEAD) or announced with
+QIRDI and fetched with AT+QIRD (OPT-INDI, RECV-QIRD), kept per link of the stream.
"""

from __future__ import annotations

from harness.at import ATTimeout, UrcKind
from harness.clock import stamp
from harness.process.state import State


class Receiver:
    """Takes what the peer sent and credits it to the link that carried it."""

    def __init__(self, state: State) -> None:
        self.state = state

    def receive(self, timeout: float, want: int | None) -> bytes:
        """For up to `timeout` module seconds, or until `want` bytes came."""
        s = self.state
        got = bytearray()
        deadline = s.clock.deadline(timeout)
        while want is None or len(got) < want:
            left = deadline.remaining() or 0.0
            if s.options.indi:
                data = self.fetch()
                if data:
                    got += data
                    continue
                if left <= 0:
                    break
                try:
                    s.urcs.wait(left, UrcKind.QIRDI)
                except ATTimeout:
                    break
            else:
                try:
                    block = s.channel.wait_received(left)
                except ATTimeout:
                    break
                got += block.payload
                self._attribute(block.payload, block.t_ns)
        return bytes(got)

    def fetch(self) -> bytes:
        """AT+QIRD until the module's buffer is empty (RECV-QIRD)."""
        s = self.state
        got = bytearray()
        while s.connected:
            result = s.modem.qird()
            if not result.data:
                break
            got += result.data
            self._attribute(result.data, stamp())
        return bytes(got)

    def _attribute(self, data: bytes, t_ns: int) -> None:
        sender = self.state.sender
        if sender is None:
            return
        for link in reversed(sender.links):
            if link.carried(t_ns):
                link.received += data
                return
