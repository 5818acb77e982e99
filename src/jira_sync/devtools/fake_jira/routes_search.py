"""Search: Cloud's /search/jql (nextPageToken, no total; old /search is 410) and Server's /search.

Cloud's `reconcileIssues` (up to 50 issue ids, GET repeated or comma-separated, POST an array)
makes those issues read-after-write consistent while `search_lag_s` hides others (the spec:
"Strong consistency issue ids to be reconciled with search results"). `expand=changelog`
adds each issue's changelog, as on GET issue.
"""
from __future__ import annotations

import base64
import zlib
from typing import Any

from starlette.responses import Response

from . import validation
from .http import Call, not_found, ok, page
from .model import JiraHTTPError
from .routes_issue import INVALID_PAYLOAD, FieldSpec, render_issue

GONE = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
        "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."


def _request(c: Call, defaults: dict[str, Any]) -> dict[str, Any]:
    """GET query parameters or the POST body, as one dict."""
    if c.request.method == "POST":
        body = c.json()
        if c.cloud and validation.component_error("SearchAndReconcileRequestBean", body) is not None:
            raise JiraHTTPError(400, [INVALID_PAYLOAD])
        if not isinstance(body, dict):
            raise JiraHTTPError(400, [INVALID_PAYLOAD])
        fields = body.get("fields") or []
        if isinstance(fields, str):
            fields = fields.split(",")
        expand = body.get("expand") or ""
        expand = expand.split(",") if isinstance(expand, str) else [str(e) for e in expand]
        return {**defaults, **body, "fields": [f.strip() for f in fields if f.strip()],
                "expand": [e.strip() for e in expand if e.strip()]}
    out = dict(defaults)
    for name in ("jql", "nextPageToken", "startAt", "maxResults"):
        if c.param(name) is not None:
            out[name] = c.param(name)
    out["fields"] = c.params("fields")
    out["expand"] = c.params("expand")
    out["reconcileIssues"] = c.params("reconcileIssues")
    return out


def _reconcile(value: Any) -> list[str]:
    ids = value or []
    try:
        out = [str(int(v)) for v in ids if not isinstance(v, bool)]
    except (TypeError, ValueError):
        raise JiraHTTPError(400, ["The 'reconcileIssues' parameter must be a list of issue ids."]) from None
    if len(out) != len(ids):
        raise JiraHTTPError(400, ["The 'reconcileIssues' parameter must be a list of issue ids."])
    if len(out) > 50:
        raise JiraHTTPError(400, ["The 'reconcileIssues' parameter accepts at most 50 issue ids."])
    return out


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise JiraHTTPError(400, [f"The '{name}' parameter must be an integer."]) from None
    if number < 0:
        raise JiraHTTPError(400, [f"The '{name}' parameter must not be negative."])
    return number


def search_old(c: Call) -> Response:
    """Server/DC: startAt + total. Cloud removed it (CHANGE-2046): 410 Gone."""
    if c.cloud:
        raise JiraHTTPError(410, [GONE])
    req = _request(c, {"jql": "", "startAt": 0, "maxResults": 50})
    start, size = _int(req["startAt"], "startAt"), min(_int(req["maxResults"], "maxResults"), 1000)
    found = c.site.search(c.user, str(req["jql"] or ""))
    spec = FieldSpec.parse(req["fields"], "*navigable")
    chunk, _ = page(found, start, size)
    return ok({"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(found),
               "issues": [render_issue(c, i, spec, req["expand"]) for i in chunk]})


def _token(offset: int, jql: str) -> str:
    raw = f"{offset}:{zlib.crc32(jql.encode())}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str | None, jql: str) -> int:
    if not token:
        return 0
    try:
        offset, crc = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        if int(crc) == zlib.crc32(jql.encode()):
            return int(offset)
    except ValueError:
        pass
    raise JiraHTTPError(400, ["The provided next page token is invalid or expired."])


def search_jql(c: Call) -> Response:
    """Cloud's enhanced search: cursor paging, no `total`, ids only unless `fields` asks for more."""
    if not c.cloud:
        return not_found(c.request)
    req = _request(c, {"jql": "", "maxResults": 50})
    jql = str(req["jql"] or "")
    if not jql.strip() or jql.strip().lower().startswith("order "):
        raise JiraHTTPError(400, [UNBOUNDED])
    spec = FieldSpec.parse(req["fields"], "id")
    cap = 5000 if spec.ids_only or (not spec.everything and spec.include <= {"id", "key"}) else 100
    size = max(1, min(_int(req["maxResults"], "maxResults"), cap))
    start = _offset(req.get("nextPageToken"), jql)
    found = c.site.search(c.user, jql, _reconcile(req.get("reconcileIssues")))
    chunk, last = page(found, start, size)
    expand = req["expand"]
    issues = [{"id": i.id} if spec.ids_only and not expand else render_issue(c, i, spec, expand) for i in chunk]
    out: dict[str, Any] = {"issues": issues, "isLast": last}
    if not last:
        out["nextPageToken"] = _token(start + size, jql)
    return ok(out)
