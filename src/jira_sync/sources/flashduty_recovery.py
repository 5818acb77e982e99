"""Flashduty's Open API reads that recover missed webhooks (two-way-and-recovery.md §1).

- `POST /webhook/history/list` `{limit ≤ 100, start_time, end_time (Unix ms), status:
  "failed", integration_id?, asc, search_after_ctx}` → `{items, total, search_after_ctx}`;
  an item's `request_body` is the exact payload that was sent, `request_headers` the headers
  (JSON text), `endpoint` the URL. The cursor is empty on the last page.
- `POST /incident/list-by-ids` `{incident_ids (≤ 100)}` → `{items}`: snapshots with the
  webhook's incident fields (times in seconds) and `updated_at`.

Every account may make 50 requests a second and 1,000 a minute (429 `RequestTooFrequently`
beyond). Recovery is a background job that shares the account with the comment reads and
whatever else uses the key, so it keeps to half of that (`AccountPacer`, one per account in
the process), and a 429 pauses the account's recovery calls before the call is tried again.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from typing import Any, AsyncIterator

import httpx

from .flashduty_api import FlashdutyApi, FlashdutyApiError

PER_SECOND = 25  # half of Flashduty's 50/s per account
PER_MINUTE = 500  # half of its 1,000/min
PAGE = 100  # the history's and list-by-ids' largest page
MAX_429_TRIES = 6
FIRST_PAUSE = 1.0  # seconds after a 429 that names no Retry-After; doubles, up to a minute
MAX_PAUSE = 60.0


class AccountPacer:
    """Sliding one-second and one-minute windows over the calls made for one account."""

    def __init__(self, per_second: int = PER_SECOND, per_minute: int = PER_MINUTE) -> None:
        self.per_second, self.per_minute = per_second, per_minute
        self._calls: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._calls and self._calls[0] <= now - 60:
                    self._calls.popleft()
                waits = [self._paused_until - now]
                if len(self._calls) >= self.per_minute:
                    waits.append(self._calls[0] + 60 - now)
                recent = [t for t in self._calls if t > now - 1]
                if len(recent) >= self.per_second:
                    waits.append(recent[0] + 1 - now)
                wait = max(waits)
                if wait <= 0:
                    self._calls.append(now)
                    return
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class Pacers:
    """One pacer per Flashduty account (base URL + app key) in this process."""

    def __init__(self) -> None:
        self._by_account: dict[tuple[str, str], AccountPacer] = {}

    def for_account(self, base_url: str, app_key: str) -> AccountPacer:
        key = (base_url.rstrip("/"), hashlib.sha256(app_key.encode()).hexdigest())
        return self._by_account.setdefault(key, AccountPacer())


class RecoveryApi(FlashdutyApi):
    """The reads recovery makes, paced per account; a 429 waits and tries again."""

    def __init__(self, base_url: str, app_key: str, pacer: AccountPacer, *,
                 http: httpx.AsyncClient | None = None, timeout: float = 10.0) -> None:
        super().__init__(base_url, app_key, http=http, timeout=timeout)
        self.pacer = pacer
        self.calls = 0
        self.rate_limited = 0  # 429s met (each waited out)

    async def failed_deliveries(self, start_ms: int, end_ms: int, integration_id: int | None
                                ) -> AsyncIterator[dict[str, Any]]:
        """Failed webhook deliveries with an event time in [start_ms, end_ms], oldest first."""
        body: dict[str, Any] = {"limit": PAGE, "start_time": start_ms, "end_time": end_ms, "status": "failed",
                                "asc": True}
        if integration_id:
            body["integration_id"] = integration_id
        while True:
            data = await self._post("/webhook/history/list", body)
            items = data.get("items")
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    yield item
            cursor = data.get("search_after_ctx")
            if not items or not isinstance(cursor, str) or not cursor:
                return
            body = {**body, "search_after_ctx": cursor}

    async def incidents(self, incident_ids: list[str]) -> list[dict[str, Any]]:
        """Current snapshots of these incidents (at most PAGE ids); unknown ids are left out."""
        data = await self._post("/incident/list-by-ids", {"incident_ids": incident_ids[:PAGE]})
        items = data.get("items")
        return [i for i in (items if isinstance(items, list) else []) if isinstance(i, dict)]

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        pause = FIRST_PAUSE
        for attempt in range(1, MAX_429_TRIES + 1):
            await self.pacer.wait_turn()
            self.calls += 1
            try:
                return await super()._post(path, body)
            except FlashdutyApiError as e:
                if e.status != 429 and e.code != "RequestTooFrequently" or attempt == MAX_429_TRIES:
                    raise
                self.rate_limited += 1
                self.pacer.pause(e.retry_after if e.retry_after is not None else pause)
                pause = min(pause * 2, MAX_PAUSE)
        raise AssertionError("unreachable")
