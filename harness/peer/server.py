"""`PeerServer`: the peer and its control channel on their own thread and asyncio loop.

`PeerServer().start()` returns once both listen; `.address` is what the module dials,
`.control_url` what `PeerControl` talks to; `.stop()` closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from harness.clock import Clock
from harness.peer.addresses import bind_pair, bind_tcp, format_hostport, is_loopback
from harness.peer.auth import TOKEN_ENV, check_token
from harness.peer.control import ControlServer, describe_bug
from harness.peer.core import Peer
from harness.peer.errors import PeerStartError
from harness.peer.guard import PeerLimits

#: Wall seconds start() waits for the loop thread to be listening (it binds before starting).
START_WALL = 15.0
#: Wall seconds stop() waits for the loop thread to finish.
STOP_WALL = 15.0


class PeerServer:
    """TCP+UDP peer on `listen`, HTTP control on `control`; off loopback a token is required.

    `limits` bound what clients can hold (docs/peer.md "Limits"); `idle_timeout` (module
    seconds, default off) ends data connections that carried no byte for that long.
    """

    def __init__(
        self,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        control: tuple[str, int] = ("127.0.0.1", 0),
        token: str | None = None,
        clock: Clock | None = None,
        log: Callable[[str], None] | None = None,
        limits: PeerLimits | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self.listen = (listen[0], int(listen[1]))
        self.control = (control[0], int(control[1]))
        self.clock = clock or Clock()
        limits = limits or PeerLimits()
        if idle_timeout is not None:
            try:
                limits = dataclasses.replace(limits, idle_timeout=idle_timeout)
            except ValueError as e:
                raise PeerStartError(f"idle timeout: {e}") from None
        self.limits = limits
        if token is not None:
            token = check_token(token, "the token argument")
        elif not is_loopback(self.control[0]):
            raise PeerStartError(
                f"the control channel on {format_hostport(*self.control)} would be reachable "
                "from other hosts, so it needs a token: give --token-file FILE or set "
                f"${TOKEN_ENV} (or bind the control channel to 127.0.0.1 and use an SSH tunnel)"
            )
        self.token = token
        self.peer = Peer(self.listen[0], self.listen[1], self.clock, log, self.limits)
        self._control_server: ControlServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._control_addr: tuple[str, int] | None = None
        self._loop_errors: list[BaseException] = []

    def __enter__(self) -> PeerServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the module dials, TCP and UDP alike."""
        return (self.listen[0], self.peer.port)

    @property
    def udp_address(self) -> tuple[str, int]:
        return self.address

    @property
    def control_address(self) -> tuple[str, int]:
        if self._control_addr is None:
            raise RuntimeError("the peer server is not started")
        return self._control_addr

    @property
    def control_url(self) -> str:
        host, port = self.control_address
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        return f"http://{format_hostport(host, port)}"

    @property
    def token_required(self) -> bool:
        return self.token is not None

    @property
    def errors(self) -> list[BaseException]:
        """Our own bugs met while serving (each answered 500 or logged): empty when healthy."""
        served = self._control_server.errors if self._control_server is not None else []
        return [*served, *self._loop_errors]

    # -- life -----------------------------------------------------------------------------
    def start(self) -> PeerServer:
        """Bind, start the loop thread, return when listening; PeerStartError says why not."""
        if self._thread is not None:
            raise RuntimeError("the peer server is already started")
        tcp, udp = bind_pair(*self.listen)
        try:
            csock = bind_tcp(*self.control, what="control channel")
        except PeerStartError:
            tcp.close()
            udp.close()
            raise
        self._control_addr = (self.control[0], csock.getsockname()[1])
        self._thread = threading.Thread(
            target=self._run, args=(tcp, udp, csock), name="modemcert-peer", daemon=True
        )
        self._thread.start()
        if not self.clock.wait(self._ready, self.clock.to_module(START_WALL)):
            raise PeerStartError("the peer server thread did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise PeerStartError(f"the peer server failed to start: {self._error}")
        return self

    def stop(self) -> None:
        """Close every connection and listener and end the thread; safe to call twice."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_WALL)
        self._thread = None

    def _run(self, tcp, udp, csock) -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(self._loop_error)
        self._loop = loop
        try:
            loop.run_until_complete(self._startup(tcp, udp, csock))
        except BaseException as e:  # reported by start()
            self._error = e
            for sock in (tcp, udp, csock):
                sock.close()
            loop.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _startup(self, tcp, udp, csock) -> None:
        await self.peer.open(tcp, udp)
        self._control_server = ControlServer(self.peer, self.token, self.limits)
        await self._control_server.start(csock)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """An exception nobody caught on the loop: kept for `errors`, logged as type and place
        only (its message or a traceback could quote what a client sent)."""
        error = context.get("exception")
        if error is None:
            self.peer.log(f"peer: event loop: {context.get('message', 'unknown problem')}")
            return
        if isinstance(error, OSError):
            # The world, not a bug: accept() out of descriptors (asyncio pauses accepting for
            # a second by itself), a socket that failed under us.
            self.peer.limited("peer os errors", f"peer: {error.strerror or type(error).__name__}")
            return
        self._loop_errors.append(error)
        self.peer.log(f"peer: internal error: {describe_bug(error)}")

    async def _shutdown(self) -> None:
        if self._control_server is not None:
            self._control_server.abort_all()
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._control_server is not None:
            await self._control_server.close()
        await self.peer.close()
        for _ in range(3):  # let connection_lost callbacks run
            await asyncio.sleep(0)
