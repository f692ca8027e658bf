"""How `opsagent serve` runs uvicorn: its limits, and an HTTP protocol with a header deadline.

uvicorn closes idle keep-alive connections, but nothing bounds how long a client may take to send a
request's headers: a connection that sends nothing, or one header byte a second (slowloris), is held for
as long as the client likes, and a few hundred of them exhaust the server. The protocols here arm a
timer when a connection opens and after each response, cancel it when a request's headers are complete,
and close the connection when it fires. They also cap the request line and headers (431 beyond, before
anything is kept), which httptools alone does not. The body has its own deadline (opsagent/api/limits.py).

The limits are class attributes, set from Settings by `configure_protocol` before uvicorn starts: uvicorn
builds one protocol object per connection from the class, and `serve --processes N` builds each process's
app (app_from_environment, which calls configure_protocol) before that process accepts connections.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from opsagent.config import Settings

log = logging.getLogger(__name__)
TOO_LARGE = b"Request line and headers are too large (OPSAGENT_API_MAX_HEADER_BYTES).\n"


class HeaderDeadline:
    """The limits every protocol here applies (set by configure_protocol)."""

    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024


def configure_protocol(settings: Settings) -> None:
    """Apply the settings' header limits to every connection accepted from now on."""
    HeaderDeadline.header_timeout = settings.api_header_timeout_seconds
    HeaderDeadline.max_header_bytes = settings.api_max_header_bytes


class _Deadline:
    """A connection's header timer: armed while a request's headers are awaited."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> None:
        self.loop = loop
        self.transport = transport
        self.timer: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        self.cancel()
        self.timer = self.loop.call_later(HeaderDeadline.header_timeout, self._expired)

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self) -> None:
        self.timer = None
        if not self.transport.is_closing():
            log.debug("closing a connection that sent no complete request headers in time")
            self.transport.close()


def _refuse_oversized(transport: asyncio.Transport) -> None:
    transport.write(
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
        + f"content-length: {len(TOO_LARGE)}\r\nconnection: close\r\n\r\n".encode()
        + TOO_LARGE
    )
    transport.close()


class H11WithDeadlines(H11Protocol):
    """uvicorn's h11 protocol with the header deadline (h11 itself caps the header size)."""

    _deadline: _Deadline

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline = _Deadline(self.loop, transport)
        self._deadline.arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in
            self._deadline.cancel()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._deadline.arm()


class HttpToolsWithDeadlines(HttpToolsProtocol):
    """uvicorn's httptools protocol with the header deadline and a header size cap."""

    _deadline: _Deadline
    _header_bytes = 0
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline = _Deadline(self.loop, transport)
        self._deadline.arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # the parser stopped because of the 431 already sent
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._deadline.cancel()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._deadline.arm()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > HeaderDeadline.max_header_bytes and not self._refused:
            self._refused = True
            self._deadline.cancel()
            _refuse_oversized(self.transport)
            raise ConnectionAbortedError("request headers too large")  # stops the parser


def http_protocol() -> type[asyncio.Protocol]:
    """The protocol class uvicorn should use (httptools: chromadb already requires uvicorn[standard])."""
    return HttpToolsWithDeadlines


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for these settings (also applies configure_protocol)."""
    configure_protocol(settings)
    return {
        "host": settings.api_host,
        "port": settings.api_port,
        "http": http_protocol(),
        "timeout_keep_alive": settings.api_keep_alive_seconds,
        "limit_concurrency": settings.api_max_concurrency,
        "h11_max_incomplete_event_size": settings.api_max_header_bytes,
        "log_config": None,  # configure_logging already routed uvicorn's loggers
        "access_log": False,  # our access line (opsagent.api.logs) replaces uvicorn's
        "timeout_graceful_shutdown": 30,
    }
