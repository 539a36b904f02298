"""Headless Chromium (Debian's `chromium`) driven over its DevTools protocol with
websocket-client, for the browser tests (the dashboard, the report): open a URL and wait for
its load event, evaluate an expression, wait for a condition the page itself evaluates (a
promise with its own deadline; nothing here sleeps), read the page's text, take a full-page
screenshot, and read what the page did: console errors, failed or blocked loads, every URL
requested.

Chromium is started with `--remote-debugging-port=0` and prints the browser's WebSocket
address on stderr; one page target is created through the browser endpoint and driven over
its own flattened session. Every wait has a deadline on the receive timeout.
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
from typing import Any, Callable

import websocket

__all__ = ["Browser", "ChromiumMissing", "find_chromium"]

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
_START_TIMEOUT_S = 60.0
_REPLY_TIMEOUT_S = 60.0


class ChromiumMissing(RuntimeError):
    pass


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumMissing(
        "the browser tests open pages in headless Chromium, which was not found: "
        "install Debian's package with `apt-get update && apt-get install -y chromium`"
    )


class Browser:
    """One headless Chromium with one page. Use as a context manager."""

    def __init__(self, width: int = 1440, height: int = 900) -> None:
        binary = find_chromium()  # before anything is created that would need cleaning up
        self.width, self.height = width, height
        self.events: list[dict] = []
        self._next_id = 0
        self._ws: websocket.WebSocket | None = None
        self._profile = tempfile.mkdtemp(prefix="mmd-chromium-")
        self._stderr: list[str] = []
        args = [
            binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-sync", "--disable-component-update", "--metrics-recording-only", "--mute-audio",
            "--hide-scrollbars", f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1", "--enable-logging=stderr", "--v=0",
            f"--window-size={width},{height}", "about:blank",
        ]  # fmt: skip
        env = {**os.environ, "HOME": self._profile}  # profile and crash dumps stay out of the real home
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        found, url = threading.Event(), []
        self._reader = threading.Thread(target=self._read_stderr, args=(found, url), daemon=True)
        self._reader.start()
        try:
            if not found.wait(_START_TIMEOUT_S) or not url:
                raise RuntimeError("Chromium did not open its DevTools endpoint:\n" + "".join(self._stderr[-30:]))
            self._ws = websocket.create_connection(url[0], timeout=_REPLY_TIMEOUT_S, suppress_origin=True)
            target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            self.send("Page.setLifecycleEventsEnabled", {"enabled": True})
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
        except BaseException:
            self.close()
            raise

    def _read_stderr(self, found: threading.Event, url: list[str]) -> None:
        for raw in self._process.stderr:  # type: ignore[union-attr]
            line = raw.decode(errors="replace")
            self._stderr.append(line)
            match = _LISTENING.search(line)
            if match and not url:
                url.append(match.group(1))
                found.set()
        found.set()  # stderr closed: the browser is gone

    # -- the protocol ------------------------------------------------------------------------
    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        assert self._ws is not None
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)  # an event that arrived meanwhile: kept for the readers below

    def send(self, method: str, params: dict | None = None) -> dict:
        """One DevTools command to the page; its result."""
        return self._send(method, params, self._session)

    def _wait_for_event(self, wanted: Callable[[dict], bool], seconds: float) -> None:
        """Until an event `wanted` accepts has arrived (every event is kept)."""
        assert self._ws is not None
        if any(wanted(event) for event in self.events):
            return
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._ws.settimeout(max(0.1, deadline - time.monotonic()))
                event = json.loads(self._ws.recv())  # WebSocketTimeoutException past the deadline
                self.events.append(event)
                if wanted(event):
                    return
        finally:
            self._ws.settimeout(_REPLY_TIMEOUT_S)

    # -- what the tests use --------------------------------------------------------------------
    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        navigation = self.send("Page.navigate", {"url": url})
        if navigation.get("errorText"):
            raise RuntimeError(f"Chromium could not open {url}: {navigation['errorText']}")
        loader = navigation["loaderId"]

        def loaded(event: dict) -> bool:
            params = event.get("params", {})
            return (
                event.get("method") == "Page.lifecycleEvent"
                and params.get("name") == "load"
                and params.get("loaderId") == loader
            )

        self._wait_for_event(loaded, _REPLY_TIMEOUT_S)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of `expression` in the page (a promise is awaited); a thrown error
        fails the test."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise AssertionError(details.get("exception", {}).get("description") or details.get("text"))
        return result.get("result", {}).get("value")

    def wait_until(self, condition: str, seconds: float = 10.0) -> None:
        """Until the JS `condition` holds in the page; the page rejects after `seconds`."""
        timed_out = json.dumps(f"timed out after {seconds} s waiting for: {condition}")
        self.evaluate(
            f"""new Promise((resolve, reject) => {{
                const deadline = Date.now() + {seconds * 1000};
                const check = () => {{
                    if ({condition}) return resolve(true);
                    if (Date.now() > deadline) return reject(new Error({timed_out}));
                    setTimeout(check, 50);
                }};
                check();
            }})"""
        )

    def text(self) -> str:
        return self.evaluate("document.body.innerText")

    def screenshot(self) -> bytes:
        """A PNG of the whole page, beyond the window."""
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        return base64.b64decode(shot["data"])

    def mark(self) -> int:
        """A point in the browser's event log, to read only what happened after it."""
        return len(self.events)

    def console_errors(self, start: int = 0, end: int | None = None) -> list[str]:
        """Console errors, uncaught exceptions, browser log errors (CSP refusals among them)
        and loads that failed or were blocked, between two marks."""
        errors = []
        for event in self.events[start:end]:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed":
                errors.append(f"load failed: {params.get('errorText')} (blocked: {params.get('blockedReason')})")
        return errors

    def blocked_loads(self, start: int = 0, end: int | None = None) -> list[str]:
        """Why each load the browser refused (CSP among them) was blocked, between two marks."""
        return [
            e["params"].get("blockedReason", "")
            for e in self.events[start:end]
            if e.get("method") == "Network.loadingFailed" and e["params"].get("blockedReason")
        ]

    def requested_urls(self, start: int = 0, end: int | None = None) -> list[str]:
        """Every URL the page asked for, between two marks."""
        return [
            e["params"].get("request", {}).get("url", "")
            for e in self.events[start:end]
            if e.get("method") == "Network.requestWillBeSent"
        ]

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        asked_to_close = False
        if self._ws is not None:
            try:
                self._send("Browser.close")
            except Exception:  # the connection dropped as the browser went: it is closing
                pass
            asked_to_close = True
            self._ws.close()
            self._ws = None
        if not asked_to_close:
            self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
