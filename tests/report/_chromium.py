"""A small DevTools-protocol client for headless Chromium (Debian's `chromium`), over
websocket-client: open a page, collect console errors, exceptions and network requests,
evaluate an expression, take a full-page screenshot.

Chromium is started with `--remote-debugging-port=0` and prints the browser's WebSocket
address on stderr; the page target is created through the browser endpoint and driven
over its own flattened session. Every wait has a deadline on the receive timeout; nothing
sleeps.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import websocket

__all__ = ["ChromiumMissing", "PageVisit", "find_chromium", "visit"]

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
STARTUP_TIMEOUT_S = 60.0
PAGE_TIMEOUT_S = 60.0


class ChromiumMissing(RuntimeError):
    pass


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumMissing(
        "headless Chromium is needed to open the report in a real browser and was not found: "
        "install Debian's package with `apt-get update && apt-get install -y chromium`"
    )


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)  # console.error calls, exceptions, log errors
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    evaluated: Any = None
    screenshot_png: bytes = b""
    browser_stderr: str = ""


class _Session:
    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=PAGE_TIMEOUT_S, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session_id: str | None = None) -> dict:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, wanted: Callable[[dict], bool], deadline: float) -> None:
        """Until an event `wanted` accepts has arrived (events are kept for the collectors)."""
        if any(wanted(event) for event in self.events):
            return
        while True:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            event = json.loads(self.ws.recv())  # raises WebSocketTimeoutException past the deadline
            self.events.append(event)
            if wanted(event):
                return

    def close(self) -> None:
        self.ws.close()


def _read_stderr(process: subprocess.Popen, lines: list[str], found: threading.Event, url: list[str]) -> None:
    for raw in process.stderr:  # type: ignore[union-attr]
        line = raw.decode(errors="replace")
        lines.append(line)
        match = _LISTENING.search(line)
        if match and not url:
            url.append(match.group(1))
            found.set()
    found.set()  # stderr closed: the browser is gone


def visit(page: Path, expression: str, width: int = 1280, height: int = 900) -> PageVisit:
    """Open `page` (a file) in headless Chromium; evaluate `expression` after the load event
    (its JSON value lands in `evaluated`); take a full-page screenshot."""
    binary = find_chromium()
    profile = tempfile.mkdtemp(prefix="mmd-chromium-")
    args = [
        binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
        "--disable-extensions", "--disable-background-networking", "--disable-sync", "--metrics-recording-only",
        "--mute-audio", "--hide-scrollbars", f"--user-data-dir={profile}", "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1", "--enable-logging=stderr", "--v=0", f"--window-size={width},{height}",
        "about:blank",
    ]
    env = {**os.environ, "HOME": profile}  # keep the profile and crash dumps out of the real home
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=env)
    stderr_lines: list[str] = []
    found, url = threading.Event(), []
    reader = threading.Thread(target=_read_stderr, args=(process, stderr_lines, found, url), daemon=True)
    reader.start()
    result = PageVisit()
    try:
        if not found.wait(STARTUP_TIMEOUT_S) or not url:
            raise RuntimeError("Chromium did not open its DevTools endpoint:\n" + "".join(stderr_lines[-30:]))
        browser = _Session(url[0])
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session_id=session)
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                         session_id=session)
            browser.send("Page.setLifecycleEventsEnabled", {"enabled": True}, session_id=session)
            browser.events.clear()
            navigation = browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session_id=session)
            if navigation.get("errorText"):
                raise RuntimeError(f"Chromium could not open {page}: {navigation['errorText']}")
            loader = navigation["loaderId"]
            browser.wait_for(
                lambda e: e.get("method") == "Page.lifecycleEvent"
                and e["params"].get("name") == "load" and e["params"].get("loaderId") == loader,
                time.monotonic() + PAGE_TIMEOUT_S,
            )
            evaluated = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                          "awaitPromise": True}, session_id=session)
            result.evaluated = evaluated.get("result", {}).get("value")
            metrics = browser.send("Page.getLayoutMetrics", session_id=session)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = browser.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            }, session_id=session)
            result.screenshot_png = base64.b64decode(shot["data"])
            _collect(browser.events, result)
        finally:
            browser.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)
        result.browser_stderr = "".join(stderr_lines)
    return result


def _collect(events: list[dict], result: PageVisit) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            words = (str(a.get("value", a.get("description", ""))) for a in params["args"])
            result.console_errors.append(" ".join(words))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            result.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            result.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            result.requests.append(params.get("request", {}).get("url", ""))
