"""`FakeJira`: the site's state, its settings, lookups and search. Writes are in `writes.py`,
test helpers in `helpers.py`, webhooks in `webhooks.py`."""
from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
import uuid
from typing import Any, Iterable

from . import jql, seed, validation
from .faults import Faults
from .helpers import Helpers
from .index import SearchIndex, doc_at
from .missing import MissingEndpoints
from .model import Comment, Issue, Project, User
from .webhooks import Hooks
from .writes import NO_ISSUE, Writes

FLAVOURS = {"cloud": "Cloud", "server": "Server", "datacenter": "DataCenter"}
CLOUD_VERSION = "1001.0.0-SNAPSHOT"
SETTINGS = ("search_lag_s", "comment_properties_in_list", "clock_offset_s", "drop_webhooks",
            "webhook_retry_delays", "webhook_timeout_s", "latency_s")


def _version_numbers(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version)[:3]
    if not parts:
        raise ValueError(f"bad Jira version {version!r}")
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


class FakeJira(Writes, Helpers):
    """A Jira site in memory. See the package docstring for what is seeded and what is settable."""

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
        self.cloud_id = str(uuid.uuid4())
        self.base_url = "http://jira.invalid"  # the site URL; FakeJiraServer.start() sets it
        # Settings: plain attributes, read on every use, so they may change at any time;
        # reset() puts them back to these values.
        self.search_lag_s: float = search_lag_s
        # The old, undocumented expand=properties on the comment list, for suites that need it.
        self.comment_properties_in_list: bool = os.environ.get("FAKE_JIRA_COMMENT_PROPERTIES_IN_LIST", "") == "1"
        self.clock_offset_s: float = 0.0
        self.drop_webhooks: bool = False
        self.webhook_retry_delays: tuple[float, ...] = (10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)
        self.webhook_timeout_s: float = 20.0
        self.latency_s: float = 0.0  # every answer waits this long (a Jira across a network)
        self._settings = {name: getattr(self, name) for name in SETTINGS}
        self.lock = threading.RLock()
        self.faults = Faults()
        self._missing = MissingEndpoints()
        self.request_log: list[tuple[str, str, int | None]] = []
        self._closing = threading.Event()  # set while a FakeJiraServer stops: wakes fault sleeps
        self.index = SearchIndex()
        self.hooks = Hooks(self)
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

    @property
    def signs_webhooks(self) -> bool:
        """Cloud; Data Center from 10.0 (current DC docs; 7.x-9.x: assume unsigned)."""
        return self.cloud or self.version_numbers >= (10, 0)

    # ------------------------------------------------------------ settings with checks
    @property
    def missing(self) -> frozenset[str]:
        """Named endpoint kinds answering 404 (see `missing.KINDS`); assign a set to change."""
        return self._missing.kinds

    @missing.setter
    def missing(self, kinds: Iterable[str]) -> None:
        self._missing.set(kinds)

    def add_missing(self, path_regex: str, method: str | None = None) -> None:
        """One more 404 rule: requests whose path (after any gateway prefix) matches `path_regex`."""
        self._missing.add_rule(method, path_regex)

    def now(self) -> float:
        """The site's wall clock (epoch seconds): real time plus `clock_offset_s`."""
        return time.time() + self.clock_offset_s

    # ------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to the seed: no issues, webhooks, faults or missing endpoints, empty logs, no
        CAPTCHA, settings as constructed. The cloud id stays."""
        with self.lock:
            for name, value in self._settings.items():
                setattr(self, name, value)
            self.users: list[User] = seed.users(self.flavour)
            self._index_users()
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
            self._next_change_id = 10000
            self.failed_logins: dict[str, int] = {}
            self.request_log.clear()
            self.faults.clear()
            self._missing.clear()
            self.index.clear()
            self.hooks.reset()

    def _index_users(self) -> None:
        self.users_by_email = {u.email.lower(): u for u in self.users}
        self.users_by_name = {u.name.lower(): u for u in self.users}
        self.users_by_pat = {u.pat: u for u in self.users if u.pat}

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

    def user(self, login: str) -> User:
        """A seeded user by email, username or accountId (ValueError if none)."""
        with self.lock:
            found = self.users_by_email.get(login.lower()) or self.users_by_name.get(login.lower()) or next(
                (u for u in self.users if u.account_id == login), None)
        if found is None:
            raise ValueError(f"no user {login!r}")
        return found

    def find_user(self, ref: dict[str, Any]) -> User | None:
        for u in self.users:
            if (self.cloud and ref.get("accountId") == u.account_id) or (
                not self.cloud and ref.get("name", ref.get("key")) in (u.name, u.key)
            ):
                return u
        return None

    def _require(self, id_or_key: str) -> Issue:
        from .model import JiraHTTPError

        issue = self.issue(id_or_key)
        if issue is None:
            raise JiraHTTPError(404, [NO_ISSUE])
        return issue

    # ------------------------------------------------------------ search
    def search(self, user: User, query: str, reconcile: Iterable[str] = ()) -> list[Issue]:
        """JQL search as `user` sees it. Cloud with `search_lag_s` > 0: the index lags (see index.py);
        ids in `reconcile` are read-after-write consistent."""
        parsed = jql.parse(query)
        if "BROWSE_PROJECTS" not in user.permissions:
            return []
        lag = float(self.search_lag_s or 0.0) if self.cloud else 0.0
        if lag <= 0:
            return jql.run(parsed, self, lambda issue: issue.doc)
        horizon = time.monotonic() - lag
        fresh = set(reconcile)

        def doc_of(issue: Issue):  # type: ignore[no-untyped-def]
            return issue.doc if issue.id in fresh else doc_at(issue, horizon)

        return jql.run(parsed, self, doc_of, extra=self.index.changed_since(horizon) | fresh)
