"""Request bodies: Markdown -> ADF (Cloud v3) or wiki markup (v2), within Jira's size limits."""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from .client_parse import COMMENT_PROPERTY
from .port import IssueDraft
from .render import markdown_to_adf, markdown_to_wiki

# Description, comment and textarea values over 32,767 characters are refused with 400
# "The entered text is too long" (JRASERVER-64351, JRACLOUD-68949). The limit applies to
# what Jira stores - the rendered wiki string, or the ADF JSON on Cloud - so we measure
# after rendering (truncating Markdown alone still overflowed for mozilla/jira-bugzilla-integration#1030).
TEXT_LIMIT = 32_767
SUMMARY_LIMIT = 255  # "Summary can't exceed 255 characters."
TEXTFIELD_LIMIT = 255  # single-line text custom fields
TRUNCATION_NOTE = "_[Truncated: Jira keeps at most 32,767 characters of this text.]_"
_TAIL_MAX = 1000
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


def rendered_size(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def cut_markdown(markdown: str, keep: int) -> str:
    """The first `keep` characters (at a line break when one is near), the note, and a short
    last paragraph - where the caller puts the incident link - so the link survives."""
    head, tail = markdown, ""
    last_break = markdown.rstrip().rfind("\n\n")
    if last_break > 0:
        candidate = markdown[last_break:].strip()
        if len(candidate) <= _TAIL_MAX and "```" not in candidate:
            head, tail = markdown[:last_break], candidate
    keep = max(0, keep - len(tail))
    cut = head[:keep]
    newline = cut.rfind("\n")
    if newline > keep * 0.8:
        cut = cut[:newline]
    if cut.count("```") % 2:  # do not leave a code block open around the note
        cut += "\n```"
    return "\n\n".join(part for part in (cut.rstrip(), TRUNCATION_NOTE, tail) if part)


def rich_text(markdown: str, *, cloud: bool, limit: int = TEXT_LIMIT) -> Any:
    """Rendered text that fits `limit`: shrink the Markdown until its rendering fits."""
    render: Callable[[str], Any] = markdown_to_adf if cloud else markdown_to_wiki
    rendered = render(markdown)
    keep = len(markdown)
    for _ in range(10):
        size = rendered_size(rendered)
        if size <= limit:
            return rendered
        # Rendering grows text by a roughly constant factor; aim 10% under to converge fast.
        keep = int(keep * limit / size * 0.9)
        rendered = render(cut_markdown(markdown, keep))
    return render(TRUNCATION_NOTE)


def plain_adf(text: str) -> dict[str, Any]:
    """Plain text as ADF, one paragraph per line; URLs linked as the v2 wiki renderer would."""
    paragraphs = []
    for line in text.splitlines():
        nodes: list[dict[str, Any]] = []
        pos = 0
        for match in _URL.finditer(line):
            if match.start() > pos:
                nodes.append({"type": "text", "text": line[pos:match.start()]})
            nodes.append({"type": "text", "text": match.group(),
                          "marks": [{"type": "link", "attrs": {"href": match.group()}}]})
            pos = match.end()
        if pos < len(line):
            nodes.append({"type": "text", "text": line[pos:]})
        # Empty text nodes are invalid ADF; an empty paragraph is fine.
        paragraphs.append({"type": "paragraph", "content": nodes} if nodes else {"type": "paragraph"})
    return {"type": "doc", "version": 1, "content": paragraphs}


def one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def text_field_value(text: str, kind: str, *, cloud: bool) -> Any:
    if kind == "textfield":
        return one_line(text, TEXTFIELD_LIMIT)
    if len(text) > TEXT_LIMIT - 100:
        text = text[: TEXT_LIMIT - 100] + "\n" + TRUNCATION_NOTE
    return plain_adf(text) if cloud else text


def issue_fields(draft: IssueDraft, *, cloud: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "project": {"key": draft.project_key},
        "issuetype": {"id": draft.issue_type_id},
        "summary": one_line(draft.summary, SUMMARY_LIMIT),
    }
    if draft.description_markdown.strip():
        fields["description"] = rich_text(draft.description_markdown, cloud=cloud)
    if draft.priority_id:
        # Only when mapped: priority off the create screen fails the whole create (400).
        fields["priority"] = {"id": draft.priority_id}
    if draft.labels:
        fields["labels"] = list(draft.labels)
    for field_id, (text, kind) in draft.text_fields.items():
        fields[field_id] = text_field_value(text, kind, cloud=cloud)
    return fields


def comment_body(markdown: str, ref: str, *, cloud: bool) -> dict[str, Any]:
    # The property travels with the comment, so a comment whose POST answer was lost can be
    # recognised by its ref instead of being posted twice.
    return {
        "body": rich_text(markdown, cloud=cloud),
        "properties": [{"key": COMMENT_PROPERTY, "value": {"ref": ref}}],
    }


def jql_string(value: str) -> str:
    """A JQL string literal: double quotes, with backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
