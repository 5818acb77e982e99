"""A Flashduty comment as it is copied to Jira, and the mark that finds it there again.

Jira has no idempotency key, so every comment we post carries its own reference (`ref`).
It rides in the URL of the comment's "commented in Flashduty" link, in the fragment
(`#jira-sync-ref=<ref>`): the fragment never reaches Flashduty's server, the link is useful
to a person, and it survives in both body formats Jira stores (an ADF link mark's `href`,
a wiki-markup `[text|url]`) and in the comment list, which Cloud returns without comment
properties. The property `jira-sync` is still written with each comment; the Jira adapter
reads it, one comment at a time, only for comments whose body has no mark.
"""
from __future__ import annotations

import re
from urllib.parse import quote, unquote

REF_PARAM = "jira-sync-ref"
_REF_IN_URL = re.compile(re.escape(REF_PARAM) + r"=([^\s&|\]\[\"'<>)]+)")


def comment_ref(source_id: str) -> str:
    return f"flashduty-comment:{source_id}"


def marked_url(url: str, ref: str) -> str:
    """`url` with the ref in its fragment (any fragment it had is replaced)."""
    base = url.split("#", 1)[0]
    return f"{base}#{REF_PARAM}={quote(ref, safe=':-_.')}"


def refs_in_text(text: str) -> list[str]:
    """Every ref marked in `text` (a URL, a wiki-markup body), in order."""
    return [unquote(m.group(1)) for m in _REF_IN_URL.finditer(text)]


def comment_markdown(author: str, text: str, link: str | None = None) -> str:
    """The comment as posted; `link` (the incident's page, carrying the ref) when known."""
    who = author.strip() or "Someone"
    said = f"[commented in Flashduty](<{link}>)" if link else "commented in Flashduty"
    return f"**{who}** {said}:\n\n{text}"
