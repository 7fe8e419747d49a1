"""Headless Chromium with no network but the loopback: what a user's browser shows offline.

Why a real browser: a page that loads its scripts from a CDN is complete as HTML and blank
on screen; only running its scripts with the network cut tells the two apart.
"""

from __future__ import annotations

import subprocess
import tempfile

from conftest import tool_or_skip

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # every host name fails to resolve, as offline; the loopback address stays reachable
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=15000",  # let the page's scripts run before the DOM is read
]


def offline_dom(url: str) -> str:
    """The DOM after the page's scripts ran, in Chromium with the network cut."""
    chromium = tool_or_skip("chromium")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
