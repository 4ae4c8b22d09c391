"""The peer server: the module's far end for TCP and UDP, steerable from the tests.

`PeerServer` runs it (in-process on the sim rig, `modemcert peer` on a VPS) within its
`PeerLimits`; `PeerControl` steers it over HTTP+JSON. Imports only `harness.clock`,
`harness.errors` and the stdlib (docs/peer.md).
"""

from harness.peer.addresses import DEFAULT_CONTROL_PORT, DEFAULT_PORT
from harness.peer.client import PeerControl, PeerInfo
from harness.peer.errors import PeerError, PeerStartError, PeerTimeout, PeerUnreachable
from harness.peer.guard import PeerLimits
from harness.peer.modes import MODES
from harness.peer.server import PeerServer
from harness.peer.stats import ConnStats, Ended, sha256_hex

__all__ = [
    "DEFAULT_CONTROL_PORT",
    "DEFAULT_PORT",
    "MODES",
    "ConnStats",
    "Ended",
    "PeerControl",
    "PeerError",
    "PeerInfo",
    "PeerLimits",
    "PeerServer",
    "PeerStartError",
    "PeerTimeout",
    "PeerUnreachable",
    "sha256_hex",
]
