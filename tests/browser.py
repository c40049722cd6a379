"""A small Playwright helper for the console's browser tests: the distribution's Chromium (installed by `make test`,
since Playwright's own browser download cannot be fetched here), with every request and console message watched.

A `Watched` page records console errors, page errors and any request to a host other than the server's, so a test
asserts that a view rendered cleanly and offline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Chromium is not installed: run `make test` (it installs Debian's chromium package)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    page: Page
    host: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # responses of 400 and above, for the error messages

    def problems(self) -> list[str]:
        return ([f"console: {e}" for e in self.errors] + [f"request to another host: {u}" for u in self.foreign]
                + [f"failed: {u}" for u in self.failed])

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def watched_page(browser: Browser, base_url: str, width: int = 1366, height: int = 900) -> Iterator[Watched]:
    """A fresh page (its own context: no storage from another test) that records console errors, uncaught page
    errors and requests to any host but the server's."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    watched = Watched(page, urlsplit(base_url).netloc)

    def on_request(request) -> None:
        parts = urlsplit(request.url)
        remote = parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != watched.host
        if remote or parts.scheme not in ("http", "https", "data", "blob", "about", "ws", "wss"):
            watched.foreign.append(request.url)

    page.on("request", on_request)
    page.on("response", lambda response: watched.failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.on("console", lambda message: watched.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    try:
        yield watched
    finally:
        context.close()
