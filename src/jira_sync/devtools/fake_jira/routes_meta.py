"""Identity and setup: serverInfo, myself, projects, permissions, both createmeta generations."""
from __future__ import annotations

from starlette.responses import Response

from .http import Call, not_found, ok, page
from .model import JiraHTTPError, Project
from .seed import PERMISSIONS

CREATEMETA_LIMIT = 200


def server_info(c: Call) -> Response:
    return ok(c.view.server_info())


def myself(c: Call) -> Response:
    return ok(c.view.user(c.user, full=True))


def _project(c: Call, ref: str) -> Project:
    project = c.site.project_by_id_or_key(ref)
    if project is None:
        raise JiraHTTPError(404, [f"No project could be found with key '{ref}'."])
    return project


def project_search(c: Call) -> Response:
    """Cloud's paged project list (Server/DC 8.x has no /project/search)."""
    if not c.cloud:
        return not_found(c.request)
    start, size = c.int_param("startAt", 0), min(c.int_param("maxResults", 50, minimum=1), 100)
    query, keys = (c.param("query") or "").lower(), set(c.params("keys"))
    found = [p for p in c.site.projects
             if (not query or query in p.key.lower() or query in p.name.lower()) and (not keys or p.key in keys)]
    found.sort(key=lambda p: p.key)
    chunk, last = page(found, start, size)
    out = {"self": str(c.request.url), "maxResults": size, "startAt": start, "total": len(found), "isLast": last,
           "values": [c.view.project(p) for p in chunk]}
    if not last:
        out["nextPage"] = f"{c.view.rest}/project/search?startAt={start + size}&maxResults={size}"
    return ok(out)


def project_list(c: Call) -> Response:
    return ok([c.view.project(p) for p in sorted(c.site.projects, key=lambda p: p.key)])


def project_get(c: Call) -> Response:
    return ok(c.view.project(_project(c, c.path("project")), full=True))


def project_statuses(c: Call) -> Response:
    p = _project(c, c.path("project"))
    statuses = [c.view.status(s) for s in p.workflow.statuses]
    return ok([
        {"self": f"{c.view.rest}/issuetype/{t.id}", "id": t.id, "name": t.name, "subtask": False, "statuses": statuses}
        for t in p.issue_types.values()
    ])


def my_permissions(c: Call) -> Response:
    wanted = c.params("permissions")
    if not wanted:
        if c.cloud:
            raise JiraHTTPError(400, ["The 'permissions' query parameter is required."])
        wanted = list(PERMISSIONS)
    unknown = [k for k in wanted if k not in PERMISSIONS]
    if unknown:
        raise JiraHTTPError(400, [f"Unknown permission key(s): {', '.join(unknown)}."])
    ref = c.param("projectKey") or c.param("projectId")
    if ref:
        _project(c, ref)
    issue_ref = c.param("issueKey") or c.param("issueId")
    if issue_ref and c.site.issue(issue_ref) is None:
        raise JiraHTTPError(404, ["Issue does not exist or you do not have permission to see it."])
    return ok({"permissions": {
        k: {"id": PERMISSIONS[k][0], "key": k, "name": PERMISSIONS[k][1], "type": "PROJECT",
            "description": PERMISSIONS[k][2], "havePermission": k in c.user.permissions}
        for k in wanted
    }})


# ------------------------------------------------------------ createmeta, new (Cloud, Server/DC 8.4+)
def _paging(c: Call) -> tuple[int, int]:
    size = c.int_param("maxResults", 50, minimum=1)
    if size > CREATEMETA_LIMIT:
        if c.cloud:
            raise JiraHTTPError(400, [f"Parameter 'maxResults' must not exceed the limit '{CREATEMETA_LIMIT}'"])
        size = CREATEMETA_LIMIT
    return c.int_param("startAt", 0), size


def _page_body(c: Call, key: str, items: list, start: int, size: int) -> dict:
    chunk, last = page(items, start, size)
    if c.cloud:  # Cloud: {"issueTypes"|"fields": [...], paging}; Server/DC: {"values": [...], "isLast"}
        return {key: chunk, "maxResults": size, "startAt": start, "total": len(items)}
    return {"maxResults": size, "startAt": start, "total": len(items), "isLast": last, "values": chunk}


def createmeta_issuetypes(c: Call) -> Response:
    if not c.site.has_new_createmeta:
        return not_found(c.request)
    p = _project(c, c.path("project"))
    start, size = _paging(c)
    types = list(p.issue_types.values()) if "CREATE_ISSUES" in c.user.permissions else []
    return ok(_page_body(c, "issueTypes", [c.view.issue_type(t) for t in types], start, size))


def createmeta_fields(c: Call) -> Response:
    if not c.site.has_new_createmeta:
        return not_found(c.request)
    p = _project(c, c.path("project"))
    start, size = _paging(c)
    t = p.issue_types.get(c.path("issuetype"))
    if t is None or "CREATE_ISSUES" not in c.user.permissions:
        raise JiraHTTPError(404, [f"Issue type with id '{c.path('issuetype')}' does not exist "
                                  "or you do not have permission to view it."])
    style = "cloud" if c.cloud else "server"
    fields = [c.view.field_meta(f, p, t, style=style) for f in t.screen.values()]
    return ok(_page_body(c, "fields", fields, start, size))


# ------------------------------------------------------------ createmeta, old (Cloud, Server/DC < 9.0)
def createmeta_old(c: Call) -> Response:
    if not c.site.has_old_createmeta:
        return not_found(c.request)
    keys, ids = {k.upper() for k in c.params("projectKeys")}, set(c.params("projectIds"))
    type_ids, type_names = set(c.params("issuetypeIds")), set(c.params("issuetypeNames"))
    with_fields = "projects.issuetypes.fields" in c.params("expand")
    can_create = "CREATE_ISSUES" in c.user.permissions
    projects = []
    for p in c.site.projects:
        named = p.id in ids or bool(keys & {p.key, *p.old_keys})
        if not can_create or ((keys or ids) and not named):
            continue
        types = []
        for t in p.issue_types.values():
            if (type_ids or type_names) and t.id not in type_ids and t.name not in type_names:
                continue
            entry = {**c.view.issue_type(t), "expand": "fields"}
            if with_fields:
                entry["fields"] = {fid: c.view.field_meta(f, p, t, style="old") for fid, f in t.screen.items()}
            types.append(entry)
        project = c.view.project(p)
        projects.append({"expand": "issuetypes", "self": project["self"], "id": p.id, "key": p.key, "name": p.name,
                         "avatarUrls": project["avatarUrls"], "issuetypes": types})
    return ok({"expand": "projects", "projects": projects})
