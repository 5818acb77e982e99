"""Jira ADF -> HTML, for the web console's description preview (Jira Cloud).

The console shows "the description as Jira will render it" for a sample incident; on Cloud
the description is the ADF that ``markdown_to_adf`` produced, so the preview renders *that*
output, escapes and demotions included.

``adf_to_html(doc) -> str`` gives HTML for an ADF document: every node and mark ``adf.py``
emits, plus the common ones Jira documents (mention, emoji, cards, panel, expand, date,
status, task lists, underline/subsup/textColor). Unknown nodes show their children (or
their ``text``). It returns a fragment for a ``<div class="jira-preview">``, never raises
(any input, however malformed) and HTML-escapes all text (links: `html_common.py`).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from typing import Any

from .html_common import code_block, link, safe_href

__all__ = ["adf_to_html"]

_MAX_DEPTH = 100  # deeper nodes are shown as plain text (no recursion, whatever the input)
_MAX_NODES = 200_000  # work budget: shared or cyclic structures cannot make rendering hang
_MAX_MARKS = 16
_BLOCK_TAGS = {
    "paragraph": "p",
    "blockquote": "blockquote",
    "bulletList": "ul",
    "listItem": "li",
    "tableRow": "tr",
    "taskList": "ul",
    "decisionList": "ul",
    "decisionItem": "li",
}
_MARK_TAGS = {"strong": "strong", "em": "em", "strike": "s", "code": "code", "underline": "u"}
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_CLASS_WORD = re.compile(r"[A-Za-z0-9_-]{1,40}")


def adf_to_html(doc: Any) -> str:
    """HTML fragment for an ADF document (or any node, or a list of nodes). Never raises."""
    return _AdfRenderer().node(doc, 0)


class _AdfRenderer:
    def __init__(self) -> None:
        self.budget = _MAX_NODES

    def node(self, node: Any, depth: int) -> str:
        if self.budget <= 0:
            return ""
        if depth > _MAX_DEPTH:
            return escape(self.plain_text(node))
        self.budget -= 1
        if isinstance(node, str):
            return escape(node)
        if isinstance(node, list):
            return self.nodes(node, depth)
        if not isinstance(node, dict):
            return ""
        kind = _str(node.get("type"))
        attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
        if kind == "text":
            return self.text(node)
        if kind in _BLOCK_TAGS:
            tag = _BLOCK_TAGS[kind]
            return f"<{tag}>{self.children(node, depth)}</{tag}>"
        if kind == "heading":
            level = attrs.get("level")
            level = min(max(level, 1), 6) if _is_int(level) else 1
            return f"<h{level}>{self.children(node, depth)}</h{level}>"
        if kind == "orderedList":
            order = attrs.get("order")
            start = f' start="{order}"' if _is_int(order) and order != 1 and 0 <= order <= 10**9 else ""
            return f"<ol{start}>{self.children(node, depth)}</ol>"
        if kind == "codeBlock":
            lang = attrs.get("language")
            return code_block(self.plain_text(node.get("content")), lang if isinstance(lang, str) else "")
        if kind == "table":
            return f"<table><tbody>{self.children(node, depth)}</tbody></table>"
        if kind in ("tableHeader", "tableCell"):
            tag = "th" if kind == "tableHeader" else "td"
            return f"<{tag}{_span_attrs(attrs)}>{self.children(node, depth)}</{tag}>"
        if kind == "hardBreak":
            return "<br>"
        if kind == "rule":
            return "<hr>"
        if kind == "mention":
            name = _str(attrs.get("text")) or _str(attrs.get("id"))
            return f'<span class="mention">{escape(name if name.startswith("@") else "@" + name)}</span>'
        if kind == "emoji":
            return f'<span class="emoji">{escape(_str(attrs.get("text")) or _str(attrs.get("shortName")))}</span>'
        if kind == "status":
            color = _class_word(attrs.get("color"))
            cls = f"status status-{color}" if color else "status"
            return f'<span class="{cls}">{escape(_str(attrs.get("text")))}</span>'
        if kind == "date":
            return f'<span class="date">{escape(_date_text(attrs.get("timestamp")))}</span>'
        if kind in ("inlineCard", "blockCard", "embedCard"):
            url = _str(attrs.get("url"))
            href = safe_href(url)
            card = link(href, escape(url)) if href else escape(url)
            return card if kind == "inlineCard" else f'<div class="card">{card}</div>'
        if kind == "panel":
            panel_type = _class_word(attrs.get("panelType"))
            cls = f"panel panel-{panel_type}" if panel_type else "panel"
            return f'<div class="{cls}">{self.children(node, depth)}</div>'
        if kind in ("expand", "nestedExpand"):
            title = escape(_str(attrs.get("title")))
            return f"<details open><summary>{title}</summary>{self.children(node, depth)}</details>"
        if kind == "taskItem":
            box = "\u2611 " if attrs.get("state") == "DONE" else "\u2610 "
            return f"<li>{box}{self.children(node, depth)}</li>"
        # doc, and anything unknown: its children, or its text.
        if "content" not in node and isinstance(node.get("text"), str):
            return escape(node["text"])
        return self.children(node, depth)

    def nodes(self, items: list[Any], depth: int) -> str:
        out = []
        for item in items:
            if self.budget <= 0:
                break
            out.append(self.node(item, depth + 1))
        return "".join(out)

    def children(self, node: dict[str, Any], depth: int) -> str:
        content = node.get("content")
        if isinstance(content, list):
            return self.nodes(content, depth)
        return self.node(content, depth + 1) if isinstance(content, (dict, str)) else ""

    def text(self, node: dict[str, Any]) -> str:
        text = node.get("text")
        out = escape(text) if isinstance(text, str) else ""
        marks = node.get("marks")
        if not out or not isinstance(marks, list):
            return out
        for mark in reversed(marks[:_MAX_MARKS]):  # the first mark is the outermost
            if isinstance(mark, dict):
                out = _apply_mark(mark, out)
        return out

    def plain_text(self, node: Any) -> str:
        """The text of every text node below `node`, iteratively (no recursion)."""
        parts: list[str] = []
        stack = [node]
        while stack and self.budget > 0:
            item = stack.pop()
            self.budget -= 1
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, list):
                stack.extend(reversed(item[: max(self.budget, 0)]))
            elif isinstance(item, dict):
                if isinstance(item.get("text"), str):
                    parts.append(item["text"])
                if isinstance(item.get("content"), (list, dict)):
                    stack.append(item["content"])
        return "".join(parts)


def _apply_mark(mark: dict[str, Any], inner: str) -> str:
    kind = _str(mark.get("type"))
    attrs = mark.get("attrs") if isinstance(mark.get("attrs"), dict) else {}
    if kind in _MARK_TAGS:
        tag = _MARK_TAGS[kind]
        return f"<{tag}>{inner}</{tag}>"
    if kind == "link":
        href = safe_href(attrs.get("href"))
        return link(href, inner) if href else inner
    if kind == "subsup" and attrs.get("type") in ("sub", "sup"):
        tag = attrs["type"]
        return f"<{tag}>{inner}</{tag}>"
    if kind in ("textColor", "backgroundColor"):
        color = attrs.get("color")
        if isinstance(color, str) and _HEX_COLOR.fullmatch(color):
            prop = "color" if kind == "textColor" else "background-color"
            return f'<span style="{prop}: {color}">{inner}</span>'
    return inner  # unknown mark: the text as is


def _span_attrs(attrs: dict[str, Any]) -> str:
    out = ""
    for key in ("colspan", "rowspan"):
        value = attrs.get(key)
        if _is_int(value) and 1 < value <= 1000:
            out += f' {key}="{value}"'
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _class_word(value: Any) -> str:
    return value.lower() if isinstance(value, str) and _CLASS_WORD.fullmatch(value) else ""


def _date_text(timestamp: Any) -> str:
    """ADF dates are epoch milliseconds (as a string); shown as an ISO date."""
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return _str(timestamp)
