"""modemcert harness: drive a Quectel GSM module through the GSM TCPIP Recommended Process."""

__version__ = "0.1.0"
