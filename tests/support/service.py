"""The real service (uvicorn + FastAPI + worker) on a loopback port, in a background thread."""
from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import uvicorn

from jira_sync.settings import Settings
from jira_sync.web.app import create_app


class ServiceThread:
    def __init__(self, settings: Settings, *, run_worker: bool = True) -> None:
        self.settings = settings
        self.app = create_app(settings, run_worker=run_worker)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def start(self) -> "ServiceThread":
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("service did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.settings.public_url = self.url
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


class Api:
    """A small client for the REST API with the admin token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    def create_integration(self, config: dict[str, Any], **params: Any) -> dict[str, Any]:
        r = self.http.post("/api/integrations", json=config, params=params)
        assert r.status_code == 201, r.text
        return r.json()

    def incident(self, integration_id: int, incident_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/integrations/{integration_id}/incidents/{incident_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_synced(self, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the queue until nothing waits or is in flight (what an operator's script does)."""
        deadline = time.time() + timeout
        while True:
            stats = self.http.get("/api/queue").json()
            if stats["waiting"] == 0 and stats["in_flight"] == 0:
                return stats
            if time.time() > deadline:
                raise AssertionError(f"queue not drained: {stats}")
            time.sleep(0.02)
