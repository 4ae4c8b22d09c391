"""The certification suites: one file per chapter of the GSM TCPIP Recommended Process.

Fixtures and markers come from the modemcert pytest plugin (fixtures/plugin.py, registered by
the package's pytest11 entry point): `pytest suites/` certifies the simulated rig,
`pytest suites/ --rig rigs/pi-m95.toml` a module on a Pi.
"""
