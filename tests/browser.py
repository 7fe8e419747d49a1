"""Headless Chromium with no network but the loopback: what a user's browser shows offline.

Why a real browser: a page that loads its scripts from a CDN is complete as HTML and blank
on screen; only running its scripts with the network cut tells the two apart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

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


def require_tool(name: str) -> str:
    """The tool's path; skip without it on a developer machine, fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def offline_dom(url: str) -> str:
    """The DOM after the page's scripts ran, in Chromium with the network cut."""
    chromium = require_tool("chromium")
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
