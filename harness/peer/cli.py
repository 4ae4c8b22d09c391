"""`modemcert peer`: run the peer server in the foreground until SIGINT or SIGTERM.

Prints what listens where and whether the control channel needs a token; start-up errors
(bad address, port in use, no token off loopback) are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
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
from harness.peer.guard import CONTROL_PER_SOURCE, DATA_PER_SOURCE, HEAD_WALL, PeerLimits
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
        "--idle-timeout",
        type=float,
        metavar="SECONDS",
        help="end a TCP connection or UDP flow after this long without a byte either way "
        "(default: never; a hold longer than this ends too)",
    )
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=HEAD_WALL,
        metavar="SECONDS",
        help=f"time a control client has to send its request head (default {HEAD_WALL:g})",
    )
    parser.add_argument(
        "--per-source",
        type=int,
        default=DATA_PER_SOURCE,
        metavar="N",
        help="open TCP connections (and UDP flows) one address may have on the module side "
        f"(default {DATA_PER_SOURCE})",
    )
    parser.add_argument(
        "--control-per-source",
        type=int,
        default=CONTROL_PER_SOURCE,
        metavar="N",
        help="control connections one address may have waiting to be authenticated "
        f"(default {CONTROL_PER_SOURCE})",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not print a line per connection and mode change"
    )


def main(args: argparse.Namespace) -> int:
    try:
        listen = parse_hostport(args.listen, "--listen")
        control = parse_hostport(args.control, "--control")
        token, source = load_token(args.token_file)
        limits = _limits(args)
        server = PeerServer(
            listen, control, token, Clock(), log=None if args.quiet else _log, limits=limits
        )
    except (ValueError, PeerStartError) as e:
        return _fail(e)
    _raise_open_files(limits.descriptors())
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


def _limits(args: argparse.Namespace) -> PeerLimits:
    """The limits from the options; ValueError naming the option if one is out of range."""
    options = {
        "--idle-timeout": ("idle_timeout", args.idle_timeout),
        "--head-timeout": ("head_wall", args.head_timeout),
        "--per-source": ("data_per_source", args.per_source),
        "--control-per-source": ("control_per_source", args.control_per_source),
    }
    limits = PeerLimits()
    for option, (field, value) in options.items():
        try:
            limits = dataclasses.replace(limits, **{field: value})
        except ValueError as e:
            _, must, rest = str(e).partition(" must ")
            raise ValueError(f"{option} {value:g}: {f'must {rest}' if must else e}") from None
    return limits


def _raise_open_files(needed: int) -> None:
    """Raise the soft open-file limit towards `needed` (the peer's limits at their worst);
    say so if the hard limit is lower, since the peer would then run out of descriptors first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        print(
            f"modemcert peer: warning: the open-file limit is {soft}, below the {needed} the "
            "limits may need; raise it (`ulimit -n`, LimitNOFILE= in the unit)",
            file=sys.stderr,
            flush=True,
        )


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
        f"  limits       {_describe_limits(server.limits)}",
        "  new connections: echo; stop with Ctrl+C or SIGTERM",
    ]
    print("\n".join(lines), flush=True)


def _describe_limits(limits: PeerLimits) -> str:
    idle = "off" if limits.idle_timeout is None else f"{limits.idle_timeout:g} s"
    return (
        f"{limits.data_per_source} connections per address, idle timeout {idle}; "
        f"control head within {limits.head_wall:g} s"
    )


def _log(text: str) -> None:
    print(f"  {text}", flush=True)


def _fail(error: Exception) -> int:
    print(f"modemcert peer: {error}", file=sys.stderr, flush=True)
    return USAGE_ERROR
