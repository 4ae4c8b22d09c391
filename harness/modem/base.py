"""What every typed command shares: the channel, asking by registry entry, naming a deviation.

A method names its command's registry entry (harness/commands): the entry gives the line, the
framing and the limit, and its parser the typed value. Entries whose refusal the document
reacts to (`reacts`) return it as a value; any other refusal raises `ATError`. A `record`
callback receives the derived timings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from harness.at import ATChannel, ATError, Reply
from harness.clock import Clock, Deadline
from harness.commands import Command, Malformed, ResultCode
from harness.limits import Timing
from harness.modem.results import ModuleDeviation, Result

T = TypeVar("T")


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

    def _send(self, command: Command[Any], tail: str = "", timeout: float | None = None) -> Reply:
        """`AT<name><tail>` within the entry's limit (or `timeout`); a refusal raises ATError
        unless the document reacts to it (the entry's `reacts`)."""
        reply = self.channel.command(command.line(tail), timeout)
        if not reply.ok and not command.reacts:
            raise ATError(reply)
        return reply

    def _parse(self, command: Command[T], reply: Reply) -> T:
        """The entry's typed reading of `reply`; an answer it cannot read is a deviation."""
        try:
            return command.parse(reply)
        except Malformed as e:
            raise self._deviation(reply, e.got, e.expected, command.clause) from None

    def _ask(self, command: Command[T], tail: str = "", timeout: float | None = None) -> T:
        """Send `command` and return its typed value."""
        return self._parse(command, self._send(command, tail, timeout))

    def _result(
        self, command: Command[ResultCode | None], tail: str = "", timeout: float | None = None
    ) -> Result:
        """Send a command whose answer is its result code: the code, with the reply."""
        reply = self._send(command, tail, timeout)
        return Result(reply, self._parse(command, reply))

    def _deviation(self, reply: Reply, got: object, expected: str, clause: str) -> ModuleDeviation:
        return ModuleDeviation(reply.command, got, expected, clause, self.channel.transcript.tail())

    @staticmethod
    def _past(deadline: Deadline) -> bool:
        """Strictly past the limit, so a wait that gives up is judged FAIL, not marginal."""
        return deadline.seconds is not None and deadline.elapsed() > deadline.seconds
