"""Power: PWRKEY / EMERG_OFF / STATUS / supply sequences on a rig's lines (PWR-ON, PWR-OFF,
PWR-EMERG), a reboot within PWR-BACKOFF, and the safe state on any exit.

`Power` switches the module the way the document and the hardware manual say and records each
step as a `Timing`; `BackOff` (harness.power.backoff) keeps the reboot history across runs.
INIT-SYNC and who the module is are AT conversations: they live in harness.modem (`sync`,
`identify`); SIGTERM handling lives in harness.terminate.
"""

from harness.power.backoff import (
    BACKOFF_FILE,
    BACKOFF_FORMAT,
    BACKOFF_KEEP,
    QUIET_FACTOR,
    WAIT_PROGRESS_STEP,
    BackOff,
    BackOffActive,
    BackOffDecision,
    BackOffError,
    RebootRecord,
)
from harness.power.control import Power
from harness.power.lines import (
    EDGE_SPIN,
    POLL_WALL_FLOOR,
    POWER_DOWN_GRACE,
    PROBE_TRIES,
    STATUS_AFTER_CUT,
    STATUS_POLL,
    PowerError,
    PowerLines,
    PowerResult,
    PulseMissed,
    Recorder,
    StillOn,
)

__all__ = [
    "BACKOFF_FILE",
    "BACKOFF_FORMAT",
    "BACKOFF_KEEP",
    "EDGE_SPIN",
    "POLL_WALL_FLOOR",
    "POWER_DOWN_GRACE",
    "PROBE_TRIES",
    "QUIET_FACTOR",
    "STATUS_AFTER_CUT",
    "STATUS_POLL",
    "WAIT_PROGRESS_STEP",
    "BackOff",
    "BackOffActive",
    "BackOffDecision",
    "BackOffError",
    "Power",
    "PowerError",
    "PowerLines",
    "PowerResult",
    "PulseMissed",
    "RebootRecord",
    "Recorder",
    "StillOn",
]
