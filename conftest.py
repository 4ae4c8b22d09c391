"""Repository root: the modemcert plugin is loaded through its pytest11 entry point (pip install
-e .), so `pytest suites/` certifies and `pytest` runs our own tests (testpaths = tests)."""

collect_ignore = ["reports", "bench", "deploy", "rigs"]

# pytester for the plugin tests (pytest_plugins is only allowed in the root conftest).
pytest_plugins = ["pytester"]
