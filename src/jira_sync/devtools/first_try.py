"""`jira-sync dev send-example`: deliver the documented example event and say what came of it.

A newcomer's first try ends at a Jira issue or at a sentence saying why none will come:
the webhook's answer is printed whole (`"sync": "queued"` or `"stored"` with its `note`),
then, when the event was queued, the incident is read back through the REST API until the
worker has linked an issue, failed, or the wait is over.
"""
from __future__ import annotations

import time
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import httpx

from ..app.models import SECRET_HEADER

_MEANING = {
    "queued": "queued: the worker creates or updates the Jira issue now",
    "stored": "stored, NOT synced: the integration's trigger did not fire for this event",
    "out_of_channel_scope": "stored, NOT synced: the event's channel is outside the integration's channels",
    "queued_comment_skipped": "queued, but the comment is skipped (no Flashduty app key)",
}


def post_example(webhook_url: str, secret: str, body: bytes) -> tuple[int, Any]:
    """POST the body as Flashduty does (JSON, the secret header); the status and the decoded answer."""
    resp = httpx.post(webhook_url, content=body, timeout=5.0,
                      headers={SECRET_HEADER: secret, "Content-Type": "application/json"})
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, resp.text


def explain_answer(status: int, answer: Any) -> list[str]:
    if status == 401:
        return ["refused: the secret does not match this integration (or there is no integration with this id)"]
    if status != 200 or not isinstance(answer, dict):
        return []
    if answer.get("status") == "duplicate":
        return ["duplicate: this event was received before; nothing changed (Flashduty's redeliveries are no-ops)"]
    sync = str(answer.get("sync"))
    lines = [f"sync: {_MEANING.get(sync, sync)}"]
    if answer.get("note"):
        lines.append(f"why: {answer['note']}")
    return lines


def wait_for_issue(webhook_url: str, admin_token: str, incident_id: str, seconds: float) -> Iterator[str]:
    """Read the incident through the REST API until it has a Jira issue or failed; one line each."""
    parts = urlsplit(webhook_url)
    integration_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
    base = f"{parts.scheme}://{parts.netloc}"
    url = f"{base}/api/integrations/{integration_id}/incidents/{quote(incident_id, safe='')}"
    deadline = time.monotonic() + seconds
    view: dict[str, Any] = {}
    with httpx.Client(timeout=5.0, headers={"Authorization": f"Bearer {admin_token}"}) as client:
        while True:
            resp = client.get(url)
            if resp.status_code == 401:
                yield "could not read the incident: the admin token here is not the server's (JIRA_SYNC_ADMIN_TOKEN)"
                return
            if resp.status_code == 200:
                view = resp.json()
                jira = view.get("jira") or {}
                if jira.get("key") and view.get("state") == "idle":
                    yield f"Jira issue {jira['key']} is in step: {jira.get('browse_url')}"
                    return
                if view.get("state") == "failed":
                    yield f"sync FAILED: {view.get('last_error')}"
                    break
            if time.monotonic() >= deadline:
                yield (f"no Jira issue yet after {seconds:g} s (state {view.get('state', '?')}"
                       + (f": {view['last_error']}" if view.get("last_error") else "") + ")")
                break
            time.sleep(0.25)
    yield f"see {base}/console/integrations/{integration_id} for the incident's timeline"
