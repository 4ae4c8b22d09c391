"""Headless Chromium driven over the DevTools protocol on a pipe (stdlib only).

`Browser.open(url, width)` loads a page with every network request blocked and logged, and
returns what the page did: the requests it tried, console errors, exceptions, the widest
element overflowing the window, and screenshots. `--remote-debugging-pipe` speaks JSON
messages ending in a NUL byte on file descriptors 3 (to the browser) and 4 (from it).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

#: The flags that work in this container and in CI (the brief's list), with the network cut:
#: every host name resolves nowhere and every connection goes to a closed port.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--hide-scrollbars",
    "--font-render-hinting=none",
)
#: Schemes a self-contained page may load (its own file, inline data, blobs it made).
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "chrome-error:", "devtools:")
#: Every request to these is refused by the browser itself, on top of the dead network.
BLOCKED = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]
#: Wall seconds one protocol call may take (a wedged browser, not a speed requirement).
CALL_TIMEOUT = 120.0


class BrowserError(Exception):
    """Chromium did not start, answer, or load the page."""


@dataclass
class PageVisit:
    """What a page did while it loaded and rendered."""

    url: str
    width: int
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    scroll_width: int = 0
    inner_width: int = 0
    overflowing: list[str] = field(default_factory=list)  # elements wider than the window
    title: str = ""

    @property
    def network(self) -> list[str]:
        """Requests that would have left the machine."""
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.inner_width


class Browser:
    """One Chromium process; `with Browser(path, profile) as b: b.open(url, 1400)`."""

    def __init__(self, executable: str, profile: Path, log: Path | None = None) -> None:
        self.executable = executable
        self.profile = Path(profile)
        self.log = log or self.profile.with_suffix(".log")
        self._id = 0
        self._buffer = b""
        self._events: list[dict] = []
        self._targets: dict[str, str] = {}
        self.pid = 0

    # -- process --------------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        self.profile.mkdir(parents=True, exist_ok=True)
        to_child = _high_pipe()
        from_child = _high_pipe()
        out = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        actions = [
            (os.POSIX_SPAWN_DUP2, to_child[0], 3),
            (os.POSIX_SPAWN_DUP2, from_child[1], 4),
            (os.POSIX_SPAWN_DUP2, out, 1),
            (os.POSIX_SPAWN_DUP2, out, 2),
        ]
        argv = [
            self.executable,
            *FLAGS,
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            "about:blank",
        ]
        try:
            self.pid = os.posix_spawn(
                self.executable, argv, dict(os.environ), file_actions=actions, setpgroup=0
            )
        finally:
            os.close(to_child[0])
            os.close(from_child[1])
            os.close(out)
        self._write, self._read = to_child[1], from_child[0]
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (BrowserError, OSError):
            pass
        for fd in (self._write, self._read):
            try:
                os.close(fd)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.05)
        try:
            os.killpg(self.pid, signal.SIGKILL)  # its own process group: the renderers too
        except ProcessLookupError:
            return
        os.waitpid(self.pid, 0)

    # -- the protocol ---------------------------------------------------------------------------
    def call(
        self, method: str, params: dict | None = None, session: str | None = None, timeout=None
    ) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or CALL_TIMEOUT)
        while True:
            for i, m in enumerate(self._events):
                if m.get("id") == self._id:
                    del self._events[i]
                    if "error" in m:
                        raise BrowserError(f"{method}: {m['error']}")
                    return m.get("result", {})
            self._pump(deadline, method)

    def _pump(self, deadline: float, what: str) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError(f"no answer to {what} within the timeout ({self.log})")
        ready, _, _ = select.select([self._read], [], [], min(left, 0.5))
        if not ready:
            return
        chunk = os.read(self._read, 1 << 20)
        if not chunk:
            raise BrowserError(f"Chromium closed the pipe during {what}; see {self.log}")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        self._events += [json.loads(m) for m in messages if m]

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._pump(deadline, "events")
            except BrowserError:
                return

    def events(self, session: str) -> list[dict]:
        """Events of one page so far (removed from the queue)."""
        mine = [e for e in self._events if "method" in e and e.get("sessionId") == session]
        self._events = [e for e in self._events if e not in mine]
        return mine

    # -- pages ----------------------------------------------------------------------------------
    def page(self, width: int, height: int = 900) -> str:
        """A new tab with the network blocked and logging on; its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self._targets[session] = target
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method, session=session)
        self.call("Network.setBlockedURLs", {"urls": BLOCKED}, session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        return session

    def open(self, url: str, width: int, *, settle: str = "true", wait: float = 60.0) -> tuple:
        """Load `url` at `width` CSS pixels; wait for `settle` (a JS expression) to be true.

        Returns (session, PageVisit) with the requests and errors seen until then.
        """
        session = self.page(width)
        self.call("Page.navigate", {"url": url}, session)
        deadline = time.monotonic() + wait
        while True:
            ready = self.evaluate(session, f"document.readyState === 'complete' && ({settle})")
            if ready is True:
                break
            if time.monotonic() > deadline:
                raise BrowserError(f"{url} did not settle ({settle}) within {wait:g} s")
            self._drain(0.2)
        self._drain(0.5)  # late requests and console messages
        visit = PageVisit(url, width)
        for e in self.events(session):
            method, params = e["method"], e.get("params", {})
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"][:200])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "assert",
            ):
                visit.console_errors.append(_console_text(params))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text")
                visit.console_errors.append(f"exception: {text}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                visit.console_errors.append(f"{entry.get('source')}: {entry.get('text')}")
        geometry = self.evaluate(session, _GEOMETRY)
        visit.scroll_width = geometry["scroll"]
        visit.inner_width = geometry["inner"]
        visit.overflowing = geometry["over"]
        visit.title = geometry["title"]
        return session, visit

    def evaluate(self, session: str, expression: str):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:60]}…: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path, max_height: int = 6000) -> Path:
        """A PNG of the page from the top, as tall as the page (at most `max_height` px)."""
        height = min(
            int(self.evaluate(session, "document.documentElement.scrollHeight")), max_height
        )
        width = int(self.evaluate(session, "window.innerWidth"))
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
            session,
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def pdf(self, session: str, path: Path) -> Path:
        """The page printed as the browser prints it (CSS @page size, no header or footer)."""
        printed = self.call(
            "Page.printToPDF",
            {"preferCSSPageSize": True, "displayHeaderFooter": False, "printBackground": True},
            session,
        )
        path.write_bytes(base64.b64decode(printed["data"]))
        return path

    def close_page(self, session: str) -> None:
        target = self._targets.pop(session, None)
        if target is not None:
            self.call("Target.closeTarget", {"targetId": target})


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are above 10, so dup2 onto 3 and 4 never clobbers one of them."""
    r, w = os.pipe()
    high = (fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10))
    os.close(r)
    os.close(w)
    return high


def _console_text(params: dict) -> str:
    parts = []
    for arg in params.get("args", []):
        parts.append(str(arg.get("value", arg.get("description", ""))))
    return f"console.{params.get('type')}: {' '.join(parts)}"


#: The page's width against the window's, and the elements sticking out past its right edge.
_GEOMETRY = """(() => {
  const inner = window.innerWidth;
  const over = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > inner + 1) {
      let parent = el.parentElement, clipped = false;
      while (parent && parent !== document.body) {
        const s = getComputedStyle(parent);
        if (s.overflowX !== 'visible' && parent.getBoundingClientRect().right <= inner + 1) {
          clipped = true; break;
        }
        parent = parent.parentElement;
      }
      if (!clipped) over.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') +
        ' right=' + Math.round(r.right));
    }
    if (over.length >= 10) break;
  }
  return {scroll: document.documentElement.scrollWidth, inner, over, title: document.title};
})()"""
