"""What the process knows while it runs: its phase, every decision taken, the open stream.

One `State` is shared by the steps (bring-up, PDP, open, sender, receiver, recovery); only
`enter()` changes the phase, only `decide()` records a decision (logged to "modemcert.process",
kept in `decisions`, handed to the observers, e.g. timings.json and the Allure steps).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from harness.at import Subscription, UrcKind
from harness.clock import Clock, stamp
from harness.errors import HarnessBug, UsageFault
from harness.modem import Modem, OpenResult
from harness.process.machine import Decision, Event, Phase, Reaction, transition
from harness.process.stream import Link, Sender

log = logging.getLogger("modemcert.process")
#: The URCs the process reacts to: PDP-LOST, a link CLOSED, data announced (OPT-INDI).
WATCHED = (UrcKind.PDP_DEACT, UrcKind.CLOSED, UrcKind.QIRDI)

Observer = Callable[[Decision], None]


@dataclass(frozen=True)
class Options:
    """Chapter 2's "other options" applied at bring-up (module defaults when False)."""

    dnsip: bool = False  # OPT-DNSIP: QIOPEN takes a domain name
    indi: bool = False  # OPT-INDI: +QIRDI then AT+QIRD instead of pushed data
    head: bool = False  # OPT-HEAD: IPD<len>: before pushed data (needed to frame it)
    showra: bool = False  # OPT-SHOWRA
    showpt: bool = False  # OPT-SHOWPT
    cgatt: bool = True  # INIT-CGATT (Chinese edition): wait for +CGATT: 1


class StreamNotOpen(UsageFault, RuntimeError):
    """A stream step (send, flush, heartbeat) before `open()`: the caller's mistake."""


class State:
    """The phase, the decisions, the stream and the stamps that tell old URCs from new."""

    def __init__(
        self, modem: Modem, clock: Clock, options: Options, observer: Observer | None = None
    ) -> None:
        self.modem = modem
        self.channel = modem.channel
        self._urcs: Subscription | None = None
        self._born_ns = stamp()  # the process reads the URCs that came from here on
        self.clock = clock
        self.options = options
        self.observer = observer  # the caller's own (settable), called first
        self.observers: list[Observer] = []
        self.phase = Phase.OFF
        self.decisions: list[Decision] = []
        self.sender: Sender | None = None  # the open stream
        self.last: Sender | None = None  # the last closed stream
        self.target: tuple[str, str, int] | None = None
        self.opened: OpenResult | None = None  # the AT+QIOPEN that opened the current link
        self.context_ns = 0  # when the current context was asked for (PDP-LOST looks after it)
        self.powered_ns: int | None = None  # the last power-on (INIT-CPIN counts from it)

    # -- the phase ------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Brought up since the last power-on."""
        return self.phase not in (Phase.OFF, Phase.SYNCED)

    @property
    def context_up(self) -> bool:
        return self.phase in (Phase.CONTEXT, Phase.CONNECTED)

    @property
    def connected(self) -> bool:
        return self.phase is Phase.CONNECTED

    def enter(self, event: Event) -> Phase:
        """Move the phase by `event` (harness.process.machine.transition)."""
        self.phase = transition(self.phase, event)
        return self.phase

    def drop_link(self) -> None:
        """The link is gone without a word from the module (CLOSED, PDP-LOST): CONNECTED goes
        back to CONTEXT; in any other phase there was no link to drop."""
        if self.phase is Phase.CONNECTED:
            self.enter(Event.CLOSED)

    # -- decisions ------------------------------------------------------------------------------
    def decide(
        self, clause: str, what: str, reaction: Reaction = Reaction.CONTINUE, cause: str = ""
    ) -> Decision:
        """Record one branch taken with its clause and reaction; returns it."""
        decision = Decision(clause, what, self.clock.now(), reaction, cause)
        self.decisions.append(decision)
        log.info("%s: %s", clause, what)
        for observer in (self.observer, *self.observers):
            if observer is not None:
                observer(decision)
        return decision

    # -- the stream -----------------------------------------------------------------------------
    def stream(self, what: str) -> Sender:
        """The open stream, for `Process.<what>()`; StreamNotOpen before `open()`."""
        if self.sender is None:
            raise StreamNotOpen(f"Process.{what}() needs an open stream: call open() first")
        return self.sender

    def link(self) -> Link:
        """The stream's current link, which the caller has just made sure is up."""
        link = self.sender.link if self.sender is not None else None
        if link is None:
            raise HarnessBug("the process used its link while none was open")
        return link

    def link_gone(self, how: str, what: str, clause: str = "SEND-WINDOW") -> Decision:
        """The link ended under us (CLOSED): it is reopened and the tail resent."""
        decision = self.decide(
            clause, f"{what}: reopen, resend what is unacknowledged", Reaction.RETRY
        )
        self.link()  # HarnessBug unless a link is open
        self.stream("send").end_link(how)
        self.drop_link()
        return decision

    def finish_stream(self) -> None:
        if self.sender is not None:
            self.sender.end_link("closed")
            self.last, self.sender = self.sender, None

    # -- URCs -----------------------------------------------------------------------------------
    @property
    def urcs(self) -> Subscription:
        """The process's own reader of the URCs it reacts to (WATCHED): it takes none of a
        test's, nor a test of its."""
        if self._urcs is None:
            self._urcs = self.channel.subscribe(WATCHED, since_ns=self._born_ns)
        return self._urcs

    def urc_since(self, kind: UrcKind, since_ns: int) -> bool:
        """Read every unread `kind` URC (of the process's own subscription); True if one came
        at or after `since_ns`."""
        return any(urc.t_ns >= since_ns for urc in self.urcs.take(kind))
