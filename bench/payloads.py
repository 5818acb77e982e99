"""Webhook payloads from the Flashduty emulator, and the raw HTTP requests that carry them."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jira_sync.devtools.fake_flashduty import FakeFlashduty

# Each incident's life in the ingest runs: opened, then three updates. Comments are left
# out on purpose: syncing one reads Flashduty's feed, and that emulator runs in the bench
# process, where it would steal CPU from the load generator.
UPDATES: list[Callable[[FakeFlashduty, str], dict[str, Any]]] = [
    lambda fd, iid: fd.set_severity(iid, "Warning"),
    lambda fd, iid: fd.ack(iid),
    lambda fd, iid: fd.resolve(iid),
]
MIX = "1 i_new : 3 updates (i_r_severity, i_ack, i_rslv)"
BLOCK = 50  # incidents opened together before their updates follow


def ingest_events(fd: FakeFlashduty, count: int) -> tuple[list[dict[str, Any]], int]:
    """`count` distinct deliveries (fresh event ids) and how many incidents they open.

    In blocks of BLOCK incidents: all i_new first, then each kind of update, so an update
    goes out well after its incident's i_new, as in Flashduty where they are seconds apart.
    """
    events: list[dict[str, Any]] = []
    incidents = 0
    while len(events) < count:
        block = [fd.open_incident() for _ in range(BLOCK)]
        incidents += min(BLOCK, count - len(events))
        ids = [p["incident"]["incident_id"] for p in block]
        events.extend(block)
        for update in UPDATES:
            events.extend(update(fd, iid) for iid in ids)
    return events[:count], incidents


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def webhook_request(host: str, port: int, path: str, headers: dict[str, str], payload: dict[str, Any]) -> bytes:
    """The whole HTTP/1.1 request, built once so sending it costs one write."""
    data = body(payload)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data
