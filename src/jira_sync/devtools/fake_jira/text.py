"""Rich-text conversions between what was stored and what an API version returns.

Jira stores one value and renders it per API: v3 answers ADF, v2 answers wiki markup.
The emulator keeps what the client sent and converts on read, crudely (text only):
good enough to read back what was written, not a renderer.
"""
from __future__ import annotations

from typing import Any

_BLOCKS = {
    "paragraph", "heading", "codeBlock", "blockquote", "listItem", "panel", "rule",
    "tableRow", "tableCell", "tableHeader", "mediaSingle", "taskItem", "decisionItem",
}


def to_plain(value: Any) -> str:
    """Plain text of a wiki string or an ADF doc (None -> "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    out: list[str] = []
    _walk(value, out)
    return "".join(out).strip("\n")


def _walk(node: Any, out: list[str]) -> None:
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "text":
        out.append(str(node.get("text", "")))
    elif kind == "hardBreak":
        out.append("\n")
    elif kind in ("mention", "emoji", "status"):
        attrs = node.get("attrs") or {}
        out.append(str(attrs.get("text") or attrs.get("shortName") or ""))
    for child in node.get("content") or ():
        _walk(child, out)
    if kind in _BLOCKS and out and not out[-1].endswith("\n"):
        out.append("\n")


def to_adf(text: str | None) -> dict[str, Any] | None:
    """A minimal ADF doc for a stored wiki string: one paragraph per line."""
    if text is None:
        return None
    content = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]} if line else {"type": "paragraph"}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": content if text else []}


def for_api(value: Any, api: str) -> Any:
    """The stored rich-text value as API version `api` ("2" or "3") returns it."""
    if value is None:
        return None
    if api == "3":
        return value if isinstance(value, dict) else to_adf(value)
    return value if isinstance(value, str) else to_plain(value)
