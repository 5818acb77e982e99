"""Talking to the service outside the measured paths: integrations, queue state, and
one-at-a-time webhook deliveries (parts 2 and 3)."""
from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

# The shape tests/e2e/conftest.py uses, against the seeded Cloud emulator.
CLOUD_CREDENTIALS = {"platform": "cloud", "username": "admin@example.com", "secret": "cloud-token"}
SEVERITY_MAP = {"Critical": "Highest", "Warning": "Medium", "Info": "Low"}


def integration_config(name: str, jira_url: str, trigger: str, flashduty: tuple[str, str] | None = None) -> dict:
    cfg: dict[str, Any] = {
        "name": name,
        "jira": {"url": jira_url, **CLOUD_CREDENTIALS},
        "trigger": trigger,
        "project": "OPS",
        "issue_type": "10001",
        "severity_map": SEVERITY_MAP,
    }
    if flashduty is not None:  # (base_url, app_key): only needed to sync comments
        cfg["flashduty"] = {"base_url": flashduty[0], "app_key": flashduty[1]}
    return cfg


@dataclass(frozen=True)
class Webhook:
    path: str  # /webhooks/flashduty/<id>
    headers: dict[str, str]  # {X-Jira-Sync-Secret: secret}


class ServiceApi:
    def __init__(self, url: str, admin_token: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)

    def close(self) -> None:
        self.http.close()

    def create_integration(self, config: dict[str, Any]) -> Webhook:
        r = self.http.post("/api/integrations", json=config, params={"check": "true"})
        if r.status_code != 201:
            raise RuntimeError(f"creating integration {config['name']!r}: {r.status_code} {r.text}")
        hook = r.json()["webhook"]
        return Webhook(urlsplit(hook["url"]).path, {hook["header"]: hook["secret"]})

    def queue(self) -> dict[str, Any]:
        r = self.http.get("/api/queue")
        r.raise_for_status()
        return r.json()

    def wait_drained(self, timeout: float, poll: float = 0.005, stall: float = 20.0) -> dict[str, Any]:
        """Poll until nothing waits or is in flight. Bounded by `timeout` seconds, and gives up
        sooner when the queue stops moving for `stall` seconds (a crashed reconcile keeps its
        lease for LEASE_SECONDS; waiting that out would only hide the error)."""
        deadline = time.monotonic() + timeout
        last, moved_at = None, time.monotonic()
        while True:
            stats = self.queue()
            if stats["waiting"] == 0 and stats["in_flight"] == 0:
                return stats
            now = time.monotonic()
            shape = (stats["waiting"], stats["in_flight"], stats["linked"], stats["failed"])
            if shape != last:
                last, moved_at = shape, now
            elif now - moved_at > stall:
                raise RuntimeError(f"the sync queue stopped moving for {stall:.0f}s: {stats} (see the service log)")
            if now > deadline:
                raise RuntimeError(f"the sync queue did not drain within {timeout:.0f}s: {stats}")
            time.sleep(poll)


class WebhookClient:
    """Blocking, keep-alive deliveries for the one-at-a-time probes: the bench thread
    sleeps in the socket read, so the in-process emulators get the CPU meanwhile."""

    def __init__(self, url: str, hook: Webhook) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.hook = hook
        self.headers = {"Content-Type": "application/json", **hook.headers}

    def send(self, payload: dict[str, Any]) -> tuple[int, float, float]:
        """Deliver one payload: (status, perf_counter() just before the write, and once answered).
        The service closes a connection idle for KEEPALIVE_TIMEOUT (5 s); a probe that waited
        longer finds it closed when it writes, and sends again on a new one, as HTTP client
        libraries do with a stale pooled connection (the webhook is idempotent by event_id)."""
        data = json.dumps(payload, separators=(",", ":")).encode()
        try:
            return self._send(data)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.conn.close()
            return self._send(data)

    def _send(self, data: bytes) -> tuple[int, float, float]:
        t0 = time.perf_counter()
        self.conn.request("POST", self.hook.path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        resp.read()
        return resp.status, t0, time.perf_counter()

    def close(self) -> None:
        self.conn.close()
