"""The simulated module: a faithful Quectel M95 on a pseudo-terminal (docs/architecture.md).

Imports only harness.clock, harness.files, harness.gpio.sim and the stdlib: it has its own
parser and framing, so a bug in the harness's codec cannot be mirrored here.
"""

from harness.sim.faults import FAULTS, UnknownFault
from harness.sim.module import LinkStatus, SimStatus, SimulatedModule
from harness.sim.mutations import MUTATIONS, Mutated, Mutation, UnknownMutation
from harness.sim.net import NotLoopback
from harness.sim.output import FinalWritten
from harness.sim.power import Wiring
from harness.sim.profile import Profile

__all__ = [
    "FAULTS",
    "MUTATIONS",
    "FinalWritten",
    "LinkStatus",
    "Mutated",
    "Mutation",
    "NotLoopback",
    "Profile",
    "SimStatus",
    "SimulatedModule",
    "UnknownFault",
    "UnknownMutation",
    "Wiring",
]
