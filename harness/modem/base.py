"""What every typed command shares: the channel, asking, reading a line, naming a deviation.

Commands the document gives a reaction to when refused return a `Result`; the others raise
`ATError` on a refusal (`ask`). A `record` callback receives the derived timings.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.at import ATChannel, ATError, Reply
from harness.clock import Clock, Deadline
from harness.limits import Timing
from harness.modem.results import ModuleDeviation, Result


class ModemBase:
    """The channel, the clock and the `record` callback of one `Modem`, with its helpers."""

    def __init__(
        self,
        channel: ATChannel,
        clock: Clock | None = None,
        record: Callable[[Timing], object] | None = None,
    ) -> None:
        self.channel = channel
        self.clock = clock or channel.clock
        self._record = record
        self.context = 0  # AT+QIFGCNT: the foreground context AT+QIRD names

    def __repr__(self) -> str:
        return f"Modem({self.channel!r})"

    def note(self, timing: Timing) -> Timing:
        """Hand a derived timing to this modem's `record` callback (the process uses it too)."""
        if self._record is not None:
            self._record(timing)
        return timing

    def _ask(self, cmd: str, timeout: float | None = None) -> Reply:
        """Send `cmd`; a refusal raises ATError (with the reply and its error code)."""
        reply = self.channel.command(cmd, timeout)
        if not reply.ok:
            raise ATError(reply)
        return reply

    def _done(self, cmd: str, timeout: float | None = None) -> Result:
        """`_ask`, as a Result (a refusal still raises ATError)."""
        return Result.of(self._ask(cmd, timeout))

    def _answer(self, cmd: str) -> Result:
        """Send `cmd`; a refusal is an outcome the caller reacts to, not an exception."""
        return Result.of(self.channel.command(cmd))

    def _deviation(self, reply: Reply, got: object, expected: str, clause: str) -> ModuleDeviation:
        return ModuleDeviation(reply.command, got, expected, clause, self.channel.transcript.tail())

    def _line(self, reply: Reply, prefix: str, clause: str) -> str:
        """The body of the information line starting with `prefix` (`+CREG:` …)."""
        for line in reply.lines:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise self._deviation(
            reply, reply.lines or reply.final, f"the answer has a {prefix} line", clause
        )

    def _int(self, reply: Reply, text: str, clause: str) -> int:
        if not text.isdigit():
            raise self._deviation(reply, text, "a number", clause)
        return int(text)

    @staticmethod
    def _past(deadline: Deadline) -> bool:
        """Strictly past the limit, so a wait that gives up is judged FAIL, not marginal."""
        return deadline.seconds is not None and deadline.elapsed() > deadline.seconds
