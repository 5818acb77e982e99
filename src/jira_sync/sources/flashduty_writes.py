"""Writing back to the Flashduty incident (two-way sync): `/incident/ack`, `/unack`, `/resolve`,
`/reopen`, `/comment`, `/reset`, and who the app key acts as (`/member/info`).

Facts (two-way-and-recovery.md §2): writes need the "Incidents Manage" permission of the app
key's member (403 AccessDenied otherwise); success is `data: null`; there is no idempotency key
and what ack of an acknowledged incident answers is unverified, so the caller reads the
incident first and treats "already there" as success (`incident`, then only the missing step).
Calls are paced per account with recovery's pacer, so both together keep within the account's
50/s and 1,000/min, and a 429 `RequestTooFrequently` is waited out (`RecoveryApi._post`).
The app key rides in the query string and is redacted from every message (`flashduty_api.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .flashduty_api import FlashdutyApiError
from .flashduty_recovery import RecoveryApi


@dataclass(frozen=True, slots=True)
class Member:
    """Who the app key acts as: events and feed entries by this person are our own echoes."""

    person_id: int
    name: str


class FlashdutyWriter(RecoveryApi):
    """The Open API client of one integration: comment reads (inherited), recovery reads, writes."""

    _member: Member | None = None

    async def member(self) -> Member:
        if self._member is None:
            data = await self._post("/member/info", {})
            pid = data.get("member_id") or data.get("person_id") or 0
            self._member = Member(int(pid) if str(pid).isdigit() else 0, str(data.get("member_name") or ""))
        return self._member

    async def incident(self, incident_id: str) -> dict[str, Any]:
        """The incident as Flashduty holds it now (the webhook's incident fields)."""
        data = await self._post("/incident/info", {"incident_id": incident_id})
        if not data.get("incident_id"):
            raise FlashdutyApiError(f"Flashduty /incident/info: incident {incident_id} not found", False)
        return data

    async def act(self, action: str, incident_id: str, **notes: str) -> None:
        """ack | unack | resolve (resolution, root_cause) | reopen (reason)."""
        if action not in ("ack", "unack", "resolve", "reopen"):
            raise ValueError(f"unknown incident action {action!r}")
        body: dict[str, Any] = {"incident_ids": [incident_id]}
        body.update({k: v[:1024] for k, v in notes.items() if v})
        await self._post(f"/incident/{action}", body)

    async def comment(self, incident_id: str, text: str) -> None:
        await self._post("/incident/comment", {"incident_ids": [incident_id], "comment": text})

    async def set_severity(self, incident_id: str, severity: str) -> None:
        await self._post("/incident/reset", {"incident_id": incident_id, "incident_severity": severity})

    async def may_write(self) -> tuple[bool, str]:
        """Whether the key may write incidents, without changing any: an ack of no incident is
        refused for the permission (403) before the body is looked at (400), as Flashduty checks
        key, rate, permission, then body (inferred from its error order)."""
        try:
            await self._post("/incident/ack", {"incident_ids": []})
        except FlashdutyApiError as exc:
            if exc.status == 403 or exc.code == "AccessDenied":
                return False, "the app key's member may not manage incidents (403 AccessDenied)"
            if exc.status == 400:
                return True, "the app key may write incidents"
            raise
        return True, "the app key may write incidents"
