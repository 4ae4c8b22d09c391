"""The control channel's token: where it comes from, how strong it must be, how it is checked.

A token is read from a file or `MODEMCERT_PEER_TOKEN`, sent as `Authorization: Bearer <token>`
and compared with `hmac.compare_digest`; off loopback the server will not start without one.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from harness.peer.errors import PeerStartError

TOKEN_ENV = "MODEMCERT_PEER_TOKEN"
#: Shorter tokens are refused: the control channel can push bytes to the module's sessions.
MIN_TOKEN_LENGTH = 16
MAKE_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def check_token(token: str, source: str) -> str:
    """Validate a token (length, printable ASCII, no spaces); PeerStartError says what to fix."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise PeerStartError(
            f"the token from {source} is {len(token)} characters; use at least "
            f"{MIN_TOKEN_LENGTH}, e.g. from `{MAKE_TOKEN}`"
        )
    if not all(0x21 <= ord(c) <= 0x7E for c in token):
        raise PeerStartError(
            f"the token from {source} has spaces or non-ASCII characters; it travels in an "
            f"HTTP header: use printable ASCII, e.g. from `{MAKE_TOKEN}`"
        )
    return token


def load_token(
    token_file: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """The token and where it came from: `token_file` first, then $MODEMCERT_PEER_TOKEN."""
    environ = os.environ if environ is None else environ
    if token_file is not None:
        path = Path(token_file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise PeerStartError(f"cannot read the token file {path}: {reason}")
        token = text.strip()
        if not token:
            raise PeerStartError(f"the token file {path} is empty; write a token into it")
        return check_token(token, f"file {path}"), f"file {path}"
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return check_token(token, f"${TOKEN_ENV}"), f"${TOKEN_ENV}"
    return None, "none"


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def bearer(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None
