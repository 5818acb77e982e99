"""Two-way sync as pure rules: what a Jira change means for the Flashduty incident.

Level-triggered like the other direction: the inbound step reads the issue as Jira holds it
now and compares three values per field: what Jira holds, what we last wrote to Jira (the
link), and what we last saw of Jira (so one change is acted on once). No event is replayed.

- **Echo** (a no-op): Jira holds what we last wrote, whoever the event names as actor (a
  shared account included). Our own multi-step moves end in the status we wrote, and their
  intermediate hops are never read: the reconcile that makes them holds the incident.
- **Not mapped**: the status is no Flashduty progress (an intermediate hop a person made).
- **Conflict**: Jira changed, and Flashduty changed too since we last wrote Jira (what it
  asks for is not what we wrote). The field's owner wins; the timeline says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from urllib.parse import quote

from .comment import REF_PARAM, marked_url
from .integration import IntegrationConfig, Owner
from .jira_meta import JiraMeta
from .mapping import desired_priority, status_mapping

PROGRESSES = ("Triggered", "Processing", "Closed")
SEVERITIES = ("Critical", "Warning", "Info")  # highest first: an ambiguous reverse takes the highest
COMMENT_MAX = 500  # Flashduty's comment limit: 1,024 in the current spec, 500 in the older one

Verdict = Literal["in_step", "echo", "seen", "not_mapped", "apply", "conflict_jira", "conflict_flashduty"]


@dataclass(frozen=True, slots=True)
class FieldDecision:
    verdict: Verdict
    target: str | None = None  # the Flashduty value to write (progress or severity) when applying

    @property
    def writes_flashduty(self) -> bool:
        return self.verdict in ("apply", "conflict_jira")


def progress_for_status(cfg: IntegrationConfig, meta: JiraMeta, status: str | None) -> str | None:
    """The Flashduty progress a Jira status is mapped to (case-insensitive), else None."""
    if not status:
        return None
    mapping = status_mapping(cfg, meta)
    for progress in PROGRESSES:
        if (mapping.for_progress(progress) or "").casefold() == status.casefold():
            return progress
    return None


def severity_for_priority(cfg: IntegrationConfig, meta: JiraMeta, priority_id: str | None,
                          current: str = "") -> str | None:
    """The reverse of the severity map. Several severities on one priority: the current one if
    it is among them (nothing to change), else the highest."""
    if not priority_id:
        return None
    found = [s for s in SEVERITIES if desired_priority(cfg, meta, s) == priority_id]
    if current in found:
        return current
    return found[0] if found else None


def decide(*, jira_now: str | None, last_written: str | None, last_seen: str | None, jira_means: str | None,
           flashduty_wants: str | None, owner: Owner) -> FieldDecision:
    """One field. `jira_now`: what Jira holds (status name or priority id); `last_written`: what we
    last wrote to Jira; `last_seen`: what the previous inbound look found; `jira_means`: the
    Flashduty value `jira_now` maps to (None: unmapped); `flashduty_wants`: the Jira value
    Flashduty's current state maps to."""
    if jira_now is None or (last_written is None and last_seen is None):
        return FieldDecision("in_step")  # nothing to compare with yet (a new issue): the first look
    if same(jira_now, last_written):
        return FieldDecision("echo" if last_seen is not None and not same(jira_now, last_seen) else "in_step")
    if same(jira_now, last_seen):
        return FieldDecision("seen")  # a change already handled (or found unmapped) before
    if jira_means is None:
        return FieldDecision("not_mapped")
    flashduty_moved = flashduty_wants is not None and not same(flashduty_wants, last_written)
    if flashduty_moved and not same(flashduty_wants, jira_now):
        return FieldDecision("conflict_jira" if owner == "jira" else "conflict_flashduty", jira_means)
    return FieldDecision("apply", jira_means)


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


def progress_steps(current: str, target: str) -> list[str]:
    """Flashduty calls that take an incident from `current` to `target` progress ([]: there)."""
    if current == target:
        return []
    if target == "Closed":
        return ["resolve"]
    if current == "Closed":
        return ["reopen"] + (["ack"] if target == "Processing" else [])
    return ["ack"] if target == "Processing" else ["unack"]


# ------------------------------------------------------------------ comments Jira -> Flashduty
def jira_comment_ref(comment_id: str) -> str:
    return f"jira-comment:{comment_id}"


def issue_link_ref(issue_id: str) -> str:
    return f"jira-issue:{issue_id}"


def is_marked(text: str) -> bool:
    """Carries a jira-sync mark: mirrored by us (either way), never to be mirrored back."""
    return f"{REF_PARAM}=" in text


def flashduty_comment_pieces(author: str, issue_key: str, text: str, link: str, ref: str,
                             limit: int = COMMENT_MAX) -> list[tuple[str, str]]:
    """A Jira comment as Flashduty comments, [(piece's ref, text)]: prefixed with its author, each
    at most `limit` characters and marked (the link to the comment carries the ref; pieces of a
    long comment carry `ref.1`, `ref.2` ...), split on line or word breaks where it can. The
    pieces' bodies joined give the text back."""
    head = f"{author.strip() or 'Someone'} in Jira {issue_key}"
    body = text.strip() or "(empty comment)"
    whole = _piece(head, "", body, marked_url(link, ref))
    if len(whole) <= limit:
        return [(ref, whole)]
    sized = f"{ref}.{len(body)}"  # the longest piece ref there can be: pieces are sized with it
    url = marked_url(link, sized)
    if limit - len(_piece(head, f" ({len(body)})", "", url)) < 40:
        url = f"{REF_PARAM}={sized}"  # a link too long to leave room for text: keep only the mark
    chunks: list[str] = []
    while body:
        room = limit - len(_piece(head, f" ({len(chunks) + 1})", "", url))
        cut = len(body) if len(body) <= room else _cut_at(body, room)
        chunks.append(body[:cut])
        body = body[cut:]
    out = []
    for n, chunk in enumerate(chunks, 1):
        piece_ref = f"{ref}.{n}"
        piece_url = url.replace(quote_ref(sized), quote_ref(piece_ref)) if url.startswith(("http", "/")) \
            else f"{REF_PARAM}={piece_ref}"
        out.append((piece_ref, _piece(head, f" ({n})", chunk, piece_url)))
    return out


def quote_ref(ref: str) -> str:
    return quote(ref, safe=":-_.")


def _piece(head: str, part_no: str, body: str, url: str) -> str:
    return f"{head}{part_no}: {body}\n{url}"


def _cut_at(text: str, room: int) -> int:
    for sep in ("\n", " "):
        at = text.rfind(sep, room // 2, room)
        if at > 0:
            return at + 1
    return room


def issue_link_comment(issue_key: str, browse_url: str, issue_id: str) -> str:
    """Issue 11: the incident's comment naming its Jira issue; the link carries the mark."""
    return f"Jira issue {issue_key} created: {marked_url(browse_url, issue_link_ref(issue_id))}"
