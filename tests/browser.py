"""A minimal headless-Chromium driver over the DevTools protocol, for tests that must see a
page as a browser lays it out (the report: labels inside their charts, nothing cut).

The page under test stays script-free: measurements are expressions the test evaluates
from outside, through the protocol. Chromium binds its DevTools port on 127.0.0.1 (port 0:
the kernel picks one) and is started without network features.
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]


class Browser:
    """`with Browser() as b: page = b.open(url); page.evaluate(js); page.screenshot(path)`."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._events: list[dict] = []

    def __enter__(self) -> "Browser":
        from websockets.sync.client import connect
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self._proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + self.timeout
        url = None
        while url is None:
            line = self._proc.stderr.readline()
            if not line and self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._proc.returncode} before DevTools started")
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                url = m.group(1)
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not start DevTools in time")
        # keep draining stderr so chromium never blocks on a full pipe
        import threading
        threading.Thread(target=self._proc.stderr.read, daemon=True).start()
        self._ws = connect(url, max_size=None, open_timeout=self.timeout)
        return self

    def __exit__(self, *exc):
        try:
            self._ws.close()
        finally:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._profile.cleanup()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        msg_id = next(self._ids)
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._ws.send(json.dumps(msg))
        return self._wait(lambda m: m.get("id") == msg_id)

    def _wait(self, match) -> dict:
        """The first message `match` accepts; events that arrive meanwhile are kept, since
        one (a page's load event) may come before the answer to the command that caused it."""
        for m in self._events:
            if match(m):
                self._events.remove(m)
                return m.get("params", {})
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            m = json.loads(self._ws.recv(timeout=left))
            if match(m):
                if "error" in m:
                    raise RuntimeError(f"DevTools error: {m['error']}")
                return m.get("result", m.get("params", {}))
            if "method" in m:
                self._events.append(m)

    def open(self, url: str, width: int = 1160, height: int = 900) -> "Page":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        page.send("Page.navigate", {"url": url})
        self._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
        page.evaluate("document.fonts.ready.then(() => true)")
        return page


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path: str | Path, clip: tuple[float, float, float, float] | None = None) -> Path:
        """The whole page as a PNG, or the (x, y, width, height) part of it."""
        if clip is None:
            clip = (0, 0, *self.evaluate("[document.documentElement.scrollWidth, "
                                         "document.documentElement.scrollHeight]"))
        x, y, w, h = clip
        params = {"format": "png", "captureBeyondViewport": True,
                  "clip": {"x": x, "y": y, "width": w, "height": h, "scale": 1}}
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path
