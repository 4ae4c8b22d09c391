"""`Power`: the documented sequences, a reboot within PWR-BACKOFF, and the safe state.

`safe_state()` leaves the module and the lines as the rig says on any exit (return, exception,
Ctrl+C, SIGTERM); `force_off()` is the last resort the CI cancel step runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from harness.clock import stamp
from harness.limits import Timing, Verdict
from harness.power.backoff import BackOffDecision
from harness.power.lines import PowerError, PowerResult
from harness.power.sequences import Sequences
from harness.terminate import terminate_raises

log = logging.getLogger("modemcert.power")


class Power(Sequences):
    """PWR-ON / PWR-OFF / PWR-EMERG on a rig's lines; every step recorded through `record`.

    `channel` (optional) gives RDY / NORMAL POWER DOWN and an `AT` probe where STATUS is not
    wired. `expect_rdy=False` for a module left in autobaud, which prints no RDY (§2).
    """

    # -- reboot -------------------------------------------------------------------------------
    def reboot(
        self,
        reason: str = "",
        *,
        emergency: bool = False,
        wait_backoff: bool = False,
        progress: Callable[[BackOffDecision], None] | None = None,
    ) -> PowerResult:
        """Off (PWRKEY, or EMERG_OFF when `emergency` or when PWRKEY fails), then on.

        With a `BackOff`, PWR-BACKOFF is respected first: `BackOffActive` if a reboot is not
        allowed yet, or wait for it with `wait_backoff=True`.
        """
        timings: list[Timing] = []
        notes = []
        if self.backoff is not None:
            paced = self.backoff.pace(reason, wait=wait_backoff, progress=progress)
            self._note(paced, timings)
            if paced.verdict is not Verdict.PASS:
                notes.append("rebooted despite PWR-BACKOFF (--ignore-backoff)")
        start = stamp()
        if emergency:
            timings += self.emergency_off().timings
        else:
            try:
                timings += self.power_off().timings
            except PowerError as e:
                if self.lines.emerg_off is None:
                    raise
                notes.append(f"PWRKEY off failed ({e}); used EMERG_OFF")
                timings += self.emergency_off().timings
        on = self.power_on()
        timings += on.timings
        return PowerResult(
            "reboot", self.clock.since(start), tuple(timings), on.evidence, "; ".join(notes)
        )

    # -- the safe state -----------------------------------------------------------------------
    @contextlib.contextmanager
    def safe_state(self, on_exit: str | None = None) -> Iterator[Power]:
        """On any exit (return, exception, Ctrl+C, SIGTERM) leave the module as the rig says
        (`on_exit`: "off" or "on") and release every line."""
        with terminate_raises():
            try:
                yield self
            finally:
                self.leave(on_exit)

    def leave(self, on_exit: str | None = None) -> None:
        """Bring the module to `on_exit` (default: the rig's), then release the lines.

        Errors are logged, not raised: this runs while another exception may be unwinding.
        """
        want = on_exit or self.on_exit
        try:
            if self.lines.pwrkey is not None or self.lines.emerg_off is not None:
                if want == "off":
                    self._make_off()
                elif self.lines.pwrkey is not None and self.is_on() is False:
                    self.power_on()
        except Exception as e:
            log.warning("safe state: could not leave the module %s: %s", want, e)
        finally:
            self.backend.release()

    def _make_off(self) -> None:
        self.force_off()

    def force_off(self) -> list[str]:
        """Off by whatever works: PWRKEY off, else EMERG_OFF, then the supply relay open.
        Never raises (the CI cancel step and the safe state run it); returns what was done."""
        done: list[str] = []
        try:
            if self.lines.pwrkey is None:
                raise PowerError("no PWRKEY line")
            done.append(f"PWRKEY off: {self.power_off().evidence}")
            return done
        except Exception as e:
            log.warning("safe state: PWRKEY off failed: %s", e)
            done.append(f"PWRKEY off failed ({e})")
        if self.lines.emerg_off is not None:
            try:
                done.append(f"EMERG_OFF: {self.emergency_off().evidence}")
            except Exception as e:
                log.warning("safe state: EMERG_OFF failed: %s", e)
                done.append(f"EMERG_OFF failed ({e})")
        supply = self.lines.supply
        if supply is not None and supply.is_active():
            supply.set_active(False)
            done.append("supply relay opened")
        return done
