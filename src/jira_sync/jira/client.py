"""`JiraClient`: the `JiraPort` for Jira Cloud (REST v3, ADF) and Server/DC (REST v2, wiki markup).

Every Cloud/Server difference is decided here (endpoints, body formats, paging shapes);
HTTP, auth, TLS, the site gate and error mapping live in `client_http.py`.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from ..domain.integration import JiraConnection
from ..expiring import Expiring
from . import client_parse as parse
from .client_body import comment_body, issue_fields, jql_string
from .client_http import JiraHttp
from .client_parse import COMMENT_PROPERTY
from ..observe.metrics import Metrics
from .gateway import DEFAULT_GATEWAY
from .port import (
    Comment,
    ExchangeHook,
    FieldMeta,
    IssueDraft,
    IssueRef,
    IssueState,
    IssueType,
    JiraNotFound,
    JiraPermanentError,
    Labelled,
    Myself,
    Project,
    ServerInfo,
    StatusInfo,
    Transition,
    UpdatedIssue,
)
from .ratelimit import SiteGate
from .render import adf_to_text

SERVER_PROJECTS_TTL = 60.0

CREATEMETA_PAGE = 200  # the new createmeta endpoints cap maxResults at 200
COMMENT_PAGE = 100
PROJECT_PAGE = 50
SEARCH_LIMIT = 20
POLL_LIMIT = 100  # issues updated per poll window; a busier project is caught by the next windows
WEBHOOK_EVENTS = ("jira:issue_updated", "comment_created")


def _seg(value: str) -> str:
    """One URL path segment: a project key, issue type or issue id as typed cannot leave its
    place (`../`, `?`) nor break the URL (control characters). A segment of dots alone would be
    removed by URL normalisation (`/project/.` is `/project`, the project list), so its dots
    are percent-encoded too."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if set(value) <= {"."} else encoded


