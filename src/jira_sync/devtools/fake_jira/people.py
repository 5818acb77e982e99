"""People acting in Jira, other than the integration's account: `fake.act_as("alice")`.

Each action goes through the same checks as the REST API (permissions, workflow, field
validation; failures raise `JiraHTTPError`), records history with that person as author,
and sends webhooks. Rich text is written as a v2 (wiki markup) string, as Jira's editor
stores it for either API.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .model import Comment, Issue, JiraHTTPError, User

if TYPE_CHECKING:
    from .state import FakeJira


class Actor:
    def __init__(self, site: "FakeJira", user: User) -> None:
        self.site, self.user = site, user

    def _issue(self, issue: Issue | str) -> Issue:
        return self.site._require(issue if isinstance(issue, str) else issue.id)

    def create(self, project: str = "OPS", summary: str = "Created by a person", **fields: Any) -> Issue:
        """Create an issue (Task unless `issuetype` is given); `fields` as the v2 REST API takes them."""
        body = {"fields": {"project": {"key": project}, "issuetype": {"id": "10001"}, "summary": summary, **fields}}
        with self.site.lock:
            return self.site.create_issue(self.user, "2", body)

    def transition(self, issue: Issue | str, to: str, **fields: Any) -> None:
        """Take the available transition named `to`, or leading to status `to` (case-insensitive).
        A transition screen's required resolution defaults to the first one offered."""
        with self.site.lock:
            target = self._issue(issue)
            wanted = to.lower()
            available = self.site.available_transitions(self.user, target)
            t = next((t for t in available if t.name.lower() == wanted), None) or next(
                (t for t in available if t.to.name.lower() == wanted), None)
            if t is None:
                names = ", ".join(f"{t.name} -> {t.to.name}" for t in available) or "none"
                raise JiraHTTPError(400, [f"No transition to '{to}' from '{target.status.name}' (available: {names})."])
            for f in t.screen:
                if f.required and f.id not in fields and f.allowed:
                    fields[f.id] = {"id": f.allowed[0]["id"]}
            self.site.transition(self.user, "2", target, {"transition": {"id": t.id}, "fields": fields})

    def comment(self, issue: Issue | str, text: str, properties: list[dict[str, Any]] | None = None) -> Comment:
        with self.site.lock:
            body: dict[str, Any] = {"body": text}
            if properties:
                body["properties"] = properties
            return self.site.add_comment(self.user, "2", self._issue(issue), body)

    def edit_comment(self, comment_id: str, text: str) -> None:
        with self.site.lock:
            issue, comment = self._comment(comment_id)
            self.site.update_comment(self.user, "2", issue, comment, {"body": text})

    def delete_comment(self, comment_id: str) -> None:
        with self.site.lock:
            issue, comment = self._comment(comment_id)
            self.site.delete_comment(self.user, issue, comment)

    def _comment(self, comment_id: str) -> tuple[Issue, Comment]:
        found = self.site.comment(comment_id)
        if found is None:
            raise JiraHTTPError(404, [f"Can not find a comment for the id: {comment_id}."])
        return found

    def edit(self, issue: Issue | str, **fields: Any) -> None:
        """Edit fields as `PUT /rest/api/2/issue` would (`summary="x"`, `priority={"name": "High"}`)."""
        with self.site.lock:
            self.site.edit_issue(self.user, "2", self._issue(issue), {"fields": fields})

    def set_priority(self, issue: Issue | str, name: str) -> None:
        self.edit(issue, priority={"name": name})

    def set_labels(self, issue: Issue | str, labels: Iterable[str]) -> None:
        self.edit(issue, labels=list(labels))

    def add_label(self, issue: Issue | str, label: str) -> None:
        with self.site.lock:
            self.site.edit_issue(self.user, "2", self._issue(issue), {"update": {"labels": [{"add": label}]}})

    def delete(self, issue: Issue | str) -> None:
        with self.site.lock:
            self.site.delete_issue_as(self.user, self._issue(issue))
