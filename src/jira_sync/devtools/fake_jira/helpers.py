"""Helpers for tests: look at the state, and change it the way people and admins do."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

from .model import Issue

if TYPE_CHECKING:
    from .people import Actor
    from .state import FakeJira
    from .webhooks import Delivery, Webhook


class Helpers:
    """Mixed into FakeJira. All take the site lock."""

    def issues_with_label(self: "FakeJira", label: str) -> list[Issue]:
        with self.lock:
            return [self.issues[i] for i in sorted(self.ids_by_label.get(label, ()), key=int)]

    def count_requests(self: "FakeJira", method: str | None = None, path_regex: str | None = None) -> int:
        pattern = re.compile(path_regex) if path_regex else None
        with self.lock:
            log = list(self.request_log)
        return sum(
            1 for m, p, _ in log
            if (method is None or m == method.upper()) and (pattern is None or pattern.search(p))
        )

    def rename_project_key(self: "FakeJira", old: str, new: str) -> None:
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

    def set_status(self: "FakeJira", id_or_key: str, status_name: str, by: str | None = "alice") -> None:
        """Move an issue to a status directly, outside the workflow, as a person in Jira might
        (default: alice). Records a status change and sends webhooks like any change."""
        with self.lock:
            issue = self._require(id_or_key)
            self.move_to_status(issue, status_name, self.user(by) if by else None)

    def delete_issue(self: "FakeJira", id_or_key: str, by: str = "admin") -> None:
        """Delete an issue (as `by`): every call on it answers 404 from now on; webhooks hear
        jira:issue_deleted."""
        with self.lock:
            self.delete_issue_as(self.user(by), self._require(id_or_key))

    def act_as(self: "FakeJira", login: str) -> "Actor":
        """A person acting in Jira: `fake.act_as("alice").transition("OPS-1", "In Progress")`."""
        from .people import Actor

        return Actor(self, self.user(login))

    # ------------------------------------------------------------ credentials
    def clear_captcha(self: "FakeJira", username: str | None = None) -> None:
        """A person solved the CAPTCHA in the browser."""
        with self.lock:
            if username is None:
                self.failed_logins.clear()
            else:
                self.failed_logins.pop(username, None)

    def revoke_credentials(self: "FakeJira", login: str) -> None:
        """The user's API token (Cloud) or password and PAT (Server) stop working."""
        with self.lock:
            user = self.user(login)
            self.users_by_pat.pop(user.pat or "", None)
            user.secret, user.pat = None, None  # None never equals a sent secret

    def expire_token(self: "FakeJira", login: str) -> None:
        """The user's API token (Cloud) or PAT (Server/DC) expires: 401, the same answer as a
        wrong token. A Server/DC password keeps working."""
        with self.lock:
            self.user(login).token_expired = True

    def set_token(self: "FakeJira", login: str, token: str, scopes: Iterable[str] | None = None) -> None:
        """Give the user a new, unexpired API token (Cloud) or PAT (Server/DC). `scopes` makes a
        Cloud token scoped (it then works only through the gateway); None: a classic token."""
        with self.lock:
            user = self.user(login)
            if self.cloud:
                user.secret = token
                user.scopes = frozenset(scopes) if scopes is not None else None
            else:
                self.users_by_pat.pop(user.pat or "", None)
                user.pat = token
                self.users_by_pat[token] = user
            user.token_expired = False

    # ------------------------------------------------------------ webhooks
    def add_webhook(self: "FakeJira", url: str, events: Iterable[str], *, jql: str = "", secret: str | None = None,
                    exclude_body: bool = False, name: str = "test webhook", by: str = "admin") -> "Webhook":
        """Register an admin webhook without REST (same checks as POST /rest/webhooks/1.0/webhook)."""
        body: dict[str, Any] = {"name": name, "url": url, "events": list(events), "excludeBody": exclude_body,
                                "filters": {"issue-related-events-section": jql}}
        if secret is not None:
            body["secret"] = secret
        with self.lock:
            return self.hooks.register(self.user(by), body)

    @property
    def webhooks(self: "FakeJira") -> list["Webhook"]:
        with self.lock:
            return list(self.hooks.registered.values())

    @property
    def webhook_deliveries(self: "FakeJira") -> list["Delivery"]:
        """Every delivery attempt so far (a copy), oldest first."""
        return self.hooks.log()

    def wait_for_webhooks(self: "FakeJira", timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued, in flight or waiting for a retry. False on timeout."""
        return self.hooks.wait_idle(timeout)

    def close(self: "FakeJira") -> None:
        """Stop the webhook delivery threads (they start with the first delivery)."""
        self.hooks.close()
