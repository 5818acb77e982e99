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
