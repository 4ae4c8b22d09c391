"""`modemcert peer`: run the peer server in the foreground until SIGINT or SIGTERM.

Prints what listens where and whether the control channel needs a token; start-up errors
(bad address, port in use, no token off loopback) are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import signal
import sys

from harness.clock import Clock
from harness.peer.addresses import (
    DEFAULT_CONTROL_PORT,
    DEFAULT_PORT,
    format_hostport,
    is_loopback,
    parse_hostport,
)
from harness.peer.auth import TOKEN_ENV, load_token
from harness.peer.errors import PeerStartError
from harness.peer.server import PeerServer

USAGE_ERROR = 2
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen",
        default=f"127.0.0.1:{DEFAULT_PORT}",
        metavar="HOST:PORT",
        help=f"where the module connects, TCP and UDP (default 127.0.0.1:{DEFAULT_PORT}; "
        f"on a VPS 0.0.0.0:{DEFAULT_PORT})",
    )
    parser.add_argument(
        "--control",
        default=f"127.0.0.1:{DEFAULT_CONTROL_PORT}",
        metavar="HOST:PORT",
        help=f"the HTTP control channel (default 127.0.0.1:{DEFAULT_CONTROL_PORT}); "
        "off loopback a token is required",
    )
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"file holding the control token (else ${TOKEN_ENV}; at least 16 characters)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not print a line per connection and mode change"
    )


def main(args: argparse.Namespace) -> int:
    try:
        listen = parse_hostport(args.listen, "--listen")
        control = parse_hostport(args.control, "--control")
        token, source = load_token(args.token_file)
        server = PeerServer(listen, control, token, Clock(), log=None if args.quiet else _log)
    except (ValueError, PeerStartError) as e:
        return _fail(e)
    # Block the stop signals before the server thread exists (it inherits the mask), so
    # they are delivered to sigwait() below and nowhere else.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        try:
            server.start()
        except PeerStartError as e:
            return _fail(e)
        _banner(server, source)
        received = signal.sigwait(_STOP_SIGNALS)
        print(f"modemcert peer: {signal.Signals(received).name}, stopping", flush=True)
        server.stop()
        print("modemcert peer: stopped", flush=True)
        return 0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _banner(server: PeerServer, token_source: str) -> None:
    host, port = server.address
    where = format_hostport(host, port)
    reach = (
        "loopback only: a module on the cellular network cannot reach it"
        if is_loopback(host)
        else "make sure the firewall lets the module in (docs/peer.md)"
    )
    chost, cport = server.control_address
    token = (
        f"token required (from {token_source})"
        if server.token_required
        else "no token (loopback only)"
    )
    lines = [
        "modemcert peer: listening",
        f"  module side  TCP and UDP {where}  ({reach})",
        f"  control      http://{format_hostport(chost, cport)}  {token}",
        "  new connections: echo; stop with Ctrl+C or SIGTERM",
    ]
    print("\n".join(lines), flush=True)


def _log(text: str) -> None:
    print(f"  {text}", flush=True)


def _fail(error: Exception) -> int:
    print(f"modemcert peer: {error}", file=sys.stderr, flush=True)
    return USAGE_ERROR
