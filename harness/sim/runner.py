"""The command runner: one command line at a time, as a task on the module's loop; its commands
in order until one does not answer OK, then the final. While a line runs it holds the UART
(input waits or is dropped, per profile), and so does a QISEND after its payload."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from harness.sim.cmdline import SyntaxFault, parse
from harness.sim.loop import Task

if TYPE_CHECKING:
    from harness.sim.firmware import Firmware, Handler


class CommandRunner:
    """Runs the lines the editor hands over, with the handlers of `commands`."""

    def __init__(self, fw: Firmware, commands: dict[str, Handler]) -> None:
        self.fw = fw
        self.commands = commands
        self.reset()

    def reset(self) -> None:
        """Power-on or off: nothing running, nothing to repeat."""
        self.last_line = b""  # what A/ repeats
        self._busy: Task | None = None
        self._after_final: list[Callable[[], None]] = []

    @property
    def busy(self) -> bool:
        """A line (or a QISEND after its payload) is running: the UART waits."""
        return self._busy is not None

    def start_line(self, line: bytes, read_ns: int) -> None:
        """A line the host ended with CR, read at `read_ns`: its delays count from then."""
        starts = [i for i in (line.find(b"AT"), line.find(b"at")) if i >= 0]
        if not starts:
            return  # no "AT": not a command line (e.g. "+++" typed in command mode)
        line = line[min(starts) :]
        self.last_line = line
        name = line[:24].decode("latin-1")
        self._hold(self._run_line(line, read_ns), name, read_ns)

    def repeat(self, read_ns: int) -> None:
        """A/: the last command line again."""
        self.start_line(self.last_line, read_ns)

    def busy_with(self, gen: Generator[Any, None, Any], name: str) -> None:
        """Run a task that holds the command line (a QISEND after its payload)."""
        self._hold(gen, name, None)

    def after_final(self, fn: Callable[[], None]) -> None:
        """Run `fn` once this line's final has gone out (AT+IPR switches rate after its OK)."""
        self._after_final.append(fn)

    def _hold(self, gen: Generator[Any, None, Any], name: str, start_ns: int | None) -> None:
        task = self.fw.spawn(gen, name, start_ns)
        self._busy = task
        if task.done:
            self._line_done(task)
        else:
            task.on_done.append(self._line_done)

    def _line_done(self, task: Task) -> None:
        if self._busy is not task:
            return
        self._busy = None
        if self.fw.powered:
            self.fw.editor.replay_queued()

    def _run_line(self, line: bytes, read_ns: int) -> Generator[Any, None, None]:
        fw = self.fw
        out = fw.out
        body = line[2:].decode("latin-1")
        out.begin_line(line.decode("latin-1"), read_ns)
        yield fw.lat("lat_plain")
        try:
            if len(line) > fw.p.at_line_max:
                raise SyntaxFault("line too long")
            commands = parse(body)
        except SyntaxFault:
            out.final("ERROR")
            out.end_line()
            return
        result: str | None = "OK"
        for command in commands:
            handler = self.commands.get(command.name)
            if handler is None:
                result = "ERROR"
                break
            try:
                result = handler(fw, command)
                if inspect.isgenerator(result):
                    result = yield from result
            except SyntaxFault:
                result = "ERROR"
            if result != "OK":
                break
        if result is not None:
            out.final(result)
        out.end_line()
        hooks, self._after_final = self._after_final, []
        for fn in hooks:
            fn()
