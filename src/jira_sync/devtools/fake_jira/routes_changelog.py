"""Change history: `GET /issue/{id}/changelog` (Cloud; Server/DC 8.x-9.x answer 404, as
atlassian-python-api#1396 shows on 9.12) and Cloud's `POST /changelog/bulkfetch`."""
from __future__ import annotations

import base64
import zlib
from typing import Any

from starlette.responses import Response

from . import changelog as CL
from . import validation
from .http import Call, not_found, ok, page
from .model import ChangeGroup, Issue, JiraHTTPError
from .routes_issue import INVALID_PAYLOAD, the_issue


def issue_changelog(c: Call) -> Response:
    """PageBeanChangelog, oldest first; maxResults default and cap 100 (inferred cap)."""
    if not c.cloud:
        return not_found(c.request)
    issue = the_issue(c)
    start, size = c.int_param("startAt", 0), min(c.int_param("maxResults", 100, minimum=0), 100)
    chunk, last = page(issue.changelog, start, size)
    url = f"{c.view.rest}/issue/{c.path('issue')}/changelog"
    out: dict[str, Any] = {"self": f"{url}?startAt={start}&maxResults={size}", "maxResults": size, "startAt": start,
                           "total": len(issue.changelog), "isLast": last,
                           "values": [CL.group_json(c.view, g) for g in chunk]}
    if not last:
        out["nextPage"] = f"{url}?startAt={start + size}&maxResults={size}"
    return ok(out)


def _token(offset: int, fingerprint: int) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{fingerprint}".encode()).decode().rstrip("=")


def _offset(token: str | None, fingerprint: int) -> int:
    if not token:
        return 0
    try:
        offset, fp = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        if int(fp) == fingerprint:
            return int(offset)
    except ValueError:
        pass
    raise JiraHTTPError(400, ["The provided next page token is invalid or expired."])


def bulkfetch(c: Call) -> Response:
    """Cloud: changelogs of up to 1000 issues, filtered to up to 10 field ids, sorted by date then
    issue id, paged by changelog (`maxResults` 1-10000, default 1000) with `nextPageToken`.
    Issues that do not exist or cannot be seen are left out (inferred)."""
    if not c.cloud:
        return not_found(c.request)
    req = c.json()
    if validation.component_error("BulkChangelogRequestBean", req) is not None or not isinstance(req, dict):
        raise JiraHTTPError(400, [INVALID_PAYLOAD])
    refs: list[str] = req["issueIdsOrKeys"]
    field_ids = set(req["fieldIds"]) if req.get("fieldIds") else None
    size = req.get("maxResults", 1000)
    fingerprint = zlib.crc32(repr((refs, sorted(field_ids or ()))).encode())
    start = _offset(req.get("nextPageToken"), fingerprint)
    issues: dict[str, Issue] = {}
    for ref in refs:
        issue = c.site.issue(ref)
        if issue is not None and "BROWSE_PROJECTS" in c.user.permissions:
            issues[issue.id] = issue
    entries: list[tuple[float, int, int, Issue, ChangeGroup]] = []
    for issue in issues.values():
        for g in issue.changelog:
            if field_ids is None or any(i.field_id in field_ids for i in g.items):
                entries.append((g.created, int(issue.id), int(g.id), issue, g))
    entries.sort(key=lambda e: e[:3])
    chunk, last = page(entries, start, size)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for *_, issue, g in chunk:
        grouped.setdefault(issue.id, []).append(CL.group_json(c.view, g, field_ids))
    out: dict[str, Any] = {"issueChangeLogs": [{"issueId": i, "changeHistories": h} for i, h in grouped.items()]}
    if not last:
        out["nextPageToken"] = _token(start + size, fingerprint)
    return ok(out)
