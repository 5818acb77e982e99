"""JSON shapes, as Jira Cloud (OpenAPI v3 spec) and Server/DC answer them."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import text
from .model import (
    CATEGORIES,
    Comment,
    FieldDef,
    Issue,
    IssueType,
    Priority,
    Project,
    Status,
    Transition,
    User,
)

if TYPE_CHECKING:
    from .state import FakeJira

NAVIGABLE = ("summary", "description", "issuetype", "project", "status", "priority", "labels", "reporter",
             "creator", "assignee", "resolution", "created", "updated", "resolutiondate")


def jira_time(ts: float) -> str:
    """Jira's timestamp format: 2024-05-01T12:00:00.000+0000."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}+0000"


def _avatars(kind: str, ident: str) -> dict[str, str]:
    return {f"{n}x{n}": f"https://avatars.example.invalid/{kind}/{ident}?s={n}" for n in (16, 24, 32, 48)}


@dataclass(slots=True)
class View:
    site: "FakeJira"
    base: str  # where the REST API was reached, e.g. http://127.0.0.1:54321[/ex/jira/{cloudId}]
    api: str  # "2" | "3"
    site_url: str | None = None  # the site itself (serverInfo's baseUrl); None: `base`

    @property
    def rest(self) -> str:
        return f"{self.base}/rest/api/{self.api}"

    # ------------------------------------------------------------ identity
    def user(self, u: User, *, full: bool = False) -> dict[str, Any]:
        if self.site.cloud:
            out: dict[str, Any] = {
                "self": f"{self.rest}/user?accountId={u.account_id}", "accountId": u.account_id,
                "accountType": u.account_type, "emailAddress": u.email, "avatarUrls": _avatars("user", u.account_id),
                "displayName": u.display_name, "active": True, "timeZone": "Etc/UTC",
            }
        else:
            out = {
                "self": f"{self.rest}/user?username={u.name}", "name": u.name, "key": u.key,
                "emailAddress": u.email, "avatarUrls": _avatars("user", u.key), "displayName": u.display_name,
                "active": True, "timeZone": "Etc/UTC",
            }
        if full:
            out.update({
                "locale": "en_US", "groups": {"size": 1, "items": []},
                "applicationRoles": {"size": 1, "items": []}, "expand": "groups,applicationRoles",
            })
            if not self.site.cloud:
                out["deleted"] = False
        return out

    def server_info(self) -> dict[str, Any]:
        s = self.site
        out = {
            "baseUrl": self.site_url or self.base, "version": s.version, "versionNumbers": list(s.version_numbers),
            "deploymentType": s.deployment_type, "buildNumber": 100000 if s.cloud else s.build_number,
            "buildDate": "2024-01-01T00:00:00.000+0000", "serverTime": jira_time(time.time()),
            "scmInfo": "0000000000000000000000000000000000000000", "serverTitle": "Jira (emulator)",
        }
        if s.cloud:
            out["serverTimeZone"] = "Etc/UTC"
        else:
            out["databaseBuildNumber"] = s.build_number
        return out

    # ------------------------------------------------------------ projects
    def project(self, p: Project, *, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            "self": f"{self.rest}/project/{p.id}", "id": p.id, "key": p.key, "name": p.name,
            "avatarUrls": _avatars("project", p.id), "projectTypeKey": "software",
        }
        if self.site.cloud:
            out.update({"simplified": False, "style": "classic", "isPrivate": False, "properties": {}})
        else:
            out["archived"] = False
        if full:
            out.update({
                "description": "", "lead": self.user(self.site.users[0]),
                "issueTypes": [self.issue_type(t) for t in p.issue_types.values()],
                "assigneeType": "UNASSIGNED",
            })
        return out

    def issue_type(self, t: IssueType) -> dict[str, Any]:
        out: dict[str, Any] = {
            "self": f"{self.rest}/issuetype/{t.id}", "id": t.id, "description": t.description,
            "iconUrl": f"{self.base}/images/icons/issuetypes/{t.name.lower()}.svg", "name": t.name, "subtask": False,
        }
        if self.site.cloud:
            out.update({"avatarId": 10300 + int(t.id) % 100, "hierarchyLevel": 0})
        return out

    def status(self, s: Status) -> dict[str, Any]:
        cat = CATEGORIES[s.category]
        return {
            "self": f"{self.rest}/status/{s.id}", "description": s.description,
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png", "name": s.name, "id": s.id,
            "statusCategory": {"self": f"{self.rest}/statuscategory/{cat['id']}", **cat},
        }

    def priority(self, p: Priority | dict[str, str]) -> dict[str, Any]:
        pid, name = (p.id, p.name) if isinstance(p, Priority) else (p["id"], p["name"])
        return {"self": f"{self.rest}/priority/{pid}", "iconUrl": f"{self.base}/images/icons/priorities/{pid}.svg",
                "name": name, "id": pid}

    # ------------------------------------------------------------ field metadata
    def field_meta(self, f: FieldDef, p: Project, t: IssueType, *, style: str) -> dict[str, Any]:
        """style: "old" (createmeta, keyed by id), "cloud" (new, Cloud), "server" (new, Server/DC 8.4+)."""
        out: dict[str, Any] = {"required": f.required, "schema": dict(f.schema), "name": f.name}
        if style != "server":
            out["key"] = f.id
        if style != "old":
            out["fieldId"] = f.id
        out.update({"hasDefaultValue": f.has_default, "operations": list(f.operations)})
        allowed = self.allowed_values(f, p, t)
        if allowed is not None:
            out["allowedValues"] = allowed
        if f.kind == "priority" and p.default_priority:
            out["defaultValue"] = self.priority(p.priority(id=p.default_priority))  # type: ignore[arg-type]
        if f.kind == "labels":
            out["autoCompleteUrl"] = f"{self.rest}/label/suggest?query="
        if f.kind == "reporter":
            out["autoCompleteUrl"] = f"{self.rest}/user/search?query="
        return out

    def allowed_values(self, f: FieldDef, p: Project, t: IssueType) -> list[dict[str, Any]] | None:
        if f.kind == "priority":
            return [self.priority(x) for x in p.priorities]
        if f.kind == "project":
            return [self.project(p)]
        if f.kind == "issuetype":
            return [self.issue_type(t)]
        if f.kind == "select":
            return [{"self": f"{self.rest}/customFieldOption/{o['id']}", **o} for o in f.allowed]
        if f.kind == "resolution":
            return [{"self": f"{self.rest}/resolution/{r['id']}", **r} for r in f.allowed]
        return None

    # ------------------------------------------------------------ issues
    def issue(self, iss: Issue, wanted: set[str] | None = None) -> dict[str, Any]:
        """`wanted`: field ids to include (None = all)."""
        fields: dict[str, Any] = {}
        for fid in self._issue_field_ids(iss):
            if wanted is None or fid in wanted:
                fields[fid] = self._issue_field(iss, fid)
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": iss.id, "self": f"{self.rest}/issue/{iss.id}", "key": iss.key, "fields": fields,
        }

    def _issue_field_ids(self, iss: Issue) -> list[str]:
        screen = iss.issue_type.screen
        ids = [f for f in NAVIGABLE if f in screen or f not in ("description", "priority", "labels")]
        ids += [f for f in screen if f.startswith("customfield_")]
        return ids + ["comment"]

    def _issue_field(self, iss: Issue, fid: str) -> Any:
        f = iss.fields
        if fid == "issuetype":
            return self.issue_type(iss.issue_type)
        if fid == "project":
            return self.project(iss.project)
        if fid == "status":
            return self.status(iss.status)
        if fid == "priority":
            return self.priority(f["priority"]) if f.get("priority") else None
        if fid in ("reporter", "creator"):
            return self.user(iss.reporter)
        if fid == "assignee":
            return None
        if fid == "resolution":
            r = iss.resolution
            return {"self": f"{self.rest}/resolution/{r['id']}", **r} if r else None
        if fid in ("created", "updated"):
            return jira_time(iss.created if fid == "created" else iss.updated)
        if fid == "resolutiondate":
            return jira_time(iss.updated) if iss.resolution else None
        if fid == "comment":
            comments = [self.comment(iss, c) for c in iss.comments]
            return {"comments": comments, "self": f"{self.rest}/issue/{iss.id}/comment",
                    "maxResults": len(comments), "total": len(comments), "startAt": 0}
        if fid == "labels":
            return list(f.get("labels") or [])
        fdef = iss.issue_type.screen.get(fid)
        value = f.get(fid)
        if fdef is not None and fdef.kind in ("description", "textarea"):
            return text.for_api(value, self.api if self.site.cloud else "2")
        if fdef is not None and fdef.kind == "select" and value:
            return {"self": f"{self.rest}/customFieldOption/{value['id']}", **value}
        return value

    def comment(self, iss: Issue, c: Comment, *, properties: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "self": f"{self.rest}/issue/{iss.id}/comment/{c.id}", "id": c.id, "author": self.user(c.author),
            "body": text.for_api(c.body, self.api if self.site.cloud else "2"),
            "updateAuthor": self.user(c.update_author or c.author),
            "created": jira_time(c.created), "updated": jira_time(c.updated or c.created),
        }
        if self.site.cloud:
            out["jsdPublic"] = True
        if properties:
            out["properties"] = [dict(p) for p in c.properties]
        return out

    def transition(self, t: Transition, *, with_fields: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": t.id, "name": t.name, "to": self.status(t.to), "hasScreen": bool(t.screen),
            "isGlobal": t.sources is None, "isInitial": False, "isAvailable": True, "isConditional": False,
        }
        if self.site.cloud:
            out["looped"] = False
        if with_fields:
            fields: dict[str, Any] = {}
            for f in t.screen:
                meta: dict[str, Any] = {
                    "required": f.required, "schema": dict(f.schema), "name": f.name, "key": f.id,
                    "hasDefaultValue": f.has_default, "operations": list(f.operations),
                }
                if f.allowed:
                    meta["allowedValues"] = [{"self": f"{self.rest}/{f.kind}/{v['id']}", **v} for v in f.allowed]
                fields[f.id] = meta
            out["fields"] = fields
        return out
