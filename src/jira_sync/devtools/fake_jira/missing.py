"""Endpoints that answer 404, as on an older Jira or a third-party "Jira-compatible" server.

`fake.missing = {"mypermissions", "issue_by_id"}` switches named kinds on (KINDS below);
`fake.add_missing(path_regex, method=None)` adds any rule. Matching uses the path after a
gateway prefix (`/ex/jira/{cloudId}`); the answer is Jersey's "null for uri" 404, before
authentication, as for a resource the server does not have.
"""
from __future__ import annotations

import re
import threading
from typing import Iterable

_API = r"^/rest/api/\d"
KINDS: dict[str, tuple[str | None, str]] = {
    # name: (method or None for all, path regex)
    "mypermissions": (None, _API + r"/mypermissions$"),
    "issue_by_id": (None, _API + r"/issue/\d+(/.*)?$"),  # /issue/{numeric id} and sub-resources; keys work
    "search_jql": (None, _API + r"/search/jql$"),
    "changelog": (None, _API + r"/issue/[^/]+/changelog$"),
    "changelog_bulkfetch": (None, _API + r"/changelog/bulkfetch$"),
    "comment_properties": (None, _API + r"/comment/[^/]+/properties(/.*)?$"),
    "new_createmeta": (None, _API + r"/issue/createmeta/.+$"),
    "project_search": (None, _API + r"/project/search$"),
    "webhooks": (None, r"^/rest/webhooks/1\.0/webhook(/.*)?$"),
    "tenant_info": (None, r"^/_edge/tenant_info$"),
    "delete_issue": ("DELETE", _API + r"/issue/[^/]+$"),
}


class MissingEndpoints:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kinds: frozenset[str] = frozenset()
        self._rules: tuple[tuple[str | None, re.Pattern[str]], ...] = ()
        self._extra: tuple[tuple[str | None, re.Pattern[str]], ...] = ()

    def set(self, kinds: Iterable[str]) -> None:
        wanted = frozenset(kinds)
        unknown = wanted - KINDS.keys()
        if unknown:
            raise ValueError(f"unknown missing-endpoint kinds {sorted(unknown)}; known: {sorted(KINDS)}")
        with self._lock:
            self.kinds = wanted
            self._rules = tuple((KINDS[k][0], re.compile(KINDS[k][1])) for k in sorted(wanted))

    def add_rule(self, method: str | None, path_regex: str) -> None:
        with self._lock:
            self._extra += ((method.upper() if method else None, re.compile(path_regex)),)

    def clear(self) -> None:
        with self._lock:
            self.kinds, self._rules, self._extra = frozenset(), (), ()

    def hides(self, method: str, path: str) -> bool:
        rules = self._rules + self._extra  # tuples: a consistent snapshot without the lock
        return any((m is None or m == method) and p.search(path) for m, p in rules)
