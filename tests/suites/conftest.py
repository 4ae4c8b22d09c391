"""Helpers shared by the tests that run the certification suites in child pytest processes."""

import os
import sys

_HERE = os.path.dirname(__file__)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
