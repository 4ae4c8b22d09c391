"""Repository root: the modemcert plugin is loaded through its pytest11 entry point (pip install
-e .), so `pytest suites/` certifies and `pytest` runs our own tests (testpaths = tests)."""

collect_ignore = ["reports", "bench", "deploy", "rigs"]
