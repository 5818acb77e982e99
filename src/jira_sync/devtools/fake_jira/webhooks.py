"""Admin webhooks (`/rest/webhooks/1.0/webhook`): registry, matching, payloads.

What is documented (developer.atlassian.com "Webhooks", Cloud and Server): registration by
Jira administrators with `name`, `url`, `events`, `filters: {"issue-related-events-section": JQL}`,
`excludeBody`; a `secret` signs each body with HMAC-SHA256 in `X-Hub-Signature: sha256=<hex>`
(Cloud; Data Center 10+ per current docs, older Server versions accept no secret: inferred as
"ignored, unsigned"); payload keys `timestamp` (ms), `webhookEvent`, `issue_event_type_name`,
`user` (the actor), `issue` (after the change), `changelog: {id, items}`, `comment`.
Changes by anyone fire, including the integration's own API calls (Jira echoes them).

Inferred: `issue` and `comment` use the REST v2 representation (wiki-markup text), also on
Cloud; `user` on Cloud omits `emailAddress`; comment events carry `comment` and an abridged
`issue` (id, key, summary, status, priority, issuetype, project); issue events for a comment
are `jira:issue_updated` with `issue_event_type_name` `issue_commented` /
`issue_comment_edited` / `issue_comment_deleted` (so a hook on both kinds hears a comment
twice); transitions are `issue_generic`. `excludeBody` posts an empty body. The register
answer's shape follows Server's docs (`self`, `name`, `url`, `events`, `filters`,
`excludeBody`, `enabled`, `lastUpdatedUser`, `lastUpdatedDisplayName`, `lastUpdated`);
the secret is never echoed.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import changelog as CL
from . import jql
from .delivery import Delivery, Dispatcher, Job
from .model import ChangeGroup, Comment, Issue, JiraHTTPError, User
from .render import View

if TYPE_CHECKING:
    from .state import FakeJira

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
COMMENT_EVENTS = ("comment_created", "comment_updated", "comment_deleted")
OTHER_EVENTS = (  # accepted at registration; the emulator never fires them
    "worklog_created", "worklog_updated", "worklog_deleted", "issuelink_created", "issuelink_deleted",
    "attachment_created", "attachment_deleted", "issue_property_set", "issue_property_deleted",
    "project_created", "project_updated", "project_deleted", "jira:version_released",
    "jira:version_unreleased", "jira:version_created", "jira:version_updated", "jira:version_deleted",
    "user_created", "user_updated", "user_deleted", "option_voting_changed", "option_watching_changed",
    "option_unassigned_issues_changed", "option_subtasks_changed", "option_attachments_changed",
    "option_issuelinks_changed", "option_timetracking_changed", "sprint_created", "sprint_deleted",
    "sprint_updated", "sprint_started", "sprint_closed", "board_created", "board_updated", "board_deleted",
    "board_configuration_changed",
)
KNOWN_EVENTS = frozenset(ISSUE_EVENTS + COMMENT_EVENTS + OTHER_EVENTS)
FILTER_KEY = "issue-related-events-section"
ADMINS_ONLY = "Only Jira administrators can manage webhooks."


@dataclass(slots=True)
class Webhook:
    id: int
    name: str
    url: str
    events: tuple[str, ...]
    jql: str
    query: jql.Query | None
    exclude_body: bool
    secret: str | None
    enabled: bool
    updated_by: User
    updated: float


def _bad(message: str) -> JiraHTTPError:
    return JiraHTTPError(400, [message])


class Hooks:
    def __init__(self, site: "FakeJira") -> None:
        self.site = site
        self.registered: dict[int, Webhook] = {}
        self._next_id = 1
        self.delivery = Dispatcher(site)

    def reset(self) -> None:
        self.registered.clear()
        self._next_id = 1
        self.delivery.reset()

    def log(self) -> list[Delivery]:
        return self.delivery.log()

    def wait_idle(self, timeout: float) -> bool:
        return self.delivery.wait_idle(timeout)

    def close(self) -> None:
        self.delivery.close()

    # ------------------------------------------------------------ registry (lock held)
    @staticmethod
    def require_admin(user: User) -> None:
        if not user.admin:
            raise JiraHTTPError(403, [ADMINS_ONLY])

    def register(self, user: User, body: Any, existing: Webhook | None = None) -> Webhook:
        self.require_admin(user)
        if not isinstance(body, dict):
            raise _bad("The webhook must be a JSON object.")
        name, url, events = body.get("name"), body.get("url"), body.get("events", [])
        if not isinstance(name, str) or not name.strip():
            raise _bad("The webhook name is required.")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            raise _bad("The webhook URL must be an http(s) URL.")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise _bad("'events' must be a list of event names.")
        unknown = [e for e in events if e not in KNOWN_EVENTS]
        if unknown:
            raise _bad(f"Unknown webhook event(s): {', '.join(unknown)}.")
        filters = body.get("filters") or {}
        text = filters.get(FILTER_KEY, "") if isinstance(filters, dict) else None
        if not isinstance(text, str):
            raise _bad(f"'filters' must be an object with a JQL string under '{FILTER_KEY}'.")
        query = jql.parse(text) if text.strip() else None  # a bad JQL is Jira's 400
        secret = body.get("secret")
        if secret is not None and not isinstance(secret, str):
            raise _bad("The webhook secret must be a string.")
        hook = Webhook(
            id=existing.id if existing else self._next_id, name=name, url=url, events=tuple(events), jql=text,
            query=query, exclude_body=bool(body.get("excludeBody", False)), secret=secret or None,
            enabled=bool(body.get("enabled", True)), updated_by=user, updated=self.site.now(),
        )
        if existing is None:
            self._next_id += 1
        self.registered[hook.id] = hook
        return hook

    def get(self, hook_id: str) -> Webhook:
        hook = self.registered.get(int(hook_id)) if hook_id.isdigit() else None
        if hook is None:
            raise JiraHTTPError(404, [f"Webhook with id '{hook_id}' does not exist."])
        return hook

    def json(self, base: str, hook: Webhook) -> dict[str, Any]:
        who = hook.updated_by
        return {
            "self": f"{base}/rest/webhooks/1.0/webhook/{hook.id}", "name": hook.name, "url": hook.url,
            "excludeBody": hook.exclude_body, "filters": {FILTER_KEY: hook.jql}, "events": list(hook.events),
            "enabled": hook.enabled, "lastUpdatedUser": who.account_id if self.site.cloud else who.key,
            "lastUpdatedDisplayName": who.display_name, "lastUpdated": int(hook.updated * 1000),
        }

    # ------------------------------------------------------------ events (lock held)
    def issue_event(self, event: str, type_name: str, user: User | None, issue: Issue, *,
                    group: ChangeGroup | None = None, comment: Comment | None = None) -> None:
        hooks = self._listening(event, issue)
        if not hooks:
            return
        view = View(self.site, self.site.base_url, "2")
        payload: dict[str, Any] = {"timestamp": int(self.site.now() * 1000), "webhookEvent": event,
                                   "issue_event_type_name": type_name}
        if user is not None:
            payload["user"] = self._user(view, user)
        payload["issue"] = view.issue(issue)
        if group is not None:
            payload["changelog"] = {"id": group.id, "items": [CL.item_json(i, self.site.cloud) for i in group.items]}
        if comment is not None:
            payload["comment"] = view.comment(issue, comment)
        self._send(hooks, event, payload)

    def comment_event(self, event: str, user: User | None, issue: Issue, comment: Comment) -> None:
        hooks = self._listening(event, issue)
        if not hooks:
            return
        view = View(self.site, self.site.base_url, "2")
        abridged = view.issue(issue, {"summary", "status", "priority", "issuetype", "project", "assignee"})
        abridged.pop("expand", None)
        payload = {"timestamp": int(self.site.now() * 1000), "webhookEvent": event,
                   "comment": view.comment(issue, comment), "issue": abridged}
        self._send(hooks, event, payload)

    def _listening(self, event: str, issue: Issue) -> list[Webhook]:
        return [h for h in self.registered.values()
                if h.enabled and event in h.events and (h.query is None or jql.matches(h.query, self.site, issue))]

    def _user(self, view: View, user: User) -> dict[str, Any]:
        out = view.user(user)
        if self.site.cloud:
            out.pop("emailAddress", None)
        return out

    def _send(self, hooks: list[Webhook], event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        generation = self.delivery.generation
        for h in hooks:
            self.delivery.submit(Job(h.id, h.url, h.secret, event, str(uuid.uuid4()),
                                     b"" if h.exclude_body else body, generation))
