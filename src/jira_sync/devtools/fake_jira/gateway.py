"""Cloud's API gateway and edge on the emulator's own host, and endpoints set missing.

- `GET /_edge/tenant_info` answers `{"cloudId": ...}` without auth (Cloud only), as
  `https://<site>.atlassian.net/_edge/tenant_info` does.
- `/ex/jira/{cloudId}/...` serves the same REST API as the site, as
  `https://api.atlassian.com/ex/jira/{cloudId}/...` does: self links carry the prefix,
  serverInfo's `baseUrl` stays the site URL (browse links belong on the site). Scoped API
  tokens (service accounts' always are) work only here; the site URL answers them 401
  (Atlassian KB "Retrieve my Atlassian site's cloud ID"; jira.md). Classic tokens work on both.
  Through the gateway, a scoped token needs the operation's scopes from the spec's
  `x-atlassian-oauth2-scopes` (classic, e.g. `write:jira-work`, or all its granular ones);
  otherwise `401 {"code":401,"message":"Unauthorized; scope does not match"}`, the answer
  integrators report from the gateway (raycast/extensions#11212). Admin webhooks
  (`/rest/webhooks/1.0`, not in the spec) need `manage:jira-webhook` (inferred).
  An unknown cloud id: 404 (inferred shape).
- `fake.missing` / `fake.add_missing`: see missing.py.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .faults import _answer

if TYPE_CHECKING:
    from .state import FakeJira

_PREFIX = re.compile(r"^/ex/jira/([^/]+)(/.*)?$")
PREFIX_KEY = "fake_jira.prefix"  # scope key: the gateway prefix a request came through ("" = site URL)
WEBHOOK_SCOPES = {"classic": ["manage:jira-webhook"], "granular": None}


class EdgeLayer:
    """ASGI middleware, inside FaultLayer: tenant_info, the gateway prefix, missing endpoints."""

    def __init__(self, app: Any, site: "FakeJira") -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, prefix = scope["path"], ""
        m = _PREFIX.match(path)
        if m and self.site.cloud:
            if m.group(1) != self.site.cloud_id:
                body = json.dumps({"code": 404, "message": "No site found for this cloud id."}).encode()
                return await _answer(send, 404, body)
            prefix, path = f"/ex/jira/{m.group(1)}", m.group(2) or "/"
            scope = {**scope, "path": path, "raw_path": path.encode(), PREFIX_KEY: prefix}
        if self.site._missing.hides(scope["method"], path):
            return await _jersey_404(scope, send)
        if path == "/_edge/tenant_info" and not prefix and self.site.cloud and scope["method"] == "GET":
            return await _answer(send, 200, json.dumps({"cloudId": self.site.cloud_id}).encode())
        return await self.app(scope, receive, send)


async def _jersey_404(scope: dict, send: Any) -> None:
    host = dict(scope["headers"]).get(b"host", b"localhost").decode()
    uri = f"{scope.get('scheme', 'http')}://{host}{scope.get(PREFIX_KEY, '')}{scope['path']}"
    await _answer(send, 404, json.dumps({"message": f"null for uri: {uri}", "status-code": 404}).encode())


# ------------------------------------------------------------ scopes
@cache
def _operations() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    data = json.loads((Path(__file__).parent / "schemas" / "scopes.json").read_text())["operations"]
    out = []
    for key, scopes in data.items():
        method, template = key.split(" ", 1)
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        out.append((literal, pattern, method, scopes))
    out.sort(key=lambda x: -x[0])  # most literal first: /issue/createmeta before /issue/{issueIdOrKey}
    return [(p, m, s) for _, p, m, s in out]


def required_scopes(method: str, path: str) -> dict[str, Any] | None:
    """The spec's scopes for an operation (v2 paths read as v3); None if the spec names none."""
    if path.startswith("/rest/webhooks/1.0/"):
        return WEBHOOK_SCOPES
    v3 = re.sub(r"^/rest/api/2/", "/rest/api/3/", path)
    for pattern, m, scopes in _operations():
        if m == method and pattern.match(v3):
            return scopes
    return None


def scopes_allow(granted: frozenset[str], method: str, path: str) -> bool:
    needed = required_scopes(method, path)
    if needed is None:
        return True
    return any(want is not None and set(want) <= granted for want in (needed.get("classic"), needed.get("granular")))
