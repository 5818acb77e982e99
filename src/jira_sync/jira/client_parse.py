"""Jira JSON -> the port's value classes. Pure; tolerant of the Cloud/Server shape differences."""
from __future__ import annotations

from typing import Any, Callable

from ..domain.comment import refs_in_text
from .port import (
    Comment,
    FieldMeta,
    IssueRef,
    IssueState,
    IssueType,
    JiraConnectError,
    Labelled,
    Myself,
    Project,
    ServerInfo,
    StatusInfo,
    Transition,
    UpdatedIssue,
)

COMMENT_PROPERTY = "jira-sync"


def server_info(body: Any, base_url: str) -> ServerInfo:
    """serverInfo is anonymous and answered by every Jira; anything else is not a Jira."""
    numbers = body.get("versionNumbers") if isinstance(body, dict) else None
    if not isinstance(numbers, list) or not isinstance(body.get("version"), str):
        raise JiraConnectError(
            f"{base_url}/rest/api/2/serverInfo did not answer like Jira: check the base URL.", reason="not_jira")
    return ServerInfo(
        # Server 7.x omits deploymentType; Cloud always says "Cloud".
        deployment_type=str(body.get("deploymentType") or "Server"),
        version=body["version"],
        version_numbers=tuple(int(n) for n in numbers if isinstance(n, int)),
        base_url=str(body.get("baseUrl") or base_url),
    )


def myself(body: dict[str, Any]) -> Myself:
    return Myself(
        account_id=body.get("accountId"),
        name=body.get("name"),
        display_name=body.get("displayName") or body.get("name") or "",
        email=body.get("emailAddress") or None,
    )


def project(body: dict[str, Any]) -> Project:
    return Project(id=str(body["id"]), key=body["key"], name=body.get("name", body["key"]))


def issue_type(body: dict[str, Any]) -> IssueType:
    return IssueType(id=str(body["id"]), name=body.get("name", ""), subtask=bool(body.get("subtask", False)))


def field_meta(body: dict[str, Any], key: str | None = None) -> FieldMeta:
    """New createmeta entries carry `fieldId`; old ones are keyed by id (and carry `key` on 8.x)."""
    schema = body.get("schema") or {}
    return FieldMeta(
        id=str(body.get("fieldId") or body.get("key") or key or ""),
        name=body.get("name", ""),
        required=bool(body.get("required", False)),
        has_default=bool(body.get("hasDefaultValue", False)),
        schema_type=str(schema.get("type", "")),
        custom_type=schema.get("custom"),
        system=schema.get("system"),
        allowed_values=list(body.get("allowedValues") or []),
    )


def category_key(status: dict[str, Any] | None) -> str:
    return str(((status or {}).get("statusCategory") or {}).get("key") or "indeterminate")


def status_info(body: dict[str, Any]) -> StatusInfo:
    return StatusInfo(id=str(body["id"]), name=body.get("name", ""), category=category_key(body))


def issue_ref(body: dict[str, Any]) -> IssueRef:
    return IssueRef(id=str(body["id"]), key=body["key"])


def issue_state(body: dict[str, Any]) -> IssueState:
    fields = body.get("fields") or {}
    status = fields.get("status") or {}
    priority = fields.get("priority") or {}
    return IssueState(
        id=str(body["id"]),
        key=body["key"],
        status_id=str(status.get("id", "")),
        status_name=status.get("name", ""),
        status_category=category_key(status),
        priority_id=str(priority["id"]) if priority.get("id") is not None else None,
        resolution=(fields.get("resolution") or {}).get("name") if isinstance(fields.get("resolution"), dict) else None,
    )


def transition(body: dict[str, Any]) -> Transition:
    to = body.get("to") or {}
    return Transition(
        id=str(body["id"]),
        name=body.get("name", ""),
        to_status_id=str(to.get("id", "")),
        to_status_name=to.get("name", ""),
        to_status_category=category_key(to),
        fields=dict(body.get("fields") or {}),
    )


def comment(body: dict[str, Any], to_text: Callable[[Any], str]) -> Comment:
    """`to_text` flattens an ADF body (v3); v2 bodies are already wiki-markup strings.

    The ref comes from the comment property when the answer carries it, else from the mark
    in the body's link (`domain/comment.py`): an ADF link's href, or the wiki-markup text."""
    raw = body.get("body")
    text = raw if isinstance(raw, str) else to_text(raw) if isinstance(raw, dict) else ""
    ref = None
    for prop in body.get("properties") or []:
        if isinstance(prop, dict) and prop.get("key") == COMMENT_PROPERTY and isinstance(prop.get("value"), dict):
            ref = prop["value"].get("ref")
    if ref is None:
        marks = refs_in_text(raw) if isinstance(raw, str) else [r for h in _hrefs(raw) for r in refs_in_text(h)]
        ref = marks[0] if marks else None
    author = body.get("author") or {}
    who = author.get("accountId") or author.get("name") if isinstance(author, dict) else None
    shown = author.get("displayName") if isinstance(author, dict) else None
    return Comment(id=str(body["id"]), text=text, ref=str(ref) if ref is not None else None,
                   author=str(who) if who else None, author_name=str(shown) if shown else None)


def _hrefs(node: Any) -> list[str]:
    """Every link mark's href in an ADF tree."""
    found: list[str] = []
    if isinstance(node, dict):
        for mark in node.get("marks") or []:
            if isinstance(mark, dict) and mark.get("type") == "link":
                href = (mark.get("attrs") or {}).get("href")
                if isinstance(href, str):
                    found.append(href)
        for child in node.get("content") or []:
            found += _hrefs(child)
    return found


def labelled(body: dict[str, Any]) -> Labelled:
    labels = (body.get("fields") or {}).get("labels") or []
    return Labelled(issue_ref(body), tuple(str(x) for x in labels))


def page_items(body: Any, *names: str) -> list[dict[str, Any]]:
    """The items of one page: Cloud wraps them as `issueTypes`/`fields`/..., Server/DC as `values`."""
    if isinstance(body, list):
        return body
    for name in (*names, "values"):
        items = body.get(name) if isinstance(body, dict) else None
        if isinstance(items, list):
            return items
    return []


def is_last_page(body: Any, start: int, got: int, asked: int) -> bool:
    """Jira's paging varies: `isLast` (Server/DC, some Cloud), `total` (Cloud), or neither."""
    if got == 0 or not isinstance(body, dict):
        return True
    if isinstance(body.get("isLast"), bool):
        return body["isLast"]
    if isinstance(body.get("total"), int):
        return start + got >= body["total"]
    return got < asked


def updated_issue(body: dict[str, Any], histories: list[Any]) -> UpdatedIssue:
    """An issue from a poll's search, with the author of its newest change group (either order)."""
    groups = [h for h in histories if isinstance(h, dict)]
    newest = max(groups, key=lambda h: str(h.get("created") or ""), default=None)
    author = (newest or {}).get("author") or {}
    who = author.get("accountId") or author.get("name") if isinstance(author, dict) else None
    return UpdatedIssue(id=str(body["id"]), key=str(body.get("key") or ""),
                        updated=str((body.get("fields") or {}).get("updated") or ""),
                        last_change_by=str(who) if who else None,
                        last_change_at=str(newest.get("created")) if newest else None)
