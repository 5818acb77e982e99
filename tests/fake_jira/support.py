"""Helpers for the emulator's tests: credentials, ADF docs, shape checks, a site handle."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from jira_sync.devtools.fake_jira import FakeJira
from jira_sync.devtools.fake_jira.validation import component_validator

ADMIN = {"cloud": ("admin@example.com", "cloud-token"), "server": ("admin", "secret")}
VIEWER = {"cloud": ("viewer@example.com", "viewer-token"), "server": ("viewer", "viewer")}


def adf(text: str) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def assert_shape(component: str, payload: Any) -> None:
    """The payload matches the Jira Cloud OpenAPI component schema (our shapes are the real ones)."""
    errors = sorted(component_validator(component).iter_errors(payload), key=str)
    assert not errors, f"{component}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@dataclass
class Site:
    fake: FakeJira
    url: str
    http: httpx.Client  # authenticated as admin

    @property
    def api(self) -> str:
        """The API version a client of this flavour uses for rich text."""
        return "3" if self.fake.cloud else "2"

    def client(self, auth: Any = None, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=auth, timeout=kw.pop("timeout", 5), **kw)

    def as_viewer(self) -> httpx.Client:
        return self.client(VIEWER["cloud" if self.fake.cloud else "server"])

    def create(self, project: str = "OPS", *, api: str | None = None, **fields: Any) -> httpx.Response:
        api = api or self.api
        body = {"project": {"key": project}, "issuetype": {"id": "10001"}, "summary": "Disk full", **fields}
        return self.http.post(f"/rest/api/{api}/issue", json={"fields": body})

    def create_ok(self, project: str = "OPS", **fields: Any) -> dict[str, Any]:
        r = self.create(project, **fields)
        assert r.status_code == 201, r.text
        return r.json()


class Receiver:
    """A small HTTP server that records webhook POSTs and answers with scripted statuses
    (`answers`: a list of status codes used in order, then 200; `delay`: seconds before answering)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.delay = 0.0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                import time

                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._cond:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    delay = receiver.delay
                if delay:
                    time.sleep(delay)
                with receiver._cond:
                    receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "status": status})
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jira-hook"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def events(self) -> list[str]:
        import json

        with self._cond:
            return [json.loads(r["body"])["webhookEvent"] for r in self.requests if r["body"]]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
