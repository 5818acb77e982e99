"""Writes: what the REST routes and `act_as` people do to issues and comments.

Every method expects `site.lock` held. Each write bumps `updated` when something changed,
records a change group (edits, transitions), snapshots the issue for the search index, and
tells the webhooks (`hooks`). A write that changes nothing records nothing and sends nothing
(inferred from Jira's "no change, no history").
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import changelog as CL
from . import fields as F
from . import validation
from .model import ChangeGroup, ChangeItem, Comment, Issue, IssueType, JiraHTTPError, Project, Transition, User

if TYPE_CHECKING:
    from .state import FakeJira

NO_ISSUE = "Issue does not exist or you do not have permission to see it."


def bad(errors: dict[str, str] | None = None, messages: list[str] | None = None) -> JiraHTTPError:
    return JiraHTTPError(400, messages or [], errors or {})


class Writes:
    """Mixed into FakeJira."""

    def _ctx(self: "FakeJira", project: Project, user: User, api: str) -> F.Context:
        return F.Context(project, user, adf=self.cloud and api == "3", find_user=self.find_user)

    # ------------------------------------------------------------ issues
    def create_issue(self: "FakeJira", user: User, api: str, body: dict[str, Any]) -> Issue:
        values = F.values_from(body, None)
        project, issue_type = self._project_and_type(values, user)
        values = {k: v for k, v in values.items() if k not in ("project", "issuetype")}
        stored, errors = F.check(issue_type.screen, values, self._ctx(project, user, api), complete=True)
        if errors:
            raise bad(errors)
        if "priority" in issue_type.screen and stored.get("priority") is None and project.default_priority:
            p = project.priority(id=project.default_priority)
            stored["priority"] = {"id": p.id, "name": p.name}  # type: ignore[union-attr]
        reporter = stored.pop("reporter", None) or user
        now = self.now()
        project.counter += 1
        issue = Issue(
            id=str(self._next_issue_id), key=f"{project.key}-{project.counter}", project=project,
            issue_type=issue_type, status=project.workflow.initial, fields=stored, reporter=reporter,
            created=now, created_mono=0.0, updated=now,
        )
        self._next_issue_id += 1
        self.issues[issue.id] = issue
        self._ids_by_key[issue.key] = issue.id
        self.ids_by_project[project.id].add(issue.id)
        self._index_labels(issue, (), stored.get("labels") or ())
        self.index.record(issue)
        issue.created_mono = issue.versions[0][0]
        self.hooks.issue_event("jira:issue_created", "issue_created", user, issue)
        return issue

    def _project_and_type(self: "FakeJira", values: dict[str, Any], user: User) -> tuple[Project, IssueType]:
        ref = values.get("project")
        project = None
        if isinstance(ref, dict):
            key = ref.get("id", ref.get("key"))
            project = self.project_by_id_or_key(str(key)) if isinstance(key, (str, int)) else None
        if project is None:
            raise bad({"project": "Specify a valid project ID or key"})
        if "CREATE_ISSUES" not in user.permissions:
            raise bad({"project": "You do not have permission to create issues in this project."})
        ref = values.get("issuetype")
        if not isinstance(ref, dict) or not ({"id", "name"} & ref.keys()):
            raise bad({"issuetype": "Specify an issue type"})
        wanted = str(ref.get("id", "")) or None
        issue_type = next((t for t in project.issue_types.values()
                           if t.id == wanted or (wanted is None and t.name == ref.get("name"))), None)
        if issue_type is None:
            raise bad({"issuetype": "The issue type selected is invalid."})
        return project, issue_type

    def edit_issue(self: "FakeJira", user: User, api: str, issue: Issue, body: dict[str, Any]) -> None:
        if "EDIT_ISSUES" not in user.permissions:
            raise JiraHTTPError(403, ["You do not have permission to edit issues in this project."])
        values = F.values_from(body, issue.fields.get("labels"))
        screen = issue.issue_type.screen
        stored, errors = F.check(screen, values, self._ctx(issue.project, user, api), complete=False)
        if errors:
            raise bad(errors)
        items = []
        for fid, new in stored.items():
            old = issue.reporter if fid == "reporter" else issue.fields.get(fid)
            item = CL.field_item(screen[fid], old, new, self.cloud)
            if item is not None:
                items.append(item)
        if "reporter" in stored:
            issue.reporter = stored.pop("reporter")
        if "labels" in stored:
            self._index_labels(issue, issue.fields.get("labels") or (), stored["labels"])
        issue.fields.update(stored)
        self._changed(issue, user, items, "issue_updated")

    def _changed(self: "FakeJira", issue: Issue, user: User | None, items: list[ChangeItem | None],
                 event_type: str, comment: Comment | None = None) -> ChangeGroup | None:
        """After a write: bump `updated`, record history, re-index, tell the webhooks."""
        real = [i for i in items if i is not None]
        if not real and comment is None:
            return None
        issue.updated = self.now()
        group = None
        if real:
            group = ChangeGroup(str(self._next_change_id), user, issue.updated, real)
            self._next_change_id += 1
            issue.changelog.append(group)
        self.index.record(issue)
        self.hooks.issue_event("jira:issue_updated", event_type, user, issue, group=group, comment=comment)
        return group

    def delete_issue_as(self: "FakeJira", user: User, issue: Issue) -> None:
        if "DELETE_ISSUES" not in user.permissions:
            raise JiraHTTPError(403, ["You do not have permission to delete issues in this project."])
        self.hooks.issue_event("jira:issue_deleted", "issue_deleted", user, issue)
        del self.issues[issue.id]
        for key in (issue.key, *issue.old_keys):
            self._ids_by_key.pop(key.upper(), None)
        self.ids_by_project[issue.project.id].discard(issue.id)
        self._index_labels(issue, issue.fields.get("labels") or (), ())
        for c in issue.comments:
            self._comments.pop(c.id, None)

    # ------------------------------------------------------------ transitions
    def available_transitions(self: "FakeJira", user: User, issue: Issue) -> list[Transition]:
        if "TRANSITION_ISSUES" not in user.permissions:
            return []
        return issue.project.workflow.available(issue.status.id)

    def transition(self: "FakeJira", user: User, api: str, issue: Issue, body: dict[str, Any]) -> None:
        ref = body.get("transition")
        tid = ref.get("id") if isinstance(ref, dict) else None
        if not isinstance(tid, (str, int)) or isinstance(tid, bool):
            raise bad(messages=["Missing 'transition' identifier"])
        t = next((t for t in self.available_transitions(user, issue) if t.id == str(tid)), None)
        if t is None:
            raise bad(messages=[f"Transition id '{tid}' is not valid for this issue."])
        update = body.get("update") or {}
        comments = update.pop("comment", None) if isinstance(update, dict) else None
        values = F.values_from({"fields": body.get("fields") or {}, "update": update}, issue.fields.get("labels"))
        screen = {f.id: f for f in t.screen}
        stored, errors = F.check(screen, values, self._ctx(issue.project, user, api), complete=True)
        if errors:
            raise bad(errors)
        new_comments = [self._comment_from(user, api, op.get("add")) for op in comments or () if isinstance(op, dict)]
        items = [CL.status_item(issue.status, t.to)]
        issue.status = t.to
        old_resolution = issue.resolution
        if "resolution" in stored:
            issue.resolution = stored["resolution"]
        elif t.sets_resolution:
            issue.resolution = F.resolution({"name": t.sets_resolution})
        elif t.clears_resolution:
            issue.resolution = None
        items.append(CL.resolution_item(old_resolution, issue.resolution))
        for c in new_comments:
            self._attach(issue, c)
        self._changed(issue, user, items, "issue_generic", comment=new_comments[-1] if new_comments else None)
        for c in new_comments:
            self.hooks.comment_event("comment_created", user, issue, c)

    def move_to_status(self: "FakeJira", issue: Issue, status_name: str, user: User | None) -> None:
        """Set the status directly, outside the workflow (an admin's bulk change)."""
        status = next((s for s in issue.project.workflow.statuses if s.name == status_name), None)
        if status is None:
            raise ValueError(f"no status {status_name!r} in {issue.project.key}'s workflow")
        old, issue.status = issue.status, status
        self._changed(issue, user, [CL.status_item(old, status)], "issue_generic")

    # ------------------------------------------------------------ comments
    def add_comment(self: "FakeJira", user: User, api: str, issue: Issue, body: dict[str, Any]) -> Comment:
        if "ADD_COMMENTS" not in user.permissions:
            raise JiraHTTPError(403, ["You do not have the permission to comment on this issue."])
        comment = self._comment_from(user, api, body)
        self._attach(issue, comment)
        self._changed(issue, user, [], "issue_commented", comment=comment)
        self.hooks.comment_event("comment_created", user, issue, comment)
        return comment

    def update_comment(self: "FakeJira", user: User, api: str, issue: Issue, comment: Comment,
                       body: dict[str, Any]) -> None:
        self.require_comment_permission(user, comment, "EDIT")
        new = self._comment_from(user, api, body)
        comment.body, comment.updated, comment.update_author = new.body, self.now(), user
        if "properties" in body:
            comment.properties = new.properties
        self._changed(issue, user, [], "issue_comment_edited", comment=comment)
        self.hooks.comment_event("comment_updated", user, issue, comment)

    def delete_comment(self: "FakeJira", user: User, issue: Issue, comment: Comment) -> None:
        self.require_comment_permission(user, comment, "DELETE")
        issue.comments.remove(comment)
        self._comments.pop(comment.id, None)
        self._changed(issue, user, [], "issue_comment_deleted", comment=comment)
        self.hooks.comment_event("comment_deleted", user, issue, comment)

    def require_comment_permission(self: "FakeJira", user: User, comment: Comment, verb: str) -> None:
        own = comment.author is user and f"{verb}_OWN_COMMENTS" in user.permissions
        if not own and f"{verb}_ALL_COMMENTS" not in user.permissions:
            action = "edit" if verb == "EDIT" else "delete"
            raise JiraHTTPError(403, [f"You do not have the permission to {action} this comment."])

    def _comment_from(self: "FakeJira", user: User, api: str, body: Any) -> Comment:
        if not isinstance(body, dict):
            raise bad(messages=["Comment body is not valid!"])
        value = body.get("body")
        if self.cloud and api == "3":
            if not isinstance(value, dict) or validation.adf_error(value) is not None:
                raise bad({"comment": "Comment body is not valid!"})
            empty = not value.get("content")
        else:
            if value is not None and not isinstance(value, str):
                raise bad(messages=["Can not deserialize instance of java.lang.String out of START_OBJECT token"])
            empty = not (value or "").strip()
        if empty:
            raise bad({"comment": "Comment body can not be empty!"})
        if len(F.to_json(value)) > F.RICH_TEXT_LIMIT:
            raise bad({"comment": F.TOO_LONG.format(F.RICH_TEXT_LIMIT)})
        props = body.get("properties") or []
        for p in props:
            if not isinstance(p, dict) or not isinstance(p.get("key"), str) or not p["key"] or len(p["key"]) > 255:
                raise bad(messages=["The property key cannot be null or empty, or longer than 255 characters."])
        return Comment(id="", body=value, author=user, created=self.now(),
                       properties=[{"key": p["key"], "value": p.get("value")} for p in props])

    def _attach(self: "FakeJira", issue: Issue, comment: Comment) -> None:
        comment.id = str(self._next_comment_id)
        self._next_comment_id += 1
        issue.comments.append(comment)
        self._comments[comment.id] = (issue, comment)

    def _index_labels(self: "FakeJira", issue: Issue, old: Any, new: Any) -> None:
        for label in set(old) - set(new):
            self.ids_by_label.get(label, set()).discard(issue.id)
        for label in set(new) - set(old):
            self.ids_by_label.setdefault(label, set()).add(issue.id)
