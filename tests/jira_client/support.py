"""Helpers for the Jira client's contract tests: connections and a scripted `httpx.MockTransport`."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from jira_sync.domain.integration import JiraConnection

CLOUD_SECRET = "cloud-TOKEN-s3cr3t-value"
SERVER_SECRET = "server-PASSWORD-s3cr3t"
PAT_SECRET = "pat-TOKEN-s3cr3t-value"


def cloud_conn(**kw: Any) -> JiraConnection:
    return JiraConnection(platform="cloud", url="https://acme.atlassian.net", username="me@example.com",
                          secret=CLOUD_SECRET, **kw)


def server_conn(**kw: Any) -> JiraConnection:
    return JiraConnection(platform="server", url="https://jira.example.com/jira", username="admin",
                          secret=SERVER_SECRET, **kw)


def pat_conn(**kw: Any) -> JiraConnection:
    return JiraConnection(platform="server", url="https://jira.example.com/jira", auth="pat",
                          secret=PAT_SECRET, **kw)


Responder = Callable[[httpx.Request], httpx.Response]


@dataclass
class Route:
    method: str
    path: re.Pattern[str]
    query: dict[str, str]
    respond: Responder
    times: int | None  # None = forever


@dataclass
class Script:
    """Answers requests by (method, path regex, query subset); records every request."""

    routes: list[Route] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *, status: int = 200, json_body: Any = None, text: str | None = None,
           headers: dict[str, str] | None = None, query: dict[str, str] | None = None, times: int | None = None,
           respond: Responder | None = None) -> "Script":
        if respond is None:
            def respond(request: httpx.Request) -> httpx.Response:
                if text is not None:
                    return httpx.Response(status, text=text, headers=headers)
                if json_body is None:
                    return httpx.Response(status, headers=headers)
                return httpx.Response(status, json=json_body, headers=headers)
        self.routes.append(Route(method, re.compile(path + "$"), query or {}, respond, times))
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for route in self.routes:
            if route.method != request.method or not route.path.match(request.url.path):
                continue
            if any(request.url.params.get(k) != v for k, v in route.query.items()):
                continue
            if route.times is not None:
                if route.times == 0:
                    continue
                route.times -= 1
            return route.respond(request)
        return httpx.Response(404, json={"errorMessages": [f"no route for {request.method} {request.url}"]})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)
