"""uvicorn's h11 protocol with a deadline for the request head, and a count of what it closes.

uvicorn 0.54 arms its keep-alive timer only after a response and cancels it on any byte
received: a connection that sends nothing, or half a request head, was held forever (with
``limit_concurrency``, 130 of them made every route answer 503). Here the same timer
(``timeout_keep_alive``, set from SERVING_READ_TIMEOUT_S) also starts when a connection
opens and stops only once a whole request head has arrived. The body has its own
deadline in the app (``BodyLimitMiddleware``).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

from .metrics import CONNECTIONS_CLOSED


class DeadlineH11Protocol(H11Protocol):
    """Closes a connection that has not sent a complete request head in time."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        """uvicorn's, minus cancelling the timer: ``handle_events`` does at a complete head."""
        self.conn.receive_data(data)
        self.handle_events()

    def timeout_keep_alive_handler(self) -> None:
        """Count a connection closed with half a head or before any request; then close."""
        if not self.transport.is_closing():
            if self.conn.trailing_data[0]:
                CONNECTIONS_CLOSED["header_timeout"] += 1
            elif self.cycle is None:
                CONNECTIONS_CLOSED["idle_timeout"] += 1
        super().timeout_keep_alive_handler()

    def send_400_response(self, msg: str) -> None:
        """Count the requests h11 could not parse (uvicorn answers them 400 and closes)."""
        CONNECTIONS_CLOSED["malformed_request"] += 1
        super().send_400_response(msg)
