"""A headless Chromium page for the browser tests that cannot leave this machine.

Chromium is the system's (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright for Python (its own browser download cannot work offline). Every request that leaves
127.0.0.1 is blocked and recorded in ``page.outside``, so a CDN reference fails a test instead of
being fetched; console messages are kept in ``page.console``.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@contextlib.contextmanager
def local_page(**page_options) -> Iterator:
    """A new page in a new headless Chromium; skips the test when Playwright or Chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(**page_options)
            page.outside, page.console = [], []
            page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))

            def local_only(route):
                if urlparse(route.request.url).hostname in LOCAL_HOSTS:
                    route.continue_()
                else:
                    page.outside.append(route.request.url)
                    route.abort()

            page.route("**/*", local_only)
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()
