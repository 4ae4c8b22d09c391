"""What can go wrong with the peer: typed errors for its client, its server and its start-up.

They sit in the project's one taxonomy (harness.errors): a peer that cannot be reached or used
is a `RigFault`; a refused control request (server side) and a server that cannot start for a
bad address, port or token are a `UsageFault`.
"""

from __future__ import annotations

from harness.errors import Category, RigFault, UsageFault


class PeerError(RigFault):
    """The peer refused a control request or could not be reached; `.reason` is its words."""

    def __init__(self, message: str, *, reason: str = "", status: int | None = None, url: str = ""):
        super().__init__(message)
        self.reason = reason or message
        self.status = status
        self.url = url


class PeerUnreachable(PeerError):
    """Nothing answers at the control URL (connection refused, timed out, not a peer)."""


class PeerRequestRefused(PeerError):
    """The peer refused a request as malformed (400, 404, 413, …): the harness asked wrongly.

    A harness error for this test, not a rig fault that stops the run.
    """

    category = Category.HARNESS_ERROR
    stops_run = False


#: Refusals that say the rig is not usable (token, busy): they stop the run as rig faults.
RIG_STATUSES = frozenset({401, 403, 429, 503})


class PeerTimeout(PeerError):
    """A wait (new connection, bytes, end of a connection) ran out of time."""

    stops_run = False  # one test's wait: the peer itself still answers


class PeerStartError(UsageFault):
    """The peer server could not start (address in use, bad address, no token off loopback)."""


class RequestError(UsageFault):
    """A control request the server answers with a 4xx status and `reason` (server side).

    `reason` goes to the client and may quote what it sent; `kind` is a fixed description
    that never does, the only part of a refusal the server logs.
    """

    def __init__(self, status: int, reason: str, kind: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.kind = kind


def shown(value: object, limit: int = 40) -> str:
    """`repr(value)` cut to `limit` characters, for quoting a client's value in a reason."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
