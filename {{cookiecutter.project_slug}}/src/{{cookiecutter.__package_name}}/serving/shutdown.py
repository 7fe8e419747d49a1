"""Graceful shutdown: on SIGTERM, readiness turns 503 first, then the server drains.

uvicorn closes its socket and finishes in-flight requests on SIGTERM, but it has no step
where the app can tell a load balancer to stop sending traffic. This handler runs before
uvicorn's: it marks the app as draining and hands the signal on ``delay_s`` later.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType


def install_drain_handler(on_drain: Callable[[], None], delay_s: float) -> Callable[[], None]:
    """Chain a SIGTERM handler in front of the server's; returns a function that removes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # e.g. TestClient runs the app in a thread: no signals there
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return lambda: None  # no server handler to hand the signal to
    loop = asyncio.get_running_loop()
    seen = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal seen
        first, seen = not seen, True
        if first:
            on_drain()
            if delay_s > 0:
                loop.call_soon_threadsafe(loop.call_later, delay_s, previous, signum, None)
                return
        previous(signum, frame)  # a second SIGTERM skips the delay

    signal.signal(signal.SIGTERM, handle)

    def remove() -> None:
        if signal.getsignal(signal.SIGTERM) is handle:
            signal.signal(signal.SIGTERM, previous)

    return remove
