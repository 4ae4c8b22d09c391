"""The AT channel's errors; each also says whose fault it is (harness/errors.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import DeviationFault, LimitFault, ModemcertError, UsageFault
from harness.limits import Limit
from harness.transport import PortClosed

if TYPE_CHECKING:
    from harness.at.reply import Reply

__all__ = ["ATError", "ATTimeout", "ChannelError", "PortClosed", "SendRefused"]


class ChannelError(ModemcertError):
    """Base of the AT channel's own errors; each kind also says whose fault it is."""


class ATTimeout(ChannelError, LimitFault):
    """No final answer within the limit; `.reply` is what came so far (AT-TIMEOUT)."""

    def __init__(
        self,
        message: str,
        reply: Reply | None = None,
        transcript_tail: str = "",
        limit: Limit | None = None,
    ) -> None:
        super().__init__(message)
        self.reply = reply
        self.transcript_tail = transcript_tail
        self.limit = limit


class ATError(ChannelError, DeviationFault):
    """The command was answered with a failure (`ERROR`, `+CME ERROR: <n>`, `CONNECT FAIL`)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.command} answered {reply.final}")
        self.reply = reply
        self.code = reply.error_code


class SendRefused(ChannelError, UsageFault):
    """The channel will not send this: too long, special bytes, or not in a state to send."""
