"""HTML pages to A4 PDFs with headless Chromium, as a browser prints them.

One Chromium process for all pages, driven over its DevTools protocol with a few tabs at once:
starting Chromium once per page (``--print-to-pdf``) cost about a second per factsheet here.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from diaspora.errors import DiasporaError

A4_INCHES = (8.27, 11.69)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ChromiumMissing(DiasporaError):
    """No Chromium on this machine: PDFs cannot be printed."""


def find_chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def print_pdfs(pages: list[Path], tabs: int = 3, timeout: float = 60.0) -> list[Path]:
    """Print every HTML page to ``<page>.pdf`` beside it (A4, backgrounds, no header or footer)."""
    executable = find_chromium()
    if executable is None:
        raise ChromiumMissing(
            "No Chromium found on PATH (looked for " + ", ".join(CHROMIUM_NAMES) + "): the HTML "
            "factsheets are written, their PDFs are not. Install it (Debian: apt-get install chromium)."
        )
    if not pages:
        return []
    profile = tempfile.mkdtemp(prefix="diaspora-chromium-")
    try:
        browser = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: its helpers stop with it
        )
        try:
            endpoint = _devtools_endpoint(Path(profile), browser, timeout)
            return asyncio.run(_print_all(endpoint, pages, tabs, timeout))
        finally:
            _stop(browser)
    finally:
        _remove(Path(profile))


def _stop(browser: subprocess.Popen) -> None:
    """Chromium and every helper process it started (renderers, crash handler)."""
    try:
        os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait(timeout=10)
    except ProcessLookupError:  # already gone
        pass


def _remove(profile: Path, attempts: int = 50) -> None:
    """The browser's profile folder, once the last helper stopped writing into it (a helper still
    writing made the removal fail with 'Directory not empty' after the PDFs were printed)."""
    for _ in range(attempts):
        try:
            shutil.rmtree(profile)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    shutil.rmtree(profile, ignore_errors=True)


def _devtools_endpoint(profile: Path, browser: subprocess.Popen, timeout: float) -> str:
    """The browser's websocket, from the port file Chromium writes in its profile folder."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            raise DiasporaError(f"Chromium exited at start with code {browser.returncode}")
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise DiasporaError(f"Chromium did not open its DevTools port within {timeout:.0f} s")


class _DevTools:
    """Commands and events of one browser connection (flat sessions: one per tab)."""

    def __init__(self, socket) -> None:  # noqa: ANN001 - a websockets client connection
        self.socket = socket
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future] = {}
        self.loaded: dict[str, asyncio.Queue] = {}

    async def listen(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message and message["id"] in self.pending:
                self.pending.pop(message["id"]).set_result(message)
            elif message.get("method") == "Page.loadEventFired" and message.get("sessionId") in self.loaded:
                self.loaded[message["sessionId"]].put_nowait(True)

    async def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        message_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[message_id] = future
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.socket.send(json.dumps(message))
        reply = await future
        if "error" in reply:
            raise DiasporaError(f"Chromium {method}: {reply['error'].get('message')}")
        return reply["result"]


async def _print_all(endpoint: str, pages: list[Path], tabs: int, timeout: float) -> list[Path]:
    import websockets

    async with websockets.connect(endpoint, max_size=None) as socket:
        devtools = _DevTools(socket)
        listener = asyncio.create_task(devtools.listen())
        queue: asyncio.Queue[Path] = asyncio.Queue()
        for page in pages:
            queue.put_nowait(page)
        written: list[Path] = []

        async def tab() -> None:
            target = await devtools.call("Target.createTarget", {"url": "about:blank"})
            attached = await devtools.call(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )
            session = attached["sessionId"]
            devtools.loaded[session] = asyncio.Queue()
            await devtools.call("Page.enable", session=session)
            while not queue.empty():
                page = queue.get_nowait()
                await devtools.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
                await asyncio.wait_for(devtools.loaded[session].get(), timeout)
                pdf = await devtools.call(
                    "Page.printToPDF",
                    {
                        "paperWidth": A4_INCHES[0],
                        "paperHeight": A4_INCHES[1],
                        "printBackground": True,
                        "preferCSSPageSize": True,
                        "displayHeaderFooter": False,
                    },
                    session,
                )
                target_path = page.with_suffix(".pdf")
                target_path.write_bytes(base64.b64decode(pdf["data"]))
                written.append(target_path)

        try:
            await asyncio.wait_for(
                asyncio.gather(*(tab() for _ in range(max(1, min(tabs, len(pages)))))), None
            )
        finally:
            listener.cancel()
        return sorted(written)
