"""What can go wrong with the peer: typed errors for its client, its server and its start-up.

The client raises `PeerError` (with the server's reason and HTTP status); the server turns a
`RequestError` into a 4xx answer; `PeerStartError` says why the server could not start.
"""

from __future__ import annotations


class PeerError(Exception):
    """The peer refused a control request or could not be reached; `.reason` is its words."""

    def __init__(self, message: str, *, reason: str = "", status: int | None = None, url: str = ""):
        super().__init__(message)
        self.reason = reason or message
        self.status = status
        self.url = url


class PeerUnreachable(PeerError):
    """Nothing answers at the control URL (connection refused, timed out, not a peer)."""


class PeerTimeout(PeerError):
    """A wait (new connection, bytes, end of a connection) ran out of time."""


class PeerStartError(Exception):
    """The peer server could not start (address in use, bad address, no token off loopback)."""


class RequestError(Exception):
    """A control request the server answers with a 4xx status and `reason` (server side)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
