"""What `ekb serve` adds to uvicorn: a time limit on a request's headers.

uvicorn closes a keep-alive connection that stays idle (`timeout_keep_alive`) but waits for ever for headers
that trickle in a byte at a time (slowloris): each such connection holds a socket and a file descriptor. The
request body has its own limit in the application (`Settings.body_timeout_s`), which headers never reach.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class HeaderDeadline:
    """A mixin for uvicorn's HTTP protocols (h11, httptools): the connection is closed if a request's headers
    are not complete `header_timeout_s` after the connection opened or the previous response ended. It relies
    on what both protocols keep: `cycle` (the request in progress, replaced when new headers are complete),
    `transport` and `loop`."""

    header_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._await_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_headers()

    def _await_headers(self) -> None:
        waiting_after = self.cycle  # None on a new connection; the finished request on a kept-alive one

        def expire() -> None:
            current = self.cycle
            no_new_request = current is waiting_after and (current is None or current.response_complete)
            if no_new_request and not self.transport.is_closing():
                self.transport.close()

        self.loop.call_later(self.header_timeout_s, expire)


def http_protocol(header_timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's default HTTP protocol class with a deadline for each request's headers."""
    return type("EkbHttpProtocol", (HeaderDeadline, AutoHTTPProtocol), {"header_timeout_s": header_timeout_s})
