"""Rig files: `rigs/<name>.toml` → a validated, frozen `Rig` (what one run has to work with).

A rig says where the module's UART is, which GPIO lines are wired and with what polarity,
where the peer server is, which faults it can cause, its time scale and where its state lives.
Every mistake in a rig file is one `RigError` naming the file, the key and what to do.
See docs/rigs.md for the reference. Modules: `model` (the `Rig`, its sections, `Secret`, the
words a rig may use), `errors` (`RigError`), `checks` (keys, types, lengths; the state
directory), `loader` (`find_rig`, `load_rig`, the top level), and one parser per table:
`ports` ([serial]), `wiring` ([gpio]), `network` ([network], [peer]), `backends` ([sim],
[labgrid]).
"""

from harness.gpio import BACKENDS
from harness.gpio.base import DRIVES
from harness.rig.checks import MAX_PATH, MAX_TEXT, MAX_TEXT_DEFAULT, state_dir_problem
from harness.rig.errors import MAX_KEY, MAX_MESSAGE, RigError
from harness.rig.loader import REPO_ROOT, find_rig, load_rig
from harness.rig.model import (
    CAPABILITIES,
    CAPABILITY_LINE,
    COMMON_RATES,
    CONTROL_SCHEMES,
    DEFAULT_WRONG_APN,
    KINDS,
    LABGRID_NAME,
    LABGRID_TIMEOUT,
    LABGRID_TIMEOUT_MAX,
    LINE_NAME,
    LINE_NAMES,
    NAME_PATTERN,
    ON_EXIT,
    POLARITIES,
    RATES,
    RECONNECT_DEFAULT,
    RECONNECT_MAX,
    RPI_MAX_BCM,
    SERIAL_SCHEMES,
    GpioConfig,
    LabgridConfig,
    LineConfig,
    NetworkConfig,
    PeerConfig,
    Rig,
    Secret,
    SerialConfig,
    SimConfig,
)

__all__ = [
    "BACKENDS",
    "CAPABILITIES",
    "CAPABILITY_LINE",
    "COMMON_RATES",
    "CONTROL_SCHEMES",
    "DEFAULT_WRONG_APN",
    "DRIVES",
    "KINDS",
    "LABGRID_NAME",
    "LABGRID_TIMEOUT",
    "LABGRID_TIMEOUT_MAX",
    "LINE_NAME",
    "LINE_NAMES",
    "MAX_KEY",
    "MAX_MESSAGE",
    "MAX_PATH",
    "MAX_TEXT",
    "MAX_TEXT_DEFAULT",
    "NAME_PATTERN",
    "ON_EXIT",
    "POLARITIES",
    "RATES",
    "RECONNECT_DEFAULT",
    "RECONNECT_MAX",
    "REPO_ROOT",
    "RPI_MAX_BCM",
    "SERIAL_SCHEMES",
    "GpioConfig",
    "LabgridConfig",
    "LineConfig",
    "NetworkConfig",
    "PeerConfig",
    "Rig",
    "RigError",
    "Secret",
    "SerialConfig",
    "SimConfig",
    "find_rig",
    "load_rig",
    "state_dir_problem",
]
