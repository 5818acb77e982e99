"""Fault injection, and the ASGI layer that applies faults and records every request.

Faults fire before authentication, like a proxy or Jira's rate limiter in front of the site.
"""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import FakeJira

KINDS = ("429", "503", "500", "timeout", "lost_response", "reset", "captcha", "slow")


@dataclass(slots=True)
class Fault:
    kind: str
    method: str | None = None
    path: re.Pattern[str] | None = None
    times: int | None = 1  # how often it fires; None = until cleared
    retry_after: float | None = None
    delay: float | None = None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or bool(self.path.search(path)))


@dataclass
class Faults:
    """`faults.add(method="POST", path=r"/rest/api/\\d/issue$", kind="429", times=3, retry_after=1)`.

    kinds: "429" (Retry-After + X-RateLimit-*), "503" (Retry-After if given), "500",
    "timeout" (waits `delay` s, default 30, then 504; the request is NOT applied),
    "lost_response" (the request IS applied, then after `delay` s, default 0, the connection
    is dropped with no answer), "reset" (the connection is dropped at once; the request is NOT
    applied: a proxy or load balancer failing), "captcha" (403 + X-Authentication-Denied-Reason),
    "slow" (waits `delay` s, default 2, then answers normally: a slow Jira).
    """

    rules: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self,
        *,
        kind: str,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {KINDS}")
        rule = Fault(kind, method.upper() if method else None, re.compile(path) if path else None,
                     times, retry_after, delay)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first active rule matching this request, counted as fired."""
        if not self.rules:
            return None
        with self._lock:
            for rule in self.rules:
                if (rule.times is None or rule.fired < rule.times) and rule.matches(method, path):
                    rule.fired += 1
                    return rule
        return None


def _seconds(value: float) -> bytes:
    return str(int(value) if float(value).is_integer() else value).encode()


def _json_body(messages: list[str]) -> bytes:
    return json.dumps({"errorMessages": messages, "errors": {}}).encode()


class FaultLayer:
    """ASGI middleware: records (method, path, status) and applies injected faults."""

    def __init__(self, app: Any, site: "FakeJira") -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        if self.site.latency_s > 0:
            await asyncio.sleep(self.site.latency_s)
        log = self.site.request_log
        fault = self.site.faults.take(method, path)
        if fault is not None and fault.kind == "slow":
            await self._sleep(2.0 if fault.delay is None else fault.delay)
            fault = None
        if fault is None:
            async def logged_send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    log.append((method, path, message["status"]))
                await send(message)

            return await self.app(scope, receive, logged_send)
        if fault.kind == "lost_response":
            return await self._lost_response(scope, receive, fault, method, path)
        if fault.kind == "reset":
            log.append((method, path, None))
            return await self._drop(scope)
        if fault.kind == "timeout":
            log.append((method, path, None))
            await self._sleep(30.0 if fault.delay is None else fault.delay)
            return await _answer(send, 504, _json_body(["Gateway timeout (injected fault)."]))
        status, headers, body = self._canned(fault, scope)
        log.append((method, path, status))
        await _answer(send, status, body, headers)

    def _canned(self, fault: Fault, scope: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if fault.kind == "429":
            wait = fault.retry_after if fault.retry_after is not None else 1
            reset = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() + wait))
            headers = [(b"retry-after", _seconds(wait)),
                       (b"x-ratelimit-limit", b"350"), (b"x-ratelimit-remaining", b"0"),
                       (b"x-ratelimit-reset", reset.encode()), (b"ratelimit-reason", b"jira-burst-based")]
            return 429, headers, _json_body(["Rate limit exceeded."])
        if fault.kind == "503":
            headers = [] if fault.retry_after is None else [(b"retry-after", _seconds(fault.retry_after))]
            return 503, headers, _json_body(["Service Unavailable (injected fault)."])
        if fault.kind == "captcha":
            host = dict(scope["headers"]).get(b"host", b"localhost").decode()
            reason = f"CAPTCHA_CHALLENGE; login-url=http://{host}/login.jsp"
            return 403, [(b"x-seraph-loginreason", b"AUTHENTICATION_DENIED"),
                         (b"x-authentication-denied-reason", reason.encode())], b""
        return 500, [], _json_body(["Internal server error (injected fault)."])

    async def _lost_response(self, scope: dict, receive: Any, fault: Fault, method: str, path: str) -> None:
        async def swallow(message: dict) -> None:
            pass  # the work is done; the answer never leaves

        await self.app(scope, receive, swallow)
        self.site.request_log.append((method, path, None))
        if fault.delay:
            await self._sleep(fault.delay)
        await self._drop(scope)

    async def _drop(self, scope: dict) -> None:
        transport = scope.get("fake_jira.transport")
        if transport is None:  # not under FakeJiraServer: let the server drop the connection
            raise ConnectionAbortedError("fake Jira: response lost (injected fault)")
        transport.abort()
        for _ in range(3):  # let the server see the disconnect, so it sends no 500
            await asyncio.sleep(0)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops."""
        closing = self.site._closing
        end = time.monotonic() + seconds
        while not closing.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))


async def _answer(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    hdrs = [(b"content-type", b"application/json;charset=UTF-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hdrs + (headers or [])})
    await send({"type": "http.response.body", "body": body})
