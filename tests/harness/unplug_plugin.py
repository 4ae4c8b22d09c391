"""pytest plugin for the unplug test's subprocess: the sim station reaches its simulator through
an UnpluggablePort at $MODEMCERT_UNPLUG_LINK; the test named $MODEMCERT_UNPLUG_TEST loses its
port as its body starts, and the port comes back $MODEMCERT_REPLUG_AFTER wall seconds later."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from unplug import station_class

import fixtures.rigfixtures
import harness.station

PORTS: list = []
_Station = station_class(Path(os.environ["MODEMCERT_UNPLUG_LINK"]), PORTS)
harness.station.Station = _Station
fixtures.rigfixtures.Station = _Station


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if item.name == os.environ["MODEMCERT_UNPLUG_TEST"] and PORTS:
        port = PORTS[0]
        port.unplug()
        threading.Timer(float(os.environ.get("MODEMCERT_REPLUG_AFTER", "0.5")), port.plug).start()
    yield
