"""The browser and the local server that every browser test shares, one of each per
session: conftest.py registers these fixtures once, so no test module starts a second
Playwright (its sync API refuses to start inside a running one)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import built_site as site
import pytest
from playwright.sync_api import sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    path = (
        os.environ.get("AIROAD_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not path:
        pytest.fail(
            "tests_site: no Chromium found; install Debian's `chromium` (`apt-get "
            "install -y chromium`) "
            "or set AIROAD_CHROMIUM to a Chromium executable"
        )
    return path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def base_url():
    """The site served at http://127.0.0.1:PORT/airoad-book/, as on its host."""
    with tempfile.TemporaryDirectory() as root:
        mount = Path(root) / site.BASE_PATH.strip("/")
        mount.parent.mkdir(parents=True, exist_ok=True)
        mount.symlink_to(site.SITE, target_is_directory=True)
        handler = functools.partial(_Quiet, directory=root)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()
