"""How `jira-sync serve` listens: uvicorn with the limits a reverse proxy would give.

uvicorn has a concurrency limit, a keep-alive timeout and proxy-header handling of its own;
they are set from the settings here, so the service is safe without a proxy in front:

- `MAX_CONNECTIONS`: past it, new requests get 503 at once (uvicorn's `limit_concurrency`).
- `KEEPALIVE_TIMEOUT`: an idle connection is closed after it.
- `HEADER_TIMEOUT` and `MAX_HEADER_BYTES`: uvicorn (httptools) waits for request headers
  forever and buffers them without bound, so one slow or endless client would hold a
  connection slot. `GuardedProtocol` answers 408 or 431 and closes. (Bodies have their own
  deadline, `BODY_TIMEOUT`, in `web/input.py`.)
- `X-Forwarded-For` is believed only from `TRUSTED_PROXIES` (uvicorn trusts 127.0.0.1 by
  default, which let a local client pick its own address and dodge the sign-in lock-out).
"""
from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..settings import Settings


def uvicorn_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = dict(
        host=settings.host, port=settings.port, log_level=settings.log_level.lower(), access_log=False,
        log_config=None,  # uvicorn's lines go through the root handler (observe/logs.py): JSON or console
        http=guarded_protocol(settings.header_timeout, settings.max_header_bytes),
        limit_concurrency=settings.max_connections, timeout_keep_alive=settings.keepalive_timeout,
        proxy_headers=False,  # web/app.py adds uvicorn's ProxyHeadersMiddleware for TRUSTED_PROXIES only
        timeout_graceful_shutdown=15,
    )
    return uvicorn.Config(app, **(options | overrides))


def guarded_protocol(header_timeout: float, max_header_bytes: int) -> type[asyncio.Protocol]:
    class GuardedProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with a deadline and a size limit for request headers."""

        _header_bytes: int | None = 0  # None while a request's body and response are under way
        _header_timer: asyncio.TimerHandle | None = None
        _tail = b""  # the last bytes read while in the headers

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_bytes is not None:
                if self._header_timer is None:  # the first bytes of a request on a kept-alive connection
                    self._arm()
                # only the bytes up to the blank line that ends the headers count (a body may follow
                # in the same read); the line may be split between two reads
                end = (self._tail + data).find(b"\r\n\r\n")
                self._header_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
                if self._header_bytes > max_header_bytes:
                    return self._refuse(b"431 Request Header Fields Too Large")
                self._tail = data[-3:]
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._header_bytes = None
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._header_bytes, self._tail = 0, b""  # the next request's headers, if any, are counted afresh
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self._header_bytes is not None:
                self._refuse(b"408 Request Timeout")

        def _refuse(self, status: bytes) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self.transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                self.transport.close()

    return GuardedProtocol
