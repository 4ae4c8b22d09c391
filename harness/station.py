"""One rig brought up: the module (simulated or real), its GPIO lines, the serial channel, the peer.

`Station(rig, run_dir).start()` wires the layers below together the same way for every rig; the
pytest plugin, `modemcert run` and the benchmarks use it, so a sim run and a Pi run differ only
in what the rig file says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import limits
from harness.at import ATChannel, ATTimeout, ChannelError
from harness.clock import Clock, prompt_threads
from harness.errors import HarnessBug, RigFault
from harness.files import RunLock
from harness.gpio import open_backend
from harness.gpio.base import GpioBackend
from harness.limits import Timing
from harness.modem import Identity, IpState, identify, ip_state, sync
from harness.module_backend import ModuleBackend, module_backend
from harness.peer.errors import PeerError
from harness.power import BackOff, Power
from harness.recovery import RECOVER_WAIT_MAX, Outage, flow_control, pace_recovery, reopen
from harness.rig import Rig, state_dir_problem
from harness.serialport import RigTransport
from harness.transport import Transcript, Transport, TransportError

if TYPE_CHECKING:
    from harness.peer import PeerControl, PeerServer

log = logging.getLogger("modemcert.station")

Recorder = Callable[[Timing], object]
#: The session's UART transcript (JSON lines) inside the run directory.
TRANSCRIPT_FILE = "uart.jsonl"
#: How long a quick "is it alive?" AT may take before the module counts as wedged.
PROBE_SECONDS = 2.0
#: Module seconds between AT+CPIN? polls while waiting for the SIM before reading the ICCID.
SIM_POLL = 0.5


class StationError(RigFault, RuntimeError):
    """The rig could not be brought up; the message says which part and what to check."""


class Station:
    """The module, its lines, its serial channel and its peer, for one run on one rig."""

    def __init__(
        self,
        rig: Rig,
        run_dir: str | Path,
        *,
        scale: float | None = None,
        mutations: Iterable[str] = (),
        record: Recorder | None = None,
        ignore_backoff: bool = False,
        state_dir: str | Path | None = None,
    ) -> None:
        self.rig = rig
        self.state_dir = Path(state_dir) if state_dir is not None else rig.state_dir
        self.run_dir = Path(run_dir)
        self.clock = Clock(scale if scale is not None else rig.time_scale)
        self.mutations = tuple(mutations)
        self.record = record
        #: Where the module is (simulator, serial port, labgrid place): harness.module_backend.
        self.module_backend: ModuleBackend = module_backend(
            rig,
            clock=self.clock,
            run_dir=self.run_dir,
            state_dir=self.state_dir,
            mutations=self.mutations,
        )
        self.peer_server: PeerServer | None = None  # when the peer runs in this process
        self.peer: PeerControl | None = None  # None without a control URL
        self.peer_host = rig.peer.host
        self.peer_port = rig.peer.port
        self.udp_port = rig.peer.udp_port or rig.peer.port
        self.backend: GpioBackend | None = None
        self.power: Power | None = None
        self.transport: Transport | None = None
        self.channel: ATChannel | None = None
        self.transcript: Transcript | None = None
        self.identity: Identity | None = None
        self.backoff = BackOff(self.state_dir, self.clock, ignore=ignore_backoff)
        #: Serial outages survived (an unplugged adapter that came back), for the run record.
        self.outages: list[Outage] = []
        self.lock: RunLock | None = None

    def __repr__(self) -> str:
        return f"Station({self.rig.name!r}, port={self.port!r}, {self.clock})"

    @property
    def port(self) -> str | None:
        return self.transport.url if self.transport is not None else self.module_backend.port

    @property
    def sim(self) -> Any:
        """The simulated module for fault injection; None unless the module is simulated."""
        return self.module_backend.sim

    @property
    def pins(self) -> Any:
        """The simulator's in-memory pins (harness.gpio.sim.SimPins); None on other rigs."""
        return self.module_backend.pins

    @property
    def place(self) -> Any:
        """The acquired labgrid place (harness.labgrid.Place); None on other rigs."""
        return self.module_backend.place

    # -- bring-up -------------------------------------------------------------------------------
    def start(self) -> Station:
        """Start the module backend (a simulator, a labgrid place) and a local peer where the
        rig has one, claim the lines, open the port.

        Everything that would make certification impossible is found here, once, as a
        RigFault naming the rig file and what to check (a busy rig, an unusable state dir, a
        peer that does not answer or refuses the token, a missing or busy port, GPIO).
        """
        # A thread waiting for the GIL waits up to the switch interval (5 ms by default): as
        # long as the PWR-OFF window's slack at the sim rig's scale. Hand it over sooner.
        prompt_threads()
        try:
            problem = state_dir_problem(self.state_dir)
            if problem:
                raise StationError(f"{self._where()}: state_dir {self.state_dir}: {problem}")
            self.lock = RunLock(self.state_dir, f"rig {self.rig.name!r}").acquire()
            self.module_backend.start()
            port = self.module_backend.port
            if port is None:  # the rig file names one, and a started simulator or place has one
                raise HarnessBug(f"{self._where()}: the started module backend has no port")
            self.transcript = Transcript(self.run_dir / TRANSCRIPT_FILE)
            self.transport = RigTransport(
                port,
                self.rig.serial.baud,
                transcript=self.transcript,
                rtscts=self.rig.serial.rtscts,
                low_latency=self.rig.serial.low_latency,
            )
            self.channel = ATChannel(self.transport, self.clock).start()
            self.channel.survives_port_loss = self.rig.serial.reconnect > 0
            self._start_peer()
            if self.peer is not None:
                self._check_peer(self.peer)
            self.backend = open_backend(self.rig, self.module_backend.gpio_source())
            if self.rig.has("power"):
                self.power = Power.from_rig(
                    self.rig, self.backend, self.clock, self.channel, self.record, self.backoff
                )
        except BaseException:
            self.close(leave_module=False)
            raise
        return self

    def _start_peer(self) -> None:
        from harness.peer import PeerControl, PeerServer

        cfg = self.rig.peer
        token = cfg.token.reveal() if cfg.token is not None else None
        if self.module_backend.local_peer and cfg.control_url is None:
            server = PeerServer(
                listen=(cfg.host, cfg.port), control=("127.0.0.1", 0), clock=self.clock
            ).start()
            self.peer_server = server
            self.peer_host, self.peer_port = server.address[:2]
            self.udp_port = server.udp_address[1]
            self.peer = PeerControl(server.control_url, clock=self.clock)
        elif cfg.control_url is not None:
            self.peer = PeerControl(cfg.control_url, token=token, clock=self.clock)

    def _where(self) -> str:
        return f"rig {self.rig.name!r} ({self.rig.file})"

    def _check_peer(self, peer: PeerControl) -> None:
        """The peer's control channel answers and takes the token (PeerError otherwise)."""
        try:
            peer.info()
        except PeerError as e:
            raise StationError(
                f"{self._where()}: the peer at {peer.url} is not usable: {e}; check that "
                "`modemcert peer` runs there, the tunnel is up and [peer] token matches"
            ) from None

    def bring_up(self) -> Identity:
        """PWR-ON where the rig has PWRKEY, INIT-SYNC, then who the module is."""
        channel = self.need_channel()
        if self.power is not None and self.power.is_on() is not True:
            self.power.power_on()
        elif self.power is None:
            self.module_backend.power_on_now()  # a real module without lines must be on
        sync(
            channel,
            self.rig.serial.baud,
            self.clock,
            search=self.rig.serial.search_rates,
            record=self.record,
        )
        if self.rig.serial.rtscts:
            flow_control(channel)
        self.identity = identify(channel)
        if self.identity.iccid is None and self._sim_ready(channel):
            self.identity = identify(channel)  # AT+QCCID is refused until the SIM is ready
        return self.identity

    def _sim_ready(self, channel: ATChannel) -> bool:
        """Poll AT+CPIN? until READY, at most the INIT-CPIN time (boot noise is answered
        `+CME ERROR: 14`, SIM busy: PROTOCOL.md §14)."""
        deadline = self.clock.deadline(limits.CPIN_READY.seconds)
        while True:
            reply = channel.command("AT+CPIN?")
            if any("READY" in line for line in reply.lines):
                return True
            if deadline.expired:
                return False
            self.clock.sleep(min(SIM_POLL, deadline.remaining() or SIM_POLL))

    def alive(self, seconds: float = PROBE_SECONDS) -> bool:
        """Does the module answer a plain `AT` (leaving data mode first)? The probe waits at
        least WALL_FLOOR of wall time: at the sim rig's scale its 2 module seconds are 40 ms,
        which a loaded host can spend elsewhere and then take a healthy module for wedged."""
        channel = self.need_channel()
        seconds = channel.settle(seconds)
        try:
            if channel.in_data_mode:
                channel.escape()
            return channel.command("AT", seconds).ok
        except (ATTimeout, ChannelError, TransportError):  # PortClosed: the port went away
            return False

    def recover(self, reason: str, backoff_longest: float = RECOVER_WAIT_MAX) -> str:
        """Bring a wedged module back by the documented route: a lost port reopened first,
        then, within PWR-BACKOFF, EMERG_OFF (PWR-EMERG), power on, sync. Returns what was
        done. Raises StationError where the rig cannot do it, PortLost if the port stays
        away, BackOffActive if the back-off forbids a reboot for longer than a test may wait."""
        channel = self.need_channel()
        if self.transport is not None and self.transport.is_open:
            self.alive()  # a probe notices a port that went away since the last command
        if self.transport is not None and not self.transport.is_open:
            done = self.reconnect(reason)
            if self.alive():
                return done
            reason = f"{done}; the module did not answer AT after it"
        if self.power is None:
            if not self.module_backend.power_cycle_now():
                raise StationError(
                    f"{reason}, and rig {self.rig.name!r} ({self.rig.file}) has no PWRKEY/"
                    "EMERG_OFF lines to restart it: power-cycle the module by hand, then run again"
                )
            self.bring_up()
            return f"{reason}: power cycled the {self.module_backend.kind} module without lines"
        self.module_backend.clear_faults()
        how = "EMERG_OFF" if self.power.lines.emerg_off is not None else "PWRKEY"
        paced = pace_recovery(self.power, self.clock, reason, backoff_longest)
        self.power.reboot(reason, emergency=how == "EMERG_OFF", wait_backoff=True, progress=paced)
        channel.reset_state()
        self.bring_up()
        return f"{reason}: restarted with {how} (PWR-BACKOFF kept), then PWRKEY on and AT sync"

    def reconnect(self, reason: str) -> str:
        """The port went away (an adapter unplugged): wait up to `[serial] reconnect` seconds
        for the same path to return, reopen it, resync the module, and record the outage."""
        outage = reopen(self.need_channel(), self.clock, self.rig.serial.reconnect, reason)
        self.outages.append(outage)
        log.warning("%s", outage.describe())
        self.bring_up()
        return f"{reason}: {outage.describe()}; resynchronised"

    def need_channel(self) -> ATChannel:
        """The open AT channel (`channel`, which is None before `start()` and after `close()`);
        StationError when there is none."""
        if self.channel is None:
            raise StationError("the station is not started: call start() first")
        return self.channel

    # -- the end --------------------------------------------------------------------------------
    def close(self, leave_module: bool = True) -> None:
        """Leave the module as the rig says, release every line, stop what this process started.

        Never raises: it runs while a failure or a signal may be unwinding.
        """
        steps: list[tuple[str, Callable[[], object]]] = []
        if self.power is not None and leave_module:
            steps.append(("leave the module and release the GPIO lines", self.power.leave))
        elif self.backend is not None:
            steps.append(("release the GPIO lines", self.backend.release))
        if self.channel is not None:
            steps.append(("close the serial channel", self.channel.close))
        elif self.transport is not None:
            steps.append(("close the serial port", self.transport.close))
        if self.transcript is not None:
            steps.append(("close the transcript", self.transcript.close))
        steps += self.module_backend.closers()
        if self.peer_server is not None:
            steps.append(("stop the peer", self.peer_server.stop))
        if self.lock is not None:
            steps.append(("release the rig", self.lock.release))
        transcript = self.transcript
        done: list[str] = []
        for what, step in steps:
            if what == "close the transcript" and transcript is not None:
                left = self.rig.on_exit if leave_module and self.power is not None else "as it is"
                transcript.note(f"station closed: {'; '.join(done)}; module left {left}")
            try:
                step()
                done.append(what)
            except Exception as e:  # keep closing the rest
                log.warning("closing the station: could not %s: %s", what, e)
        self.power = self.channel = self.transport = self.peer_server = None
        self.backend = self.lock = None


#: Settings the suites change that a test must find at their defaults (AT+QIMUX=0 …).
BASELINE = (
    "AT+QIMODE=0",
    "AT+QIMUX=0",
    "AT+QIHEAD=0",
    "AT+QISHOWRA=0",
    "AT+QISHOWPT=0",
    "AT+QINDI=0",
    "AT+QIDNSIP=0",
)


def to_baseline(channel: ATChannel) -> list[str]:
    """Close everything and restore the IP settings' defaults; the commands that failed."""
    failed = []
    if channel.in_data_mode:
        channel.escape()
    state = channel.command("AT+QISTAT")
    if channel.mux or ip_state(state.final or "") is not IpState.IP_INITIAL:
        deact = channel.command("AT+QIDEACT", limits.QIDEACT.seconds)
        if not deact.ok:
            failed.append(f"AT+QIDEACT → {deact.final}")
    for cmd in BASELINE:
        reply = channel.command(cmd)
        if not reply.ok:
            failed.append(f"{cmd} → {reply.final}")
    return failed
