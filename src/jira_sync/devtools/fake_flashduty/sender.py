"""Deliver webhook payloads the way Flashduty does (flashduty.md §1).

POST JSON with the configured custom headers, 2 s timeout, success only on HTTP 200.
At most one retry, and only after a network error (deadline exceeded, i/o timeout,
EOF; connection failures too): a non-200 answer is final and is never retried.
"""
from __future__ import annotations

import json
from typing import Any

import httpx

# What Flashduty retries on: no answer at all. A status code, any status code, is an answer.
_NETWORK_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_ATTEMPTS = 2  # the first try and at most one retry


class WebhookSender:
    """`send(payload) -> status` (sync) and `asend` (async), each over a keep-alive pool.

    A payload is a dict (sent as compact JSON) or bytes (sent as is). After the retry
    fails too, the network error is raised.
    """

    def __init__(
        self, url: str, headers: dict[str, str] | None = None, *, timeout: float = 2.0,
        verify: bool = True,
    ) -> None:
        self.url = url
        self.headers = {**(headers or {}), "Content-Type": "application/json"}
        self.timeout = timeout
        self._verify = verify
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None

    def send(self, payload: dict[str, Any] | bytes) -> int:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, verify=self._verify)
        body = _body(payload)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return self._client.post(self.url, content=body, headers=self.headers).status_code
            except _NETWORK_ERRORS:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def asend(self, payload: dict[str, Any] | bytes) -> int:
        # Made on first use: an AsyncClient's pool belongs to the event loop that uses it.
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(timeout=self.timeout, verify=self._verify)
        body = _body(payload)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                resp = await self._aclient.post(self.url, content=body, headers=self.headers)
                return resp.status_code
            except _NETWORK_ERRORS:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        self.close()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _body(payload: dict[str, Any] | bytes) -> bytes:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
