"""Getting a rig back mid-run: a serial port that went away and came back, flow control after a
resync, and recovery reboots paced by PWR-BACKOFF.

One USB glitch must cost one test, not the night: when the port disappears (an adapter
unplugged, a hub reset) the station waits for the same stable path to return, reopens it and
records the outage; a wedged module is rebooted only as often as the back-off allows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

from harness import limits
from harness.at import ATChannel, ATTimeout
from harness.clock import Clock, epoch, stamp
from harness.modem import SyncError
from harness.power import BackOffActive, BackOffDecision, Power
from harness.transport import TransportError

log = logging.getLogger("modemcert.recovery")

#: Wall seconds between two looks for the returning port.
REOPEN_POLL = 0.05
#: The longest PWR-BACKOFF wait a recovery takes inside one test (module seconds): it must
#: leave the test's budget room for the reboot and the bring-up after it (power on, RDY,
#: INIT-SYNC). A longer wait is refused with BackOffActive: the test errors as a rig fault and
#: the next test asks again.
RECOVER_WAIT_MAX = (
    limits.TEST_BUDGET
    - limits.PWRKEY_ON.seconds
    - limits.CPIN_READY.seconds
    - limits.SYNC.seconds
    - limits.POWER_CUT_AFTER.seconds
    - 2 * limits.DEFAULT_COMMAND.seconds
)


class PortLost(TransportError):
    """The serial port went away and did not come back in time: the rig cannot certify."""


@dataclass(frozen=True)
class Outage:
    """One serial outage survived: which port, why it was noticed, when, for how long."""

    port: str
    reason: str
    lost_at: float  # calendar seconds
    seconds: float  # wall seconds until the port was open again
    tries: int  # opens attempted

    def describe(self) -> str:
        return (
            f"serial port {self.port} went away and came back after {self.seconds:.1f} s "
            f"({self.tries} open{'s' if self.tries != 1 else ''} tried)"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def reopen(channel: ATChannel, clock: Clock, wait_seconds: float, reason: str) -> Outage:
    """Close what is left of a lost port, wait up to `wait_seconds` (wall) for the same path
    to come back, and start the channel on it again. PortLost if it does not."""
    transport = channel.transport
    url = transport.url
    lost_at, start = epoch(), stamp()
    channel.close()  # the dead reader and the lost descriptor
    channel.transcript.note(f"port lost ({reason}); waiting up to {wait_seconds:g} s for {url}")
    wall_deadline = start + int(wait_seconds * 1e9)
    tries, last = 0, "the device node is absent"
    while True:
        if "://" in url or os.path.exists(url):
            tries += 1
            try:
                channel.start()
                break
            except TransportError as e:  # busy, permission, or gone again
                last = str(e)
        if stamp() >= wall_deadline:
            raise PortLost(
                f"serial port {url} went away ({reason}) and did not come back within "
                f"{wait_seconds:g} s ({last}); check the adapter and its cable, or raise "
                "[serial] reconnect in the rig file"
            )
        clock.sleep(clock.to_module(REOPEN_POLL))
    seconds = (stamp() - start) / 1e9
    channel.reset_state()
    outage = Outage(url, reason, lost_at, seconds, tries)
    channel.transcript.note(outage.describe())
    return outage


class FlowControlRefused(SyncError):
    """The module did not take AT+IFC=2,2 while the rig asks for RTS/CTS."""


def flow_control(channel: ATChannel) -> None:
    """RTS/CTS on the module's side too (`AT+IFC=2,2`: DCE by RTS, DTE by CTS)."""
    try:
        reply = channel.command("AT+IFC=2,2")
    except ATTimeout as e:
        raise FlowControlRefused(
            f"no answer to AT+IFC=2,2 on {channel.transport.url} ({e}); check the RTS/CTS "
            "wiring, or set [serial] rtscts = false"
        ) from None
    if not reply.ok:
        raise FlowControlRefused(
            f"AT+IFC=2,2 on {channel.transport.url} answered {reply.final}: the module does "
            "not take hardware flow control; set [serial] rtscts = false in the rig file"
        )


def pace_recovery(
    power: Power, clock: Clock, reason: str, longest: float = RECOVER_WAIT_MAX
) -> Callable[[BackOffDecision], None]:
    """Check PWR-BACKOFF before a recovery reboot: BackOffActive if it asks for a wait longer
    than `longest` module seconds; else the progress callback that logs the wait."""
    backoff = power.backoff
    if backoff is not None and not backoff.ignore:
        decision = backoff.decision()
        if not decision.allowed and decision.wait > longest:
            raise BackOffActive(decision)
        if not decision.allowed:
            log.warning("%s: %s", reason, decision.message())

    def progress(decision: BackOffDecision) -> None:
        log.info("recovery waits for PWR-BACKOFF: %s", decision.message())

    return progress
