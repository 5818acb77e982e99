"""Markdown -> ADF (Jira Cloud, REST API v3), always valid against the official schema.

ADF restricts which node may contain which (a list item cannot hold a heading, a quote
cannot hold a quote or a rule, ...): such nodes are demoted to allowed ones (heading ->
bold paragraph, nested quote -> its content, rule -> "---" text, table -> one paragraph
per row) instead of producing an invalid document.
"""
from __future__ import annotations

from typing import Any, Iterable

from .tree import LISTS, URL_RE, Block, Span, parse, safe_url

# ================================================================ ADF
# Which block nodes each ADF container accepts (adf-schema-v1-full.json).
_ADF_ALLOWED = {
    "doc": {"paragraph", "heading", "bulletList", "orderedList", "blockquote", "codeBlock", "rule", "table"},
    "listItem": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "blockquote": {"paragraph", "bulletList", "orderedList", "codeBlock"},
}
_MARK_ORDER = {"link": 0, "em": 1, "strong": 2, "strike": 3, "code": 4}


def markdown_to_adf(text: str) -> dict[str, Any]:
    """ADF document for Jira Cloud's v3 API; valid against the ADF schema for any input."""
    return {"type": "doc", "version": 1, "content": _adf_blocks(parse(text), "doc")}


def _adf_blocks(blocks: Iterable[Block], ctx: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.kind in _ADF_ALLOWED[ctx]:
            out.extend(_adf_block(block))
        else:
            out.extend(_adf_demoted(block, ctx))
    return out


def _adf_block(b: Block) -> list[dict[str, Any]]:
    if b.kind == "paragraph":
        return [_adf_paragraph(_adf_inline(b.spans))]
    if b.kind == "heading":
        return [{"type": "heading", "attrs": {"level": b.level}, "content": _adf_inline(b.spans)}]
    if b.kind in LISTS:
        return _adf_list(b)
    if b.kind == "blockquote":
        return [{"type": "blockquote", "content": _adf_blocks(b.children, "blockquote") or [_adf_paragraph([])]}]
    if b.kind == "codeBlock":
        return [_adf_code(b)]
    if b.kind == "rule":
        return [{"type": "rule"}]
    if b.kind == "table":
        return _adf_table(b)
    return []


def _adf_demoted(b: Block, ctx: str) -> list[dict[str, Any]]:
    """A block the container does not accept, turned into ones it does."""
    if b.kind == "heading":
        return [_adf_paragraph(_adf_inline([Span("strong", children=b.spans)]))]
    if b.kind == "blockquote":
        return _adf_blocks(b.children, ctx)
    if b.kind == "rule":
        return [_adf_paragraph(_adf_text("---", ()))]
    if b.kind == "table":
        return [_adf_paragraph(_adf_row_inline(row)) for row in b.children]
    return []


def _adf_paragraph(content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "paragraph", "content": content}


def _adf_list(b: Block) -> list[dict[str, Any]]:
    items = [_adf_list_item(item) for item in b.children if item.kind == "listItem"]
    if not items:
        return []
    node: dict[str, Any] = {"type": b.kind, "content": items}
    if b.kind == "orderedList" and b.order != 1:
        node["attrs"] = {"order": b.order}
    return [node]


def _adf_list_item(item: Block) -> dict[str, Any]:
    content = _adf_blocks(item.children, "listItem")
    # Jira's editor schema wants a list item to start with a paragraph (or code block):
    # "-" alone or "- - x" would otherwise give an empty item or one starting with a list.
    if not content or content[0]["type"] in LISTS:
        content.insert(0, _adf_paragraph([]))
    return {"type": "listItem", "content": content}


def _adf_code(b: Block) -> dict[str, Any]:
    body = b.text[:-1] if b.text.endswith("\n") else b.text
    node: dict[str, Any] = {"type": "codeBlock", "content": [{"type": "text", "text": body}] if body else []}
    if b.lang:
        node["attrs"] = {"language": b.lang}
    return node


def _adf_table(b: Block) -> list[dict[str, Any]]:
    rows = []
    for row in b.children:
        cells = [
            {"type": cell.kind, "content": [_adf_paragraph(_adf_inline(cell.spans))]}
            for cell in row.children
            if cell.kind in ("tableHeader", "tableCell")
        ]
        if cells:
            rows.append({"type": "tableRow", "content": cells})
    return [{"type": "table", "content": rows}] if rows else []


def _adf_row_inline(row: Block) -> list[dict[str, Any]]:
    spans: list[Span] = []
    for i, cell in enumerate(row.children):
        if i:
            spans.append(Span("text", " | "))
        spans.extend(cell.spans)
    return _adf_inline(spans)


def _adf_inline(spans: list[Span]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for span in spans:
        _adf_span(span, (), nodes)
    return _merge_text_nodes(nodes)


def _adf_span(span: Span, marks: tuple[dict[str, Any], ...], out: list[dict[str, Any]]) -> None:
    if span.kind == "text":
        out.extend(_adf_text(span.text, marks))
    elif span.kind == "br":
        out.append({"type": "hardBreak"})
    elif span.kind == "code":
        # ADF allows only link beside code: bold/italic around inline code are dropped.
        keep = tuple(m for m in marks if m["type"] == "link") + ({"type": "code"},)
        out.extend(_adf_text(span.text, keep, linkify=False))
    else:
        mark = _adf_mark(span)
        # A mark type appears once per node (e.g. "**a **b** c**" nests strong in strong).
        inner = marks if mark is None or any(m["type"] == mark["type"] for m in marks) else marks + (mark,)
        for child in span.children:
            _adf_span(child, inner, out)


def _adf_mark(span: Span) -> dict[str, Any] | None:
    if span.kind != "link":
        return {"type": span.kind}
    href = safe_url(span.href)
    return {"type": "link", "attrs": {"href": href}} if href else None


def _adf_text(text: str, marks: tuple[dict[str, Any], ...], linkify: bool = True) -> list[dict[str, Any]]:
    """Text nodes (never empty ones); bare URLs outside links become links."""
    if not text:
        return []
    if not linkify or any(m["type"] == "link" for m in marks):
        return [_text_node(text, marks)]
    nodes, pos = [], 0
    for m in URL_RE.finditer(text):
        if m.start() > pos:
            nodes.append(_text_node(text[pos : m.start()], marks))
        nodes.append(_text_node(m.group(), marks + ({"type": "link", "attrs": {"href": m.group()}},)))
        pos = m.end()
    if pos < len(text):
        nodes.append(_text_node(text[pos:], marks))
    return nodes


def _text_node(text: str, marks: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = sorted(marks, key=lambda m: _MARK_ORDER.get(m["type"], 99))
    return node


def _merge_text_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for node in nodes:
        prev = merged[-1] if merged else None
        if prev and prev["type"] == node["type"] == "text" and prev.get("marks") == node.get("marks"):
            merged[-1] = {**prev, "text": prev["text"] + node["text"]}
        else:
            merged.append(node)
    return merged


# ---------------------------------------------------------------- ADF helpers for callers
def link_paragraph(label: str, url: str, prefix: str = "") -> dict[str, Any]:
    """One ADF paragraph: `prefix` (plain), then `label` linked to `url` (label defaults to url)."""
    content = _adf_text(prefix, (), linkify=False)
    href = safe_url(url)
    text = label or url
    content += _adf_text(text, ({"type": "link", "attrs": {"href": href}},) if href else (), linkify=False)
    return _adf_paragraph(content)


def append_link_adf(doc: dict[str, Any] | None, label: str, url: str, prefix: str = "") -> dict[str, Any]:
    """A copy of `doc` (or a new doc) with a link paragraph appended."""
    base = doc if isinstance(doc, dict) and doc.get("type") == "doc" else {"type": "doc", "version": 1}
    content = list(base.get("content") or [])
    return {**base, "content": content + [link_paragraph(label, url, prefix)]}
