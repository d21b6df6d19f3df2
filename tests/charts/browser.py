"""A minimal headless Chromium driver over the Chrome DevTools Protocol (CDP): open a local page,
wait for its load event, evaluate JavaScript, take a full-page screenshot.

Uses the Chromium of the OS packages and the `websockets` package; nothing is downloaded. The
browser is started with everything that phones home switched off.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


class Page:
    def __init__(self, ws: Any, session: str) -> None:
        self._ws = ws
        self._session = session
        self._ids = itertools.count(1)
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        msg_id = next(self._ids) + 1000
        self._ws.send(
            json.dumps({"id": msg_id, "method": method, "params": params or {}, "sessionId": self._session})
        )
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        for i, message in enumerate(self.events):
            if message.get("method") == event:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("method") == event:
                return message
            self.events.append(message)

    def open(self, url: str) -> None:
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextlib.contextmanager
def headless_page(width: int = 1280, height: int = 900) -> Iterator[Page]:
    from websockets.sync.client import connect

    binary = chromium_path()
    if binary is None:
        raise RuntimeError("chromium not installed")
    profile = Path(tempfile.mkdtemp(prefix="commstats-chromium-"))
    proc = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",  # tests may run as root in a container
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--metrics-recording-only",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",  # any free port, written to DevToolsActivePort
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, browser_path = port_file.read_text().splitlines()[:2]
        with connect(f"ws://127.0.0.1:{port}{browser_path}", max_size=None, open_timeout=30) as ws:
            ids = itertools.count(1)

            def browser(method: str, params: dict) -> dict:
                msg_id = next(ids)
                ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
                while True:
                    message = json.loads(ws.recv(timeout=30))
                    if message.get("id") == msg_id:
                        return message["result"]

            target = browser("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            yield Page(ws, session)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


# every <img> with its natural size and whether it finished loading; every table with its body rows
PAGE_PROBE = """
JSON.stringify({
  images: Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,
                                                  width: i.naturalWidth, height: i.naturalHeight})),
  tables: Array.from(document.querySelectorAll('table')).map(t => t.tBodies.length ? t.tBodies[0].rows.length : 0),
  title: document.title,
  headings: Array.from(document.querySelectorAll('h2')).map(h => h.textContent),
})
"""


def probe(page: Page) -> dict:
    return json.loads(page.evaluate(PAGE_PROBE))
