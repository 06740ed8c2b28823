"""The HTML report: self-contained, and rendered by headless Chromium with no console errors.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``),
so the test sees console messages, uncaught exceptions and browser log entries
(a resource that fails to load, for instance), asks the live DOM what was drawn,
and takes a full-page screenshot.  A negative control checks that the same
harness does catch a console error, so the clean result means something.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import sys
import time
from pathlib import Path

import pytest

from autogan.cli import main

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
SHOT_DIR = Path(os.environ.get("AUTOGAN_SCREENSHOT_DIR", tempfile.gettempdir()))
ROOT = Path(__file__).resolve().parents[2]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


# Chromium wants the pipe on fds 3 and 4 exactly.  Duplicate both ends out of the way
# first, since either may already be fd 3 or 4, then place them and exec Chromium.
_WIRE_AND_EXEC = (
    "import os, sys\n"
    "read_end, write_end = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))\n"
    "os.dup2(read_end, 3)\n"
    "os.dup2(write_end, 4)\n"
    "os.set_inheritable(3, True)\n"  # os.dup may have returned 3 or 4, and dup2 onto itself is a no-op
    "os.set_inheritable(4, True)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


class Browser:
    """The smallest DevTools client: JSON messages separated by NUL bytes on fds 3 (in) and 4 (out)."""

    def __init__(self, profile: Path):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WIRE_AND_EXEC, str(to_child_r), str(from_child_w), CHROMIUM, *FLAGS,
             f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_child_r, from_child_w),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_child], [], [], remaining)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def open(self, url: str) -> str:
        """A new tab on ``url`` with console, log and page events on; returns its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        return session

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console messages of any level, uncaught exceptions and browser warnings or errors."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                found.append(f"console.{params['type']}: " + " ".join(str(a.get("value")) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("warning", "error"):
                found.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return found

    def screenshot(self, session: str, path: Path, width: int = 1300) -> None:
        height = int(self.evaluate(session, "document.documentElement.scrollHeight"))
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_child)
        os.close(self._from_child)


MISSING_CHROMIUM = "chromium is not installed (Debian: apt-get install chromium, or `make browser`); the HTML report was not rendered"


def require_chromium(chromium: str | None, env) -> str:
    """The browser's path; without one, a skip on a developer's machine and a failure in CI.

    CI promises the browser test ran: there a missing chromium is a broken setup, not a
    reason to pass quietly.
    """
    if chromium is not None:
        return chromium
    if env.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"CI={env['CI']}: {MISSING_CHROMIUM}", pytrace=False)
    pytest.skip(MISSING_CHROMIUM)


def test_a_missing_chromium_fails_in_ci_and_skips_elsewhere():
    assert require_chromium("/opt/chromium", {"CI": "true"}) == "/opt/chromium"
    with pytest.raises(pytest.fail.Exception, match=r"CI=true: chromium is not installed.*`make browser`"):
        require_chromium(None, {"CI": "true"})
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        require_chromium(None, {"CI": "1"})
    for env in ({}, {"CI": "false"}, {"CI": ""}):
        with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
            require_chromium(None, env)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_chromium(CHROMIUM, os.environ)
    instance = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def report(synthetic_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["inspect", str(synthetic_run), "--report", str(path)]) == 0
    return path


def test_report_is_self_contained(report):
    text = report.read_text()
    assert "<script" not in text  # no JavaScript at all, so none from a CDN
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "@import" not in text and "url(http" not in text
    assert text.count('src="data:image/png;base64,') == 1
    assert "[search]" in text and "stage_iterations = [" in text  # the resolved config


def test_report_renders_in_chromium_without_console_errors(browser, report):
    session = browser.open(report.resolve().as_uri())
    dom = browser.evaluate(
        session,
        """(() => {
            const img = document.querySelector('img.grid');
            const size = s => Array.from(document.querySelectorAll(s)).map(e => e.getBoundingClientRect())
                .filter(r => r.width > 100 && r.height > 100).length;
            return {
                rows: document.querySelectorAll('table.ranking tbody tr').length,
                diagrams: size('svg.arch'),
                charts: size('figure.chart svg'),
                resets: document.querySelectorAll('figure.chart [id^="reset-"]').length,
                image: img !== null && img.complete && img.naturalWidth > 0,
                config: document.querySelector('pre').textContent.includes('[train]'),
            };
        })()""",
    )
    shot = SHOT_DIR / "autogan_report_screenshot.png"
    browser.screenshot(session, shot)
    assert browser.problems() == []
    assert dom == {"rows": 5, "diagrams": 5, "charts": 4, "resets": 3, "image": True, "config": True}  # 3 curves, quality against size
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width == 1300 and image.height > 2000
        # Not a blank page: the diagrams and charts put plenty of coloured pixels on it.
        colours = image.convert("RGB").resize((260, image.height // 5)).getcolors(1 << 16)
        assert colours is not None and len(colours) > 50


def test_the_harness_catches_a_console_error(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("deliberate")</script></body></html>')
    browser.open(page.as_uri())
    assert any("deliberate" in p for p in browser.problems())


def test_watched_report_follows_a_live_run_and_stops_reloading_at_its_end(browser, make_synthetic_run, tmp_path):
    from autogan.files import DirectoryLock

    run, page = tmp_path / "run", tmp_path / "live.html"
    record = make_synthetic_run(run, finished=False)
    writer = DirectoryLock(run, what="run directory").acquire()  # this process plays the live search
    watcher = subprocess.Popen([sys.executable, "-m", "autogan.cli", "inspect", str(run), "--report", str(page),
                                "--watch", "--every", "1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 300
        while not page.exists() and watcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        live = page.read_text()
        assert '<meta http-equiv="refresh" content="1">' in live and f"status: running (pid {os.getpid()})" in live
        session = browser.open(page.resolve().as_uri())
        reloads = browser.evaluate(session, "document.querySelector('meta[http-equiv=refresh]') !== null")
        browser.screenshot(session, SHOT_DIR / "autogan_live_report_screenshot.png")
        assert reloads is True and browser.problems() == []
        state = record.read_state()
        record.write_state({**state, "phase": "done"})  # the search ends ...
        writer.release()  # ... and lets go of the run directory
        assert watcher.wait(timeout=120) == 0, watcher.stderr.read()[-3000:]
    finally:
        writer.release()
        if watcher.poll() is None:
            watcher.kill()
    final = page.read_text()
    assert 'http-equiv="refresh"' not in final and "status: done" in final