class JiraClient:
    def __init__(
        self,
        conn: JiraConnection,
        *,
        gate: SiteGate | None = None,
        on_exchange: ExchangeHook | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        project_lists: Expiring[list[Project]] | None = None,
        gateway_url: str = DEFAULT_GATEWAY,
        metrics: Metrics | None = None,
    ) -> None:
        """`project_lists`: where Server/DC project lists are kept (shared by the clients of a
        process, so a type-ahead over thousands of projects asks Jira once a minute, not per
        keystroke); a client of its own keeps them itself."""
        self._http = JiraHttp(conn, gate=gate, on_exchange=on_exchange, timeout=timeout, transport=transport,
                              gateway_url=gateway_url, metrics=metrics)
        self._project_lists = project_lists if project_lists is not None else Expiring(ttl=SERVER_PROJECTS_TTL)
        self._cloud = self._http.cloud
        # Cloud: v3 takes and returns ADF; Server/DC only has v2 (wiki-markup strings).
        self._api = "/rest/api/3" if self._cloud else "/rest/api/2"
        self._old_createmeta = False  # Server 7.x-8.3: only the old createmeta exists
        self._identity: str | None = None  # the account's accountId / name, once asked

    async def __aenter__(self) -> "JiraClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def route_note(self) -> str | None:
        """How API calls reach the site, when it is not the site URL (Cloud's gateway)."""
        return self._http.route.note()

    async def _get(self, path: str, **params: Any) -> Any:
        return await self._http.request("GET", self._api + path, params=params or None)

    # ------------------------------------------------------------ identity and setup
    async def server_info(self) -> ServerInfo:
        # Anonymous and on v2 everywhere: tells Cloud from Server and the version.
        try:
            body = await self._http.request("GET", "/rest/api/2/serverInfo")
        except JiraPermanentError as exc:
            if exc.status != 404:
                raise
            body = None  # a 404 here means the URL is not a Jira (often a missing /jira context path)
        return parse.server_info(body, self._http.conn.url)

    async def myself(self) -> Myself:
        return parse.myself(await self._get("/myself"))

    async def projects(self, query: str = "", limit: int = 50) -> list[Project]:
        if not self._cloud:
            # Server/DC has no paged project search: the array of visible projects, filtered here.
            needle = query.casefold()
            found = await self._server_projects()
            hits = [p for p in found if needle in p.key.casefold() or needle in p.name.casefold()]
            hits.sort(key=lambda p: (not p.key.casefold().startswith(needle), p.key))  # key prefix first
            return hits[:limit]
        result: list[Project] = []
        start = 0
        while len(result) < limit:
            asked = min(PROJECT_PAGE, limit - len(result))
            body = await self._get("/project/search", query=query, startAt=start, maxResults=asked)
            items = parse.page_items(body)
            result += [parse.project(p) for p in items]
            if parse.is_last_page(body, start, len(items), asked):
                break
            start += len(items)
        return result[:limit]

    async def _server_projects(self) -> list[Project]:
        key = self._http.conn.account_key
        found = self._project_lists.get(key)
        if found is None:
            found = [parse.project(p) for p in await self._get("/project")]
            self._project_lists.put(key, found)
        return found

    async def project(self, key_or_id: str) -> Project:
        return parse.project(await self._get(f"/project/{_seg(key_or_id)}"))

    async def _paged(self, path: str, wrapper: str) -> list[dict[str, Any]] | None:
        """All pages of a new-createmeta endpoint; None when it does not exist (Server < 8.4)."""
        items: list[dict[str, Any]] = []
        start = 0
        while True:
            try:
                body = await self._get(path, startAt=start, maxResults=CREATEMETA_PAGE)
            except JiraPermanentError as exc:
                if exc.status == 404 and not self._cloud and start == 0:
                    return None
                raise
            page = parse.page_items(body, wrapper)
            items += page
            if parse.is_last_page(body, start, len(page), CREATEMETA_PAGE):
                return items
            start += len(page)

    async def _old_meta(self, project_key: str, issue_type_id: str | None = None) -> dict[str, Any]:
        """The pre-8.4 createmeta (removed in 9.0): one project with its issue types."""
        params = {"projectKeys": project_key}
        if issue_type_id is not None:
            params |= {"issuetypeIds": issue_type_id, "expand": "projects.issuetypes.fields"}
        body = await self._http.request("GET", "/rest/api/2/issue/createmeta", params=params)
        projects = body.get("projects") or []
        if not projects:
            raise JiraPermanentError(f"Project {project_key} does not exist or you cannot create issues in it.")
        self._old_createmeta = True
        return projects[0]

    async def issue_types(self, project_key: str) -> list[IssueType]:
        items = None
        if not self._old_createmeta:
            items = await self._paged(f"/issue/createmeta/{_seg(project_key)}/issuetypes", "issueTypes")
        if items is None:
            items = (await self._old_meta(project_key)).get("issuetypes") or []
        return [parse.issue_type(t) for t in items]

    async def create_fields(self, project_key: str, issue_type_id: str) -> list[FieldMeta]:
        items = None
        if not self._old_createmeta:
            items = await self._paged(f"/issue/createmeta/{_seg(project_key)}/issuetypes/{_seg(issue_type_id)}", "fields")
        if items is not None:
            return [parse.field_meta(f) for f in items]
        types = (await self._old_meta(project_key, issue_type_id)).get("issuetypes") or []
        if not types:
            raise JiraPermanentError(f"Issue type {issue_type_id} cannot be created in project {project_key}.")
        return [parse.field_meta(f, key) for key, f in (types[0].get("fields") or {}).items()]

    async def statuses(self, project_key: str, issue_type_id: str) -> list[StatusInfo]:
        for issue_type in await self._get(f"/project/{_seg(project_key)}/statuses"):
            if str(issue_type.get("id")) == str(issue_type_id):
                return [parse.status_info(s) for s in issue_type.get("statuses") or []]
        raise JiraPermanentError(f"Issue type {issue_type_id} is not used in project {project_key}.")

    async def my_permissions(self, project_key: str, permissions: list[str]) -> dict[str, bool]:
        body = await self._get("/mypermissions", projectKey=project_key, permissions=",".join(permissions))
        granted = body.get("permissions") or {}
        return {p: bool((granted.get(p) or {}).get("havePermission")) for p in permissions}

    # ------------------------------------------------------------ the sync
    async def create_issue(self, draft: IssueDraft) -> IssueRef:
        body = {"fields": issue_fields(draft, cloud=self._cloud)}
        return parse.issue_ref(await self._http.request("POST", f"{self._api}/issue", json_body=body, write=True))

    async def find_issue_by_label(self, project_key: str, label: str) -> IssueRef | None:
        """One search for the label (the index may lag: see `sync/adopt.py` for what is consistent)."""
        jql = f"project = {jql_string(project_key)} AND labels = {jql_string(label)}"
        issues = await self._search(jql, SEARCH_LIMIT)
        if not issues:
            return None
        # Duplicates happen (a lost create answer, HA senders): always pick the oldest, so
        # every worker converges on the same issue.
        return min(issues, key=lambda ref: (len(ref.id), ref.id))

    async def newest_issue_key(self, project_key: str, created_minutes_ago: int = 0) -> str | None:
        jql = f"project = {jql_string(project_key)}"
        if created_minutes_ago > 0:
            # a period is read on Jira's clock, so no clock skew or time zone gets in the way
            jql += f' AND created <= "-{created_minutes_ago}m"'
        found = await self._search(jql + " ORDER BY key DESC", 1)
        return found[0].key if found else None

    async def _search(self, jql: str, limit: int) -> list[IssueRef]:
        # Cloud removed POST /search (410); /search/jql pages by token and has no `total`.
        path = "/search/jql" if self._cloud else "/search"
        query = {"jql": jql, "maxResults": limit, "fields": ["key"]}
        body = await self._http.request("POST", self._api + path, json_body=query)
        return [parse.issue_ref(i) for i in body.get("issues") or []]

    async def read_labels(self, id_or_key: str) -> Labelled | None:
        try:
            return parse.labelled(await self._get(f"/issue/{_seg(id_or_key)}", fields="labels"))
        except JiraNotFound as exc:
            if exc.endpoint_missing:
                raise
            return None

    async def get_issue(self, id_or_key: str) -> IssueState:
        return parse.issue_state(await self._get(f"/issue/{_seg(id_or_key)}", fields="status,priority,resolution"))

    async def set_priority(self, issue_id: str, priority_id: str) -> None:
        body = {"fields": {"priority": {"id": priority_id}}}
        await self._http.request("PUT", f"{self._api}/issue/{_seg(issue_id)}", json_body=body)

    async def transitions(self, issue_id: str) -> list[Transition]:
        body = await self._get(f"/issue/{_seg(issue_id)}/transitions", expand="transitions.fields")
        return [parse.transition(t) for t in body.get("transitions") or []]

    async def transition(self, issue_id: str, transition_id: str, fields: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = fields
        await self._http.request("POST", f"{self._api}/issue/{_seg(issue_id)}/transitions", json_body=body, write=True)

    async def add_comment(self, issue_id: str, markdown: str, ref: str) -> Comment:
        body = comment_body(markdown, ref, cloud=self._cloud)
        answer = await self._http.request("POST", f"{self._api}/issue/{_seg(issue_id)}/comment", json_body=body, write=True)
        made = parse.comment(answer, adf_to_text)
        return Comment(id=made.id, text=made.text, ref=ref)

    async def comments(self, issue_id: str) -> list[Comment]:
        result: list[Comment] = []
        start = 0
        while True:
            # expand=properties is honoured by Server/DC, not in Cloud's spec: refs come from the
            # mark in each body; see below for comments without one.
            body = await self._get(f"/issue/{_seg(issue_id)}/comment", startAt=start, maxResults=COMMENT_PAGE,
                                   expand="properties")
            page = parse.page_items(body, "comments")
            result += [parse.comment(c, adf_to_text) for c in page]
            if parse.is_last_page(body, start, len(page), COMMENT_PAGE):
                break
            start += len(page)
        # Our comments without a mark (posted before marks, or edited by a person): their
        # property, read one comment at a time. People's comments are never ours: skipped.
        if any(c.ref is None and c.author for c in result):
            me = await self._me()
            result = [await self._with_property(c) if c.ref is None and me and c.author == me else c for c in result]
        return result

    async def _me(self) -> str | None:
        if self._identity is None:
            who = await self.myself()
            self._identity = who.account_id or who.name or ""
        return self._identity or None

    async def _with_property(self, c: Comment) -> Comment:
        try:
            body = await self._get(f"/comment/{c.id}/properties/{COMMENT_PROPERTY}")
        except JiraNotFound:  # not set, or a Jira without comment properties
            return c
        value = body.get("value") if isinstance(body, dict) else None
        ref = value.get("ref") if isinstance(value, dict) else None
        return Comment(id=c.id, text=c.text, ref=str(ref), author=c.author) if ref is not None else c

    # ------------------------------------------------------------ two-way sync
    async def updated_issues(self, project_key: str, minutes: int) -> list[UpdatedIssue]:
        """A period (`-5m`) is read on Jira's clock and zone, so neither skew nor time zone moves
        the window. Cloud: /search/jql then /changelog/bulkfetch (status and priority changes);
        Server/DC: /search with expand=changelog (no bulkfetch there)."""
        jql = f'project = {jql_string(project_key)} AND updated >= "-{max(1, minutes)}m" ORDER BY updated DESC'
        if not self._cloud:
            body = await self._http.request("POST", "/rest/api/2/search", json_body={
                "jql": jql, "maxResults": POLL_LIMIT, "fields": ["updated"], "expand": ["changelog"]})
            return [parse.updated_issue(i, (i.get("changelog") or {}).get("histories") or [])
                    for i in body.get("issues") or []]
        body = await self._http.request("POST", "/rest/api/3/search/jql", json_body={
            "jql": jql, "maxResults": POLL_LIMIT, "fields": ["updated"]})
        issues = body.get("issues") or []
        if not issues:
            return []
        logs = await self._http.request("POST", "/rest/api/3/changelog/bulkfetch", json_body={
            "issueIdsOrKeys": [str(i["id"]) for i in issues], "fieldIds": ["status", "priority", "resolution"],
            "maxResults": 1000})
        by_issue = {str(e.get("issueId")): e.get("changeHistories") or [] for e in logs.get("issueChangeLogs") or []}
        return [parse.updated_issue(i, by_issue.get(str(i["id"]), [])) for i in issues]

    async def register_webhook(self, name: str, url: str, jql: str, secret: str | None) -> str:
        body: dict[str, Any] = {"name": name, "url": url, "events": list(WEBHOOK_EVENTS),
                                "filters": {"issue-related-events-section": jql}, "excludeBody": False}
        if secret:
            body["secret"] = secret
        answer = await self._http.request("POST", "/rest/webhooks/1.0/webhook", json_body=body, write=True)
        return str(answer.get("self", "")).rsplit("/", 1)[-1]
