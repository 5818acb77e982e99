"""`FakeJira`: the site's state, its write operations, and helpers for tests."""
from __future__ import annotations

import dataclasses
import re
import threading
import time
from typing import Any

from . import fields as F
from . import jql, seed, validation
from .faults import Faults
from .model import Comment, Issue, IssueType, JiraHTTPError, Project, Transition, User

FLAVOURS = {"cloud": "Cloud", "server": "Server", "datacenter": "DataCenter"}
CLOUD_VERSION = "1001.0.0-SNAPSHOT"


def _version_numbers(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version)[:3]
    if not parts:
        raise ValueError(f"bad Jira version {version!r}")
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def _bad(errors: dict[str, str] | None = None, messages: list[str] | None = None) -> JiraHTTPError:
    return JiraHTTPError(400, messages or [], errors or {})


class FakeJira:
    """A Jira site in memory. See the package docstring for what is seeded."""

    def __init__(self, flavour: str = "cloud", version: str = "8.20.0", *, search_lag_s: float = 0.0) -> None:
        flavour = flavour.lower()
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {sorted(FLAVOURS)}")
        self.flavour = flavour
        self.cloud = flavour == "cloud"
        self.deployment_type = FLAVOURS[flavour]
        self.version = CLOUD_VERSION if self.cloud else version
        self.version_numbers = _version_numbers(self.version)
        self.build_number = int("".join(f"{n:02d}" for n in self.version_numbers)) if not self.cloud else 100000
        self.api_versions = ("2", "3") if self.cloud else ("2",)
        self.search_lag_s = search_lag_s
        self.lock = threading.RLock()
        self.faults = Faults()
        self.request_log: list[tuple[str, str, int | None]] = []
        self._closing = threading.Event()  # set while a FakeJiraServer stops: wakes fault sleeps
        validation.warm_up()
        self.reset()
        from .app import build_app

        self.app = build_app(self)

    # ------------------------------------------------------------ version gates
    @property
    def accepts_pat(self) -> bool:
        return not self.cloud and self.version_numbers >= (8, 14)

    @property
    def has_new_createmeta(self) -> bool:
        return self.cloud or self.version_numbers >= (8, 4)

    @property
    def has_old_createmeta(self) -> bool:
        return self.cloud or self.version_numbers < (9, 0)

    # ------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to the seed: no issues, no faults, empty request log, no CAPTCHA."""
        with self.lock:
            self.users: list[User] = seed.users(self.flavour)
            self.users_by_email = {u.email.lower(): u for u in self.users}
            self.users_by_name = {u.name.lower(): u for u in self.users}
            self.users_by_pat = {u.pat: u for u in self.users if u.pat}
            self.projects: list[Project] = seed.projects()
            self._projects: dict[str, Project] = {}
            for p in self.projects:
                self._projects[p.id] = p
                self._projects[p.key.upper()] = p
            self.issues: dict[str, Issue] = {}
            self._ids_by_key: dict[str, str] = {}
            self.ids_by_label: dict[str, set[str]] = {}
            self.ids_by_project: dict[str, set[str]] = {p.id: set() for p in self.projects}
            self._comments: dict[str, tuple[Issue, Comment]] = {}
            self._next_issue_id = 10000
            self._next_comment_id = 10000
            self.failed_logins: dict[str, int] = {}
            self.request_log.clear()
            self.faults.clear()

    def add_projects(self, count: int) -> None:
        """`count` more projects (GEN1, GEN2, ...; like NOPRI), for sites with thousands of projects."""
        template = next(p for p in seed.projects() if p.key == "NOPRI")
        with self.lock:
            start = 20000 + len(self.projects)
            for n in range(count):
                pid = str(start + n)
                project = dataclasses.replace(template, id=pid, key=f"GEN{n + 1}", name=f"Generated project {n + 1}",
                                              old_keys=[], counter=0)
                self.projects.append(project)
                self._projects[pid] = project
                self._projects[project.key] = project
                self.ids_by_project[pid] = set()

    def project_by_id_or_key(self, ref: str) -> Project | None:
        with self.lock:
            return self._projects.get(ref) or self._projects.get(ref.upper())

    def issue(self, id_or_key: str) -> Issue | None:
        """By id, current key or any former key (keys survive a project key rename)."""
        with self.lock:
            if id_or_key.isdigit():
                return self.issues.get(id_or_key)
            issue_id = self._ids_by_key.get(id_or_key.upper())
            return self.issues.get(issue_id) if issue_id else None

    def issue_by_key(self, key: str) -> Issue | None:
        return None if key.isdigit() else self.issue(key)

    def comment(self, comment_id: str) -> tuple[Issue, Comment] | None:
        with self.lock:
            return self._comments.get(comment_id)

    def find_user(self, ref: dict[str, Any]) -> User | None:
        for u in self.users:
            if (self.cloud and ref.get("accountId") == u.account_id) or (
                not self.cloud and ref.get("name", ref.get("key")) in (u.name, u.key)
            ):
                return u
        return None

    # ------------------------------------------------------------ test helpers
    def issues_with_label(self, label: str) -> list[Issue]:
        with self.lock:
            return [self.issues[i] for i in sorted(self.ids_by_label.get(label, ()), key=int)]

    def count_requests(self, method: str | None = None, path_regex: str | None = None) -> int:
        pattern = re.compile(path_regex) if path_regex else None
        with self.lock:
            log = list(self.request_log)
        return sum(
            1 for m, p, _ in log
            if (method is None or m == method.upper()) and (pattern is None or pattern.search(p))
        )

    def rename_project_key(self, old: str, new: str) -> None:
        """Rename a project key as an admin would: issues get new keys, old keys keep resolving."""
        with self.lock:
            project = self._projects.get(old.upper())
            if project is None or new.upper() in self._projects:
                raise ValueError(f"cannot rename {old!r} to {new!r}")
            project.old_keys.append(project.key)
            project.key = new.upper()
            self._projects[project.key] = project
            for issue_id in self.ids_by_project[project.id]:
                issue = self.issues[issue_id]
                issue.old_keys.append(issue.key)
                issue.key = f"{project.key}-{issue.key.rsplit('-', 1)[1]}"
                self._ids_by_key[issue.key] = issue.id

    def set_status(self, id_or_key: str, status_name: str) -> None:
        """Move an issue to a status directly, as a person editing the workflow might."""
        with self.lock:
            issue = self._require(id_or_key)
            status = next((s for s in issue.project.workflow.statuses if s.name == status_name), None)
            if status is None:
                raise ValueError(f"no status {status_name!r} in {issue.project.key}'s workflow")
            issue.status, issue.updated = status, time.time()

    def clear_captcha(self, username: str | None = None) -> None:
        """A person solved the CAPTCHA in the browser."""
        with self.lock:
            if username is None:
                self.failed_logins.clear()
            else:
                self.failed_logins.pop(username, None)

    def revoke_credentials(self, login: str) -> None:
        """The user's API token (Cloud) or password and PAT (Server) stop working, as an expired token does."""
        with self.lock:
            user = self.users_by_email.get(login.lower()) or self.users_by_name.get(login.lower())
            if user is None:
                raise ValueError(f"no user {login!r}")
            self.users_by_pat.pop(user.pat or "", None)
            user.secret, user.pat = None, None  # None never equals a sent secret

    def _require(self, id_or_key: str) -> Issue:
        issue = self.issue(id_or_key)
        if issue is None:
            raise JiraHTTPError(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    # ------------------------------------------------------------ writes (lock held by the caller)
    def _ctx(self, project: Project, user: User, api: str) -> F.Context:
        return F.Context(project, user, adf=self.cloud and api == "3", find_user=self.find_user)

    def create_issue(self, user: User, api: str, body: dict[str, Any]) -> Issue:
        values = F.values_from(body, None)
        project, issue_type = self._project_and_type(values, user)
        values = {k: v for k, v in values.items() if k not in ("project", "issuetype")}
        stored, errors = F.check(issue_type.screen, values, self._ctx(project, user, api), complete=True)
        if errors:
            raise _bad(errors)
        if "priority" in issue_type.screen and stored.get("priority") is None and project.default_priority:
            p = project.priority(id=project.default_priority)
            stored["priority"] = {"id": p.id, "name": p.name}  # type: ignore[union-attr]
        reporter = stored.pop("reporter", None) or user
        now = time.time()
        project.counter += 1
        issue = Issue(
            id=str(self._next_issue_id), key=f"{project.key}-{project.counter}", project=project,
            issue_type=issue_type, status=project.workflow.initial, fields=stored, reporter=reporter,
            created=now, created_mono=time.monotonic(), updated=now,
        )
        self._next_issue_id += 1
        self.issues[issue.id] = issue
        self._ids_by_key[issue.key] = issue.id
        self.ids_by_project[project.id].add(issue.id)
        self._index_labels(issue, (), stored.get("labels") or ())
        return issue

    def _project_and_type(self, values: dict[str, Any], user: User) -> tuple[Project, IssueType]:
        ref = values.get("project")
        project = None
        if isinstance(ref, dict):
            key = ref.get("id", ref.get("key"))
            project = self.project_by_id_or_key(str(key)) if isinstance(key, (str, int)) else None
        if project is None:
            raise _bad({"project": "Specify a valid project ID or key"})
        if "CREATE_ISSUES" not in user.permissions:
            raise _bad({"project": "You do not have permission to create issues in this project."})
        ref = values.get("issuetype")
        if not isinstance(ref, dict) or not ({"id", "name"} & ref.keys()):
            raise _bad({"issuetype": "Specify an issue type"})
        wanted = str(ref.get("id", "")) or None
        issue_type = next((t for t in project.issue_types.values()
                           if t.id == wanted or (wanted is None and t.name == ref.get("name"))), None)
        if issue_type is None:
            raise _bad({"issuetype": "The issue type selected is invalid."})
        return project, issue_type

    def edit_issue(self, user: User, api: str, issue: Issue, body: dict[str, Any]) -> None:
        if "EDIT_ISSUES" not in user.permissions:
            raise JiraHTTPError(403, ["You do not have permission to edit issues in this project."])
        values = F.values_from(body, issue.fields.get("labels"))
        stored, errors = F.check(issue.issue_type.screen, values, self._ctx(issue.project, user, api), complete=False)
        if errors:
            raise _bad(errors)
        if "reporter" in stored:
            issue.reporter = stored.pop("reporter")
        if "labels" in stored:
            self._index_labels(issue, issue.fields.get("labels") or (), stored["labels"])
        issue.fields.update(stored)
        issue.updated = time.time()

    def available_transitions(self, user: User, issue: Issue) -> list[Transition]:
        if "TRANSITION_ISSUES" not in user.permissions:
            return []
        return issue.project.workflow.available(issue.status.id)

    def transition(self, user: User, api: str, issue: Issue, body: dict[str, Any]) -> None:
        ref = body.get("transition")
        tid = ref.get("id") if isinstance(ref, dict) else None
        if not isinstance(tid, (str, int)) or isinstance(tid, bool):
            raise _bad(messages=["Missing 'transition' identifier"])
        t = next((t for t in self.available_transitions(user, issue) if t.id == str(tid)), None)
        if t is None:
            raise _bad(messages=[f"Transition id '{tid}' is not valid for this issue."])
        update = body.get("update") or {}
        comments = update.pop("comment", None) if isinstance(update, dict) else None
        values = F.values_from({"fields": body.get("fields") or {}, "update": update}, issue.fields.get("labels"))
        screen = {f.id: f for f in t.screen}
        stored, errors = F.check(screen, values, self._ctx(issue.project, user, api), complete=True)
        if errors:
            raise _bad(errors)
        new_comments = [self._comment_from(user, api, op.get("add")) for op in comments or () if isinstance(op, dict)]
        issue.status = t.to
        if "resolution" in stored:
            issue.resolution = stored["resolution"]
        elif t.sets_resolution:
            issue.resolution = F.resolution({"name": t.sets_resolution})
        elif t.clears_resolution:
            issue.resolution = None
        for c in new_comments:
            self._attach(issue, c)
        issue.updated = time.time()

    def add_comment(self, user: User, api: str, issue: Issue, body: dict[str, Any]) -> Comment:
        if "ADD_COMMENTS" not in user.permissions:
            raise JiraHTTPError(403, ["You do not have the permission to comment on this issue."])
        comment = self._comment_from(user, api, body)
        self._attach(issue, comment)
        issue.updated = comment.created
        return comment

    def _comment_from(self, user: User, api: str, body: Any) -> Comment:
        if not isinstance(body, dict):
            raise _bad(messages=["Comment body is not valid!"])
        value = body.get("body")
        if self.cloud and api == "3":
            if not isinstance(value, dict) or validation.adf_error(value) is not None:
                raise _bad({"comment": "Comment body is not valid!"})
            empty = not value.get("content")
        else:
            if value is not None and not isinstance(value, str):
                raise _bad(messages=["Can not deserialize instance of java.lang.String out of START_OBJECT token"])
            empty = not (value or "").strip()
        if empty:
            raise _bad({"comment": "Comment body can not be empty!"})
        if len(F.to_json(value)) > F.RICH_TEXT_LIMIT:
            raise _bad({"comment": F.TOO_LONG.format(F.RICH_TEXT_LIMIT)})
        props = body.get("properties") or []
        for p in props:
            if not isinstance(p, dict) or not isinstance(p.get("key"), str) or not p["key"] or len(p["key"]) > 255:
                raise _bad(messages=["The property key cannot be null or empty, or longer than 255 characters."])
        return Comment(id="", body=value, author=user, created=time.time(),
                       properties=[{"key": p["key"], "value": p.get("value")} for p in props])

    def _attach(self, issue: Issue, comment: Comment) -> None:
        comment.id = str(self._next_comment_id)
        self._next_comment_id += 1
        issue.comments.append(comment)
        self._comments[comment.id] = (issue, comment)

    def _index_labels(self, issue: Issue, old: Any, new: Any) -> None:
        for label in set(old) - set(new):
            self.ids_by_label.get(label, set()).discard(issue.id)
        for label in set(new) - set(old):
            self.ids_by_label.setdefault(label, set()).add(issue.id)

    # ------------------------------------------------------------ search
    def search(self, user: User, query: str) -> list[Issue]:
        parsed = jql.parse(query)
        lag = self.search_lag_s if self.cloud else 0.0
        horizon = time.monotonic() - lag

        def visible(issue: Issue) -> bool:  # Cloud's index lags behind writes
            return "BROWSE_PROJECTS" in user.permissions and (lag <= 0 or issue.created_mono <= horizon)

        return jql.run(parsed, self, visible)

