"""Flashduty Open API: the comment texts that `i_comm` webhooks do not carry (flashduty.md §3).

What the feed looks like (docs.flashcat.cloud `api-reference/on-call/incidents/incident-feed`,
and `RawTimelineItem` in github.com/flashcatcloud/flashduty-sdk):
`POST /incident/feed?app_key=` with `{"incident_id", "p", "limit" (≤ 100), "asc"}` answers
`{"request_id", "data": {"items": [...], "has_next_page"}}`; an item is `{"ref_id" (the
incident id, not an entry id), "type", "detail", "account_id", "creator_id", "person_id",
"created_at" (ms), "updated_at"}`, and an `i_comm` item has `detail.comment`. Items carry
person ids, no names: the SDK resolves them with `POST /person/infos {"person_ids"}` →
`data.items[].person_id/person_name`, and so do we. Errors are `{"error": {"code", "message"}}`.

The app key travels in the query string (Flashduty's only way), so it is redacted from
every message we raise and from httpx's own request log.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx

from ..observe import tracing
from ..outbound_http import AiohttpTransport

__all__ = ["DEFAULT_BASE_URL", "FlashdutyApi", "FlashdutyApiError", "FlashdutyComment"]

DEFAULT_BASE_URL = "https://api.flashcat.cloud"
log = logging.getLogger(__name__)

_PAGE_LIMIT = 100  # the feed's maximum page size
_MAX_PAGES = 200  # 20,000 entries: a guard against a server that always says has_next_page
_RETRYABLE_CODES = {"RequestTooFrequently", "InternalError", "ServiceUnavailable"}
_APP_KEY_IN_URL = re.compile(r"(app_key=)[^&\s\"'>]+")


@dataclass(frozen=True, slots=True)
class FlashdutyComment:
    id: str  # the feed's id when it gives one, else a hash of (created_at, creator, text)
    text: str
    author: str  # "" when Flashduty does not tell
    created_at: int  # milliseconds since the epoch, as the feed gives it
    creator_id: str = ""  # the member's person id, when the feed gives it


class FlashdutyApiError(Exception):
    """A Flashduty API call failed. `retryable` says whether trying again later can help."""

    def __init__(
        self,
        message: str,
        retryable: bool,
        *,
        status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.code = code  # Flashduty's error code, e.g. "Unauthorized"
        self.retry_after = retry_after  # seconds, from a 429's Retry-After


class FlashdutyApi:
    def __init__(
        self,
        base_url: str,
        app_key: str,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._key = app_key
        self._timeout = timeout
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport())  # tests hand in theirs
        _redact_httpx_log()

    def __repr__(self) -> str:
        return f"FlashdutyApi({self._base!r}, app_key=<secret>)"

    async def comments(self, incident_id: str) -> list[FlashdutyComment]:
        """Every non-empty comment on the incident, oldest first."""
        found: dict[str, tuple[FlashdutyComment, str]] = {}
        for page in range(1, _MAX_PAGES + 1):
            # asc=true keeps pages stable while comments are being added: new entries
            # land on the last page instead of shifting every page by one.
            data = await self._post(
                "/incident/feed",
                {"incident_id": incident_id, "p": page, "limit": _PAGE_LIMIT, "asc": True},
            )
            items = data.get("items")
            items = items if isinstance(items, list) else []
            for item in items:
                parsed = _comment(item)
                if parsed:
                    found.setdefault(parsed[0].id, parsed)
            if not items or data.get("has_next_page") is not True:
                break
        else:
            log.warning("Flashduty feed of %s has over %d pages; read the first ones only",
                        incident_id, _MAX_PAGES)
        names = await self._names({creator for c, creator in found.values() if not c.author})
        result = [
            c if c.author or creator not in names else _with_author(c, names[creator])
            for c, creator in found.values()
        ]
        return sorted(result, key=lambda c: (c.created_at, c.id))

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> FlashdutyApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals
    async def _names(self, person_ids: set[str]) -> dict[str, str]:
        ids = sorted(int(p) for p in person_ids if p.isdigit() and int(p) > 0)
        if not ids:
            return {}
        try:
            data = await self._post("/person/infos", {"person_ids": ids})
        except FlashdutyApiError as e:
            if e.retryable:
                raise
            # An app key without member-read permission still gets the comment texts.
            log.warning("Flashduty comment authors unknown: %s", e.message)
            return {}
        items = data.get("items")
        return {
            str(p.get("person_id")): p["person_name"]
            for p in (items if isinstance(items, list) else [])
            if isinstance(p, dict) and isinstance(p.get("person_name"), str)
        }

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        where = f"Flashduty {path}"
        # the span's URL is the one sent, with the app key in it: tracing.client_span redacts it
        with tracing.client_span("POST", f"{self._base}{path}?app_key={self._key}") as span:
            try:
                resp = await self._http.post(
                    self._base + path, params={"app_key": self._key}, json=body, timeout=self._timeout
                )
            except httpx.HTTPError as e:
                raise self._failed(where, e) from None
            tracing.set_status(span, resp.status_code)
        return self._data(where, resp)

    def _failed(self, where: str, e: httpx.HTTPError) -> FlashdutyApiError:
        if isinstance(e, httpx.TimeoutException):
            return FlashdutyApiError(f"{where}: no answer within {self._timeout:g} s", True)
        # raised `from None`: the httpx exception holds the request, whose URL has the key.
        detail = self._redact(str(e)) or type(e).__name__
        return FlashdutyApiError(f"{where}: {detail}", True)

    def _data(self, where: str, resp: httpx.Response) -> dict[str, Any]:
        status = resp.status_code
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        err = payload.get("error") if isinstance(payload, dict) else None
        code, said = "", ""
        if isinstance(err, dict):
            code, said = str(err.get("code") or ""), self._redact(str(err.get("message") or ""))
        if status == 200 and not (code or said):
            data = payload.get("data") if isinstance(payload, dict) else None
            if isinstance(data, dict):
                return data
            if isinstance(payload, dict) and "data" in payload and data is None:
                return {}
            # A 200 that is not Flashduty's envelope: a proxy or captive portal, most likely.
            raise FlashdutyApiError(f"{where}: HTTP 200 without a JSON data object", True, status=200)
        retryable = status in (408, 429) or status >= 500 or code in _RETRYABLE_CODES
        told = ": ".join(part for part in (code, said) if part)
        message = f"{where}: HTTP {status}" + (f" {told}" if told else "")
        if status in (401, 403) or code in ("Unauthorized", "AccessDenied"):
            message += " (check the Flashduty app key and its permissions)"
        request_id = payload.get("request_id") if isinstance(payload, dict) else None
        if request_id:
            message += f" [request_id {request_id}]"
        raise FlashdutyApiError(message, retryable, status=status, code=code,
                                retry_after=_seconds(resp.headers.get("retry-after")))

    def _redact(self, text: str) -> str:
        text = _APP_KEY_IN_URL.sub(r"\1<secret>", text)
        return text.replace(self._key, "<secret>") if self._key else text


def _seconds(retry_after: str | None) -> float | None:
    try:
        return float(retry_after) if retry_after else None
    except ValueError:  # an HTTP date: rare enough to leave to the caller's own backoff
        return None


def _comment(item: Any) -> tuple[FlashdutyComment, str] | None:
    """An `i_comm` feed item → (comment, creator id), or None to skip it."""
    if not isinstance(item, dict) or item.get("type") != "i_comm":
        return None
    detail = item.get("detail") if isinstance(item.get("detail"), dict) else {}
    text = detail.get("comment")
    if not isinstance(text, str) or not text.strip():
        return None
    created_at = _ms(item.get("created_at"))
    creator = _id_text(item.get("creator_id")) or _id_text(item.get("person_id"))
    author = _first_name(item, detail)
    entry_id = _id_text(item.get("id")) or _id_text(item.get("feed_id"))
    if not entry_id:
        # The feed has no per-entry id (`ref_id` is the incident's), so derive one that
        # is the same on every read: the sync remembers which comments it copied by id.
        digest = hashlib.sha256(f"{created_at}\x1f{creator}\x1f{text}".encode()).hexdigest()
        entry_id = "fdc-" + digest[:32]
    return FlashdutyComment(entry_id, text, author, created_at, creator), creator


def _first_name(item: dict[str, Any], detail: dict[str, Any]) -> str:
    # Not in today's feed; read if a newer Flashduty (or a proxy) puts names inline.
    for holder in (item, detail):
        for key in ("creator_name", "person_name", "operator_name"):
            if isinstance(holder.get(key), str) and holder[key].strip():
                return holder[key].strip()
        for key in ("creator", "person", "operator"):
            who = holder.get(key)
            if isinstance(who, dict) and isinstance(who.get("person_name"), str):
                if who["person_name"].strip():
                    return who["person_name"].strip()
    return ""


def _with_author(c: FlashdutyComment, author: str) -> FlashdutyComment:
    return FlashdutyComment(c.id, c.text, author, c.created_at, c.creator_id)


def _id_text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value) if value else ""
    return value.strip() if isinstance(value, str) else ""


def _ms(value: Any) -> int:
    """Feed times are milliseconds; a value that can only be seconds is scaled up."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0
    try:
        n = int(float(value))
    except (ValueError, OverflowError):
        return 0
    return n * 1000 if 0 < n < 100_000_000_000 else max(n, 0)


class _RedactAppKey(logging.Filter):
    """httpx logs every request URL at INFO; ours carry `app_key=` in the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "app_key=" in message:
            record.msg, record.args = _APP_KEY_IN_URL.sub(r"\1<secret>", message), None
        return True


def _redact_httpx_log() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactAppKey) for f in logger.filters):
        logger.addFilter(_RedactAppKey())
