"""SIGTERM as an exception, so `finally` blocks and pytest finalizers still run.

The safe state (harness.power) and the plugin's station fixture wrap their work in
`terminate_raises()`; a service manager's stop then unwinds like Ctrl+C.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM as an exception, so `finally` blocks and pytest finalizers still run.

    A KeyboardInterrupt subclass: pytest then stops the session the way it does for Ctrl+C
    (teardown runs, exit status 2) instead of recording a test failure and going on.
    """


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """While inside, SIGTERM raises `Terminated` (once); SIGINT is left to Python/pytest."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.getsignal(signal.SIGTERM)
    fired = threading.Event()

    def on_sigterm(signum: int, frame: object) -> None:
        if fired.is_set():
            return  # already unwinding: let the clean-up finish
        fired.set()
        raise Terminated("SIGTERM: leaving the module and its lines in the safe state")

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
