"""Change history: the items Jira records for a write, and their JSON shape.

Jira records one change group per write (edit, transition) with an item per changed field;
creating an issue and adding a comment record none (the History tab's "created" line is not
a changelog entry). Item values as Jira writes them: `from`/`to` hold ids (status, priority,
resolution, option, user) or null, `fromString`/`toString` the readable value (labels
space-separated; rich text in wiki markup). Cloud items carry `fieldId`; Server/DC 8.x items do
not (inferred from Server responses: a client must not need it there).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import text
from .model import ChangeGroup, ChangeItem, FieldDef, Issue, Status, User

if TYPE_CHECKING:
    from .render import View


def _system(fid: str, from_: Any, from_s: Any, to: Any, to_s: Any) -> ChangeItem:
    return ChangeItem(fid, fid, "jira", _s(from_), _s(from_s), _s(to), _s(to_s))


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _user_id(user: User | None, cloud: bool) -> str | None:
    if user is None:
        return None
    return user.account_id if cloud else user.name


def field_item(fdef: FieldDef, old: Any, new: Any, cloud: bool) -> ChangeItem | None:
    """The item for one field set to `new` (None when nothing changed)."""
    if old == new or (fdef.kind == "labels" and sorted(old or []) == sorted(new or [])):
        return None
    kind, fid = fdef.kind, fdef.id
    if kind == "priority":
        item = _system(fid, old and old["id"], old and old["name"], new and new["id"], new and new["name"])
    elif kind == "labels":
        item = _system(fid, None, " ".join(sorted(old or [])), None, " ".join(sorted(new or [])))
    elif kind == "reporter":
        item = _system(fid, _user_id(old, cloud), old and old.display_name,
                       _user_id(new, cloud), new and new.display_name)
    elif kind == "select":
        item = _system(fid, old and old["id"], old and old["value"], new and new["id"], new and new["value"])
    elif kind in ("description", "textarea"):
        item = _system(fid, None, text.for_api(old, "2"), None, text.for_api(new, "2"))
    elif kind == "resolution":
        item = resolution_item(old, new)
    else:  # summary, textfield
        item = _system(fid, None, old, None, new)
    if fid.startswith("customfield_"):
        item.field, item.fieldtype = fdef.name, "custom"
    return item


def status_item(old: Status, new: Status) -> ChangeItem | None:
    return None if old.id == new.id else _system("status", old.id, old.name, new.id, new.name)


def resolution_item(old: dict[str, Any] | None, new: dict[str, Any] | None) -> ChangeItem | None:
    if (old or {}).get("id") == (new or {}).get("id"):
        return None
    return _system("resolution", old and old["id"], old and old["name"], new and new["id"], new and new["name"])


def item_json(item: ChangeItem, cloud: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"field": item.field, "fieldtype": item.fieldtype}
    if cloud:
        out["fieldId"] = item.field_id
    out.update({"from": item.from_, "fromString": item.from_string, "to": item.to, "toString": item.to_string})
    return out


def group_json(view: "View", group: ChangeGroup, field_ids: set[str] | None = None) -> dict[str, Any]:
    from .render import jira_time

    out: dict[str, Any] = {"id": group.id}
    if group.author is not None:
        out["author"] = view.user(group.author)
    out["created"] = jira_time(group.created)
    out["items"] = [item_json(i, view.site.cloud) for i in group.items
                    if field_ids is None or i.field_id in field_ids]
    return out


def expanded(view: "View", issue: Issue) -> dict[str, Any]:
    """`expand=changelog` on an issue. Cloud: the newest 100 groups, newest first (the spec:
    "sorted by date, starting from the most recent"; pycontribs/jira#911: at most 100).
    Server/DC: every group, oldest first."""
    groups = issue.changelog
    if view.site.cloud:
        groups = list(reversed(groups))[:100]
    histories = [group_json(view, g) for g in groups]
    return {"startAt": 0, "maxResults": len(histories), "total": len(issue.changelog), "histories": histories}
