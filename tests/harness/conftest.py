"""Fixtures for the AT stack tests: a scripted module on a PTY and a channel talking to it.

The helper modules next to this file (`_at_cases`, `_at_seeds`, `_at_checks`, `_at_strategies`,
`_at_responder`) are made importable here; bench/fuzz.py loads the codec's by path.
"""

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _at_responder import Responder  # noqa: E402

from harness.at import ATChannel  # noqa: E402
from harness.clock import Clock  # noqa: E402
from harness.transport import Transport  # noqa: E402

#: Module seconds → wall: 0.01 makes the 60 s AT-TIMEOUT cost 0.6 s of wall time.
AT_TEST_SCALE = 0.01


@pytest.fixture
def pty_responder():
    """A scripted module on a fresh PTY; `.port` is the path the harness opens."""
    responder = Responder()
    yield responder
    responder.stop()
    assert not responder.errors, responder.errors


@pytest.fixture
def at_clock():
    return Clock(AT_TEST_SCALE)


@pytest.fixture
def at_channel(pty_responder, at_clock):
    """A started ATChannel on the responder's PTY."""
    channel = ATChannel(Transport(pty_responder.port), at_clock)
    channel.start()
    yield channel
    channel.close()
