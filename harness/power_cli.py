"""`modemcert power on|off|emergency|status --rig R`: switch the module by its pins, at the bench
or from CI's cancel step, and leave it so (the lines are released, the module is not touched
again). `off` uses whatever works: PWRKEY off, else EMERG_OFF, then the supply relay.

Exit status (harness.errors.ExitCode): 0 done, 2 usage or rig file, 3 the rig could not do it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ExitCode, HarnessBug, ModemcertError, RigFault, UsageFault
from harness.rig import RigError, load_rig

if TYPE_CHECKING:
    from harness.at import ATChannel
    from harness.files import RunLock
    from harness.gpio.base import GpioBackend
    from harness.power import Power

ACTIONS = ("on", "off", "emergency", "status")
#: Wall seconds `--wait-lock` waits by default for a dying run to let go of the rig.
LOCK_WAIT = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do with the module")
    parser.add_argument(
        "--rig", default="sim", help="rig file path or name in rigs/ (default: sim)"
    )
    parser.add_argument(
        "--state-dir", default=None, help="the rig's state directory (default: the rig file's)"
    )
    parser.add_argument(
        "--wait-lock",
        type=float,
        default=LOCK_WAIT,
        metavar="SECONDS",
        help="wait this long for a run that still holds the rig (CI cancel step; default 30)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        rig = load_rig(args.rig)
    except RigError as e:
        print(f"modemcert power: rig error: {e}", file=sys.stderr)
        return ExitCode.USAGE
    if args.state_dir is not None:
        rig = replace(rig, state_dir=Path(args.state_dir))
    try:
        text = act(rig, args.action, lock_wait=args.wait_lock)
    except UsageFault as e:
        print(f"modemcert power: {e}", file=sys.stderr)
        return ExitCode.USAGE
    except (RigFault, ModemcertError) as e:
        print(f"modemcert power {args.action}: {e}", file=sys.stderr)
        return ExitCode.RIG_FAULT
    print(f"modemcert power {args.action} ({rig.name}): {text}")
    return ExitCode.PASSED


def act(rig: Any, action: str, *, lock_wait: float = LOCK_WAIT) -> str:
    """Do `action` on the rig's module; a sentence saying what was done or found."""
    from harness.power import PowerError

    if action not in ACTIONS:
        raise UsageFault(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    if rig.is_sim:
        return _on_sim(rig, action)
    with _Bench(rig, lock_wait) as bench:
        power = bench.power
        if power is None:
            if action == "status":
                return _state(bench.probe())
            raise PowerError(
                f"rig {rig.name!r} ({rig.file}) has no GPIO lines: power the module by hand"
            )
        return _do(power, action, rig)


def _do(power: Power, action: str, rig: Any) -> str:
    if action == "status":
        return _state(power.is_on())
    if action == "on":
        result = power.power_on()
        text = f"on ({result.evidence}{'; ' + result.note if result.note else ''})"
        if power.lines.supply is not None:
            text += "; the supply relay opens when this command exits (rig has [gpio.supply])"
        return text
    if action == "emergency":
        return f"off by EMERG_OFF ({power.emergency_off().evidence})"
    return "off: " + "; ".join(power.force_off())


def _state(on: bool | None) -> str:
    return {True: "on", False: "off", None: "unknown (no STATUS line and no answer to AT)"}[on]


class _Bench:
    """The rig's lock, lines and (if it opens) its port, without the peer or a run."""

    def __init__(self, rig: Any, lock_wait: float) -> None:
        self.rig, self.lock_wait = rig, lock_wait
        self.lock: RunLock | None = None
        self.backend: GpioBackend | None = None
        self.channel: ATChannel | None = None
        self.power: Power | None = None

    def __enter__(self) -> _Bench:
        from harness.at import ATChannel
        from harness.clock import Clock
        from harness.gpio import open_backend
        from harness.power import Power
        from harness.serialport import RigTransport
        from harness.transport import TransportError

        clock = Clock(self.rig.time_scale)
        self.lock = _acquire(self.rig, self.lock_wait, clock)
        try:
            try:  # the port helps (RDY, NORMAL POWER DOWN, AT probe) but is not required
                transport = RigTransport(self.rig.serial.port, self.rig.serial.baud)
                self.channel = ATChannel(transport, clock).start()
            except TransportError:
                self.channel = None
            self.backend = backend = open_backend(self.rig)
            if self.rig.gpio.lines():
                self.power = Power.from_rig(self.rig, backend, clock, self.channel)
        except BaseException:
            self.__exit__()
            raise
        return self

    def probe(self) -> bool | None:
        from harness.clock import Clock
        from harness.power import Power, PowerLines

        if self.backend is None:
            raise HarnessBug("_Bench.probe() outside its `with` block: no GPIO backend")
        return Power(self.backend, PowerLines(), Clock(1.0), self.channel).is_on()

    def __exit__(self, *exc: object) -> None:
        if self.backend is not None:
            self.backend.release()  # outputs inactive: the module stays as it is now
        if self.channel is not None:
            self.channel.close()
        if self.lock is not None:
            self.lock.release()


def _acquire(rig: Any, wait: float, clock: Any) -> Any:
    from harness.files import RigBusy, RunLock

    deadline = clock.deadline(clock.to_module(wait))
    while True:
        try:
            return RunLock(rig.state_dir, f"rig {rig.name!r}").acquire()
        except RigBusy:
            if deadline.expired:
                raise
            clock.sleep(clock.to_module(0.2))


def _on_sim(rig: Any, action: str) -> str:
    """The sim rig's module lives in this process: bring it up, act, show what happened."""
    from harness.power import PowerError
    from harness.station import Station

    with tempfile.TemporaryDirectory(prefix="modemcert-power-") as run_dir:
        station = Station(rig, run_dir).start()
        try:
            power = station.power
            if power is None:  # a UART-only sim rig: as on a bench rig without lines
                raise PowerError(
                    f"rig {rig.name!r} ({rig.file}) has no GPIO lines: power the module by hand"
                )
            if action in ("off", "emergency"):
                power.power_on()
            return _do(power, action, rig)
        finally:
            station.close(leave_module=False)
