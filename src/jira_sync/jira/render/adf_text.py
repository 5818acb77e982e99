"""ADF -> plain text (comments read back from Jira Cloud). Never raises.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .tree import LISTS

# ================================================================ ADF -> plain text
_BLOCK_SEP = "\n\n"


def adf_to_text(doc: Any) -> str:
    """Plain text of an ADF document: blocks separated by blank lines, list items by lines."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    return _node_text(doc).strip("\n")


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    content = node.get("content")
    return [c for c in content if isinstance(c, dict)] if isinstance(content, list) else []


def _node_text(node: dict[str, Any]) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind == "text":
        return _text_with_link(node)
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "placeholder"):
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "date":
        return _date_text(attrs.get("timestamp"))
    if kind == "rule":
        return "---"
    if kind in ("paragraph", "heading", "codeBlock", "caption"):
        return "".join(_node_text(c) for c in _children(node))
    if kind in LISTS:
        return _list_text(node, attrs)
    if kind == "table":
        return "\n".join(_row_text(row) for row in _children(node))
    if kind == "listItem":
        return "\n".join(t for t in (_node_text(c) for c in _children(node)) if t)
    # doc, blockquote, panel, expand, layouts, cells, unknown containers
    return _BLOCK_SEP.join(t for t in (_node_text(c) for c in _children(node)) if t)


def _text_with_link(node: dict[str, Any]) -> str:
    """The text, followed by "(url)" when it is a link whose label is not the URL itself."""
    text = str(node.get("text") or "")
    marks = node.get("marks") if isinstance(node.get("marks"), list) else []
    for mark in marks:
        attrs = mark.get("attrs") if isinstance(mark, dict) and mark.get("type") == "link" else None
        href = attrs.get("href") if isinstance(attrs, dict) else None
        if href and isinstance(href, str) and href != text:
            return f"{text} ({href})"
    return text


def _list_text(node: dict[str, Any], attrs: dict[str, Any]) -> str:
    order = attrs.get("order") if isinstance(attrs.get("order"), int) else 1
    lines = []
    for i, item in enumerate(_children(node)):
        bullet = f"{order + i}. " if node.get("type") == "orderedList" else "- "
        text = _node_text(item).replace("\n", "\n" + " " * len(bullet))  # indent nested lines
        lines.append(bullet + text)
    return "\n".join(lines)


def _row_text(row: dict[str, Any]) -> str:
    return " | ".join(_node_text(cell).replace("\n", " ") for cell in _children(row))


def _date_text(timestamp: Any) -> str:
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, tz=timezone.utc).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return str(timestamp or "")
