"""Cloud's search index: eventually consistent, with a lag settable at any time.

Every write stores a snapshot (`Doc`) of the issue's searchable fields with the monotonic time
it was made. A search with lag L evaluates JQL against each issue's newest snapshot at least L
seconds old: an issue created less than L ago is not found, and one whose labels or status
changed less than L ago is found by its old values, not its new ones. The issues found are then
read from the "database" (their current fields), as Cloud hydrates search hits (inferred).
`reconcileIssues` ids bypass the lag (read-after-write, as the spec documents). Server/DC
search is always consistent.
"""
from __future__ import annotations

import bisect
import time

from .model import Doc, Issue

MAX_VERSIONS = 50  # snapshots kept per issue; older ones are folded into the oldest kept
TRACK_CHANGES_S = 86400.0  # how long the change journal remembers a write (lags up to a day)


class SearchIndex:
    """The change journal: which issues changed when (to find issues a lagging index still has)."""

    def __init__(self) -> None:
        self._changes: list[tuple[float, str]] = []  # (monotonic time, issue id), in time order

    def clear(self) -> None:
        self._changes.clear()

    def record(self, issue: Issue) -> None:
        """Snapshot the issue as it is now (call after each write, lock held)."""
        now = time.monotonic()
        issue.versions.append((now, issue.snapshot()))
        if len(issue.versions) > MAX_VERSIONS:
            del issue.versions[: len(issue.versions) - MAX_VERSIONS]
        self._changes.append((now, issue.id))
        if len(self._changes) > 100_000 and self._changes[0][0] < now - TRACK_CHANGES_S:
            cut = bisect.bisect_left(self._changes, (now - TRACK_CHANGES_S, ""))
            del self._changes[:cut]

    def changed_since(self, horizon: float) -> set[str]:
        """Ids of issues written after `horizon` (monotonic): the current indexes may not list them."""
        start = bisect.bisect_right(self._changes, (horizon, "\uffff"))
        return {issue_id for _, issue_id in self._changes[start:]}


def doc_at(issue: Issue, horizon: float) -> Doc | None:
    """The issue as an index `horizon` (monotonic) old knows it; None if it did not exist yet."""
    for made, doc in reversed(issue.versions):
        if made <= horizon:
            return doc
    return None
