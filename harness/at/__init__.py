"""The AT channel: one reader thread feeding the codec, one command at a time (ORDER).

Commands wait for their final answer within their documented limit (AT-TIMEOUT); URCs go to
an append-only log every reader subscribes to with its own cursor; pushed data and
transparent-mode bytes are queued with their arrival stamps. Modules: `wire` (the transport,
the reader thread, the condition), `channel` (`ATChannel`: the command API), `urcs` (the URC
log and subscriptions), `inbox` (what came unasked), `unsolicited` and `transparent` (their
API), `reply` (`Reply`, `Stage`), `errors`.
"""

from harness.at.channel import ALREADY_CONNECT_SETTLE, SPECIAL_BYTES, ATChannel
from harness.at.errors import ATError, ATTimeout, ChannelError, PortClosed, SendRefused
from harness.at.inbox import DATA_KEEP
from harness.at.reply import EscapeResult, Reply, Stage
from harness.at.transparent import ESCAPE_REPLY
from harness.at.urcs import URC_KEEP, Subscription, UrcLog
from harness.at.wire import FRAME_GAP, LF_DUE, LF_DUE_WALL, READ_SIZE, READER_JOIN, WALL_FLOOR
from harness.protocol import PossibleClosed, ProtocolError, QirdBlock, Received, Urc, UrcKind

__all__ = [
    "ALREADY_CONNECT_SETTLE",
    "DATA_KEEP",
    "ESCAPE_REPLY",
    "FRAME_GAP",
    "LF_DUE",
    "LF_DUE_WALL",
    "READER_JOIN",
    "READ_SIZE",
    "SPECIAL_BYTES",
    "URC_KEEP",
    "WALL_FLOOR",
    "ATChannel",
    "ATError",
    "ATTimeout",
    "ChannelError",
    "EscapeResult",
    "PortClosed",
    "PossibleClosed",
    "ProtocolError",
    "QirdBlock",
    "Received",
    "Reply",
    "SendRefused",
    "Stage",
    "Subscription",
    "Urc",
    "UrcKind",
    "UrcLog",
]
