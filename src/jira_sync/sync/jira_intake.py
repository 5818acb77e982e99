"""Accepting Jira's admin webhooks for two-way sync: authenticate, read the hint, commit.

Authentication (two-way-and-recovery.md §3): a webhook saved with a secret is signed
(Cloud; Data Center 10+): `X-Hub-Signature: sha256=<HMAC-SHA256 of the raw body>`. Server/DC
7.x-8.x sign nothing, so the secret rides in the URL (`?secret=`) there. Either proves it.
Dedupe: `X-Atlassian-Webhook-Identifier` stays the same across Cloud's retries; a delivery
without one (Server/DC) is known by the SHA-256 of its body, which carries its timestamp.
Jira is answered 2xx only after the commit, and 5xx (never 4xx) when the event could not be
stored, so that Cloud retries; 4xx only for what a retry cannot fix (auth, not JSON).
The event is a hint: the incident is queued and the reconcile reads the issue itself.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from ..crypto import SecretBox, signature_matches, text_matches
from ..store import jira_inbound as store
from ..store.db import ConstraintViolated, Engine, write
from .changes import IntegrationRows
from .ingest import UNAUTHORIZED, UNAVAILABLE, IngestResult

log = logging.getLogger(__name__)


class JiraIntake:
    def __init__(self, engine: Engine, rows: IntegrationRows, box: SecretBox, wake: asyncio.Event | None) -> None:
        self.engine, self.rows, self.box, self.wake = engine, rows, box, wake

    async def ingest(self, integration_id: int, body: bytes, *, signature: str | None, url_secret: str | None,
                     identifier: str | None) -> IngestResult:
        try:
            row = await self.rows.get(integration_id)
        except Exception:
            log.exception("could not read integration %s", integration_id)
            return UNAVAILABLE
        secret = self.box.decrypt(row.jira_webhook_secret_enc) if row and row.jira_webhook_secret_enc else None
        if row is None or secret is None or not (
                signature_matches(secret, body, signature) or text_matches(url_secret, secret)):
            return UNAUTHORIZED
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return IngestResult(400, {"error": "bad_payload", "message": "the body is not JSON"})
        if not isinstance(payload, dict):
            return IngestResult(400, {"error": "bad_payload", "message": "the body is not a JSON object"})
        meta = row.meta()
        hint = read_hint(integration_id, payload, identifier or "sha256:" + hashlib.sha256(body).hexdigest(),
                         meta.account_id)
        try:
            async with write(self.engine) as conn:
                outcome = await store.accept_hint(conn, hint)
        except ConstraintViolated:  # deleted a moment ago
            self.rows.forget(integration_id)
            return UNAUTHORIZED
        except Exception:
            log.exception("could not store a Jira webhook event")
            return UNAVAILABLE  # 503: Jira Cloud retries it
        if outcome == "queued" and self.wake is not None:
            self.wake.set()  # committed: this process's worker takes it now
        return IngestResult(200, {"status": outcome, "issue": hint.issue_key or hint.issue_id})


def read_hint(integration_id: int, payload: dict[str, Any], delivery_id: str, our_account: str | None) -> store.Hint:
    """The issue and who acted, from an admin webhook's body (`user` on issue events, the
    comment's author on comment events). An empty body (excludeBody) names no issue."""
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    comment = payload.get("comment") if isinstance(payload.get("comment"), dict) else {}
    who = payload.get("user") if isinstance(payload.get("user"), dict) else None
    if who is None:
        who = comment.get("updateAuthor") or comment.get("author")
    actor = None
    if isinstance(who, dict):
        actor = who.get("accountId") or who.get("name") or who.get("key")
    kind = str(payload.get("webhookEvent") or "unknown")
    return store.Hint(
        integration_id=integration_id, delivery_id=delivery_id, issue_id=_text(issue.get("id")),
        issue_key=_text(issue.get("key")), source="webhook", kind=kind, actor=str(actor) if actor else None,
        ours=bool(actor and our_account and str(actor) == our_account),
    )


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None
