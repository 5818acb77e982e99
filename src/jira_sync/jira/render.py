"""Flashduty's Markdown-ish text -> Jira ADF (Cloud, API v3) or Jira wiki markup (API v2).

Public API
----------
``markdown_to_adf(text) -> dict``
    An ADF document ``{"type": "doc", "version": 1, "content": [...]}`` that always validates
    against the official ADF schema. Empty or blank input gives ``content: []`` (the schema
    allows an empty doc).
``markdown_to_wiki(text) -> str``
    Jira wiki markup. Characters wiki markup would interpret in the user's plain text are
    escaped, so text shows as typed.
``adf_to_text(doc) -> str``
    Plain text from any ADF document (comments read back from Cloud). Never raises.
``link_paragraph(label, url, prefix="") -> dict``
    One ADF paragraph: ``prefix`` as plain text, then ``label`` linked to ``url``.
``append_link_adf(doc, label, url, prefix="") -> dict``
    A new doc: ``doc`` plus ``link_paragraph(...)`` at the end (``doc`` is not modified).
``wiki_link(label, url) -> str`` / ``append_link_wiki(text, label, url, prefix="") -> str``
    The same for wiki markup: ``[label|url]`` with the label escaped and the URL made safe.

Example: ``append_link_adf(markdown_to_adf(desc), "View incident in Flashduty", detail_url)``.
A URL whose scheme is javascript:/vbscript:/data:/file: is never linked: the label is kept
as plain text.

How it works
------------
markdown-it-py (CommonMark + tables + strikethrough, raw HTML *off*, so HTML stays literal
text) produces a token stream; ``_parse`` turns it into a small tree of ``_Block``/``_Span``
and two emitters walk that tree. ADF restricts which node may contain which (a list item
cannot hold a heading, a quote cannot hold a quote or a rule, ...): the ADF emitter demotes
such nodes to allowed ones (heading -> bold paragraph, nested quote -> its content, rule ->
"---" text, table -> one paragraph per row) instead of producing an invalid document.
Input nested deeper than markdown-it's limit would be silently truncated by the parser, so
such input is rendered as plain paragraphs instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = [
    "adf_to_text",
    "append_link_adf",
    "append_link_wiki",
    "link_paragraph",
    "markdown_to_adf",
    "markdown_to_wiki",
    "wiki_link",
]

_MAX_NESTING = 40
_MD = MarkdownIt("commonmark", {"html": False, "maxNesting": _MAX_NESTING}).enable(
    ["table", "strikethrough"]
)

# Bare URLs in text. The last character may not be punctuation that usually ends a sentence.
_URL_RE = re.compile(r"(?:https?://|ftp://|mailto:)[^\s<>\"|\[\]{}]*[^\s<>\"|\[\]{}.,;:!?)'*_~]")
_UNSAFE_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data|file):", re.IGNORECASE)


# ================================================================ intermediate tree
@dataclass
class _Span:
    """Inline content. kind: text | code | br | strong | em | strike | link."""

    kind: str
    text: str = ""
    href: str = ""
    children: list[_Span] = field(default_factory=list)


@dataclass
class _Block:
    """Block content, named after the ADF node it becomes."""

    kind: str
    spans: list[_Span] = field(default_factory=list)  # paragraph, heading, table cells
    children: list[_Block] = field(default_factory=list)
    level: int = 0  # heading level
    order: int = 1  # first number of an ordered list
    text: str = ""  # code block body
    lang: str = ""  # code block language


_BLOCK_OPEN = {
    "paragraph_open": "paragraph",
    "heading_open": "heading",
    "bullet_list_open": "bulletList",
    "ordered_list_open": "orderedList",
    "list_item_open": "listItem",
    "blockquote_open": "blockquote",
    "table_open": "table",
    "tr_open": "tableRow",
    "th_open": "tableHeader",
    "td_open": "tableCell",
}
_SPAN_OPEN = {"strong_open": "strong", "em_open": "em", "s_open": "strike", "link_open": "link"}
_LISTS = ("bulletList", "orderedList")


def _parse(text: str) -> list[_Block]:
    tokens = _MD.parse(text or "")
    # markdown-it stops parsing (dropping the rest of the text) at maxNesting: never lose text.
    if any(t.level >= _MAX_NESTING - 1 for t in tokens):
        return _plain_blocks(text)
    return _blocks_from_tokens(tokens)


def _plain_blocks(text: str) -> list[_Block]:
    """Paragraphs split on blank lines, line breaks kept, no markup at all."""
    chunks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [
        _Block("paragraph", spans=_plain_spans("\n".join(line.strip() for line in chunk.strip().split("\n"))))
        for chunk in chunks
        if chunk.strip()
    ]


def _blocks_from_tokens(tokens: list[Token]) -> list[_Block]:
    root = _Block("root")
    stack = [root]
    for tok in tokens:
        if tok.nesting == 1:
            block = _open_block(tok)
            # thead/tbody and anything unknown are transparent: their content joins the parent.
            if block is not None:
                stack[-1].children.append(block)
            stack.append(block or stack[-1])
        elif tok.nesting == -1:
            if len(stack) > 1:
                stack.pop()
        elif tok.type == "inline":
            _attach_inline(stack[-1], _spans(tok.children or []))
        else:
            leaf = _leaf_block(tok)
            if leaf is not None:
                stack[-1].children.append(leaf)
    return root.children


def _open_block(tok: Token) -> _Block | None:
    kind = _BLOCK_OPEN.get(tok.type)
    if kind is None:
        return None
    block = _Block(kind)
    if kind == "heading":
        block.level = int(tok.tag[1:]) if tok.tag[1:].isdigit() else 1
    elif kind == "orderedList":
        start = tok.attrGet("start")
        block.order = int(start) if isinstance(start, (int, str)) and str(start).isdigit() else 1
    return block


def _attach_inline(parent: _Block, spans: list[_Span]) -> None:
    if parent.kind in ("paragraph", "heading", "tableHeader", "tableCell"):
        parent.spans = spans
    elif spans:  # inline content outside a paragraph (not produced by CommonMark): wrap it
        parent.children.append(_Block("paragraph", spans=spans))


def _leaf_block(tok: Token) -> _Block | None:
    if tok.type in ("fence", "code_block"):
        lang = tok.info.strip().split(maxsplit=1)[0] if tok.info.strip() else ""
        return _Block("codeBlock", text=tok.content, lang=lang)
    if tok.type == "hr":
        return _Block("rule")
    if tok.content.strip():  # html_block and anything unknown: its source as text
        return _Block("paragraph", spans=_plain_spans(tok.content.strip("\n")))
    return None


def _plain_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            spans.append(_Span("br"))
        spans.append(_Span("text", line))
    return spans


def _spans(tokens: list[Token]) -> list[_Span]:
    root = _Span("root")
    stack = [root]
    for tok in tokens:
        if tok.type in _SPAN_OPEN:
            span = _Span(_SPAN_OPEN[tok.type], href=str(tok.attrGet("href") or ""))
            stack[-1].children.append(span)
            stack.append(span)
        elif tok.nesting == 1:  # unknown inline container: transparent
            stack.append(stack[-1])
        elif tok.nesting == -1:
            if len(stack) > 1:
                _close_span(stack.pop())
        elif tok.type in ("softbreak", "hardbreak"):
            stack[-1].children.append(_Span("br"))  # keep the author's line breaks
        elif tok.type == "code_inline":
            stack[-1].children.append(_Span("code", tok.content))
        elif tok.type == "image":  # no media upload: a link to the image, labelled by its alt text
            src = str(tok.attrGet("src") or "")
            label = _Span("text", tok.content or src)
            stack[-1].children.append(_Span("link", href=src, children=[label]) if src else label)
        elif tok.content:
            stack[-1].children.append(_Span("text", tok.content))
    return root.children


def _close_span(span: _Span) -> None:
    if span.kind == "link" and not span.children and span.href:
        span.children.append(_Span("text", span.href))  # "[](url)": show the URL, not nothing


def _safe_url(url: str) -> str:
    """The URL if it may be linked, else "" (script and local-file schemes)."""
    url = (url or "").strip()
    return "" if _UNSAFE_SCHEME.match(url) else url


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
    return {"type": "doc", "version": 1, "content": _adf_blocks(_parse(text), "doc")}


def _adf_blocks(blocks: Iterable[_Block], ctx: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.kind in _ADF_ALLOWED[ctx]:
            out.extend(_adf_block(block))
        else:
            out.extend(_adf_demoted(block, ctx))
    return out


def _adf_block(b: _Block) -> list[dict[str, Any]]:
    if b.kind == "paragraph":
        return [_adf_paragraph(_adf_inline(b.spans))]
    if b.kind == "heading":
        return [{"type": "heading", "attrs": {"level": b.level}, "content": _adf_inline(b.spans)}]
    if b.kind in _LISTS:
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


def _adf_demoted(b: _Block, ctx: str) -> list[dict[str, Any]]:
    """A block the container does not accept, turned into ones it does."""
    if b.kind == "heading":
        return [_adf_paragraph(_adf_inline([_Span("strong", children=b.spans)]))]
    if b.kind == "blockquote":
        return _adf_blocks(b.children, ctx)
    if b.kind == "rule":
        return [_adf_paragraph(_adf_text("---", ()))]
    if b.kind == "table":
        return [_adf_paragraph(_adf_row_inline(row)) for row in b.children]
    return []


def _adf_paragraph(content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "paragraph", "content": content}


def _adf_list(b: _Block) -> list[dict[str, Any]]:
    items = [_adf_list_item(item) for item in b.children if item.kind == "listItem"]
    if not items:
        return []
    node: dict[str, Any] = {"type": b.kind, "content": items}
    if b.kind == "orderedList" and b.order != 1:
        node["attrs"] = {"order": b.order}
    return [node]


def _adf_list_item(item: _Block) -> dict[str, Any]:
    content = _adf_blocks(item.children, "listItem")
    # Jira's editor schema wants a list item to start with a paragraph (or code block):
    # "-" alone or "- - x" would otherwise give an empty item or one starting with a list.
    if not content or content[0]["type"] in _LISTS:
        content.insert(0, _adf_paragraph([]))
    return {"type": "listItem", "content": content}


def _adf_code(b: _Block) -> dict[str, Any]:
    body = b.text[:-1] if b.text.endswith("\n") else b.text
    node: dict[str, Any] = {"type": "codeBlock", "content": [{"type": "text", "text": body}] if body else []}
    if b.lang:
        node["attrs"] = {"language": b.lang}
    return node


def _adf_table(b: _Block) -> list[dict[str, Any]]:
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


def _adf_row_inline(row: _Block) -> list[dict[str, Any]]:
    spans: list[_Span] = []
    for i, cell in enumerate(row.children):
        if i:
            spans.append(_Span("text", " | "))
        spans.extend(cell.spans)
    return _adf_inline(spans)


def _adf_inline(spans: list[_Span]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for span in spans:
        _adf_span(span, (), nodes)
    return _merge_text_nodes(nodes)


def _adf_span(span: _Span, marks: tuple[dict[str, Any], ...], out: list[dict[str, Any]]) -> None:
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


def _adf_mark(span: _Span) -> dict[str, Any] | None:
    if span.kind != "link":
        return {"type": span.kind}
    href = _safe_url(span.href)
    return {"type": "link", "attrs": {"href": href}} if href else None


def _adf_text(text: str, marks: tuple[dict[str, Any], ...], linkify: bool = True) -> list[dict[str, Any]]:
    """Text nodes (never empty ones); bare URLs outside links become links."""
    if not text:
        return []
    if not linkify or any(m["type"] == "link" for m in marks):
        return [_text_node(text, marks)]
    nodes, pos = [], 0
    for m in _URL_RE.finditer(text):
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
    href = _safe_url(url)
    text = label or url
    content += _adf_text(text, ({"type": "link", "attrs": {"href": href}},) if href else (), linkify=False)
    return _adf_paragraph(content)


def append_link_adf(doc: dict[str, Any] | None, label: str, url: str, prefix: str = "") -> dict[str, Any]:
    """A copy of `doc` (or a new doc) with a link paragraph appended."""
    base = doc if isinstance(doc, dict) and doc.get("type") == "doc" else {"type": "doc", "version": 1}
    content = list(base.get("content") or [])
    return {**base, "content": content + [link_paragraph(label, url, prefix)]}


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
    if kind in _LISTS:
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


# ================================================================ wiki markup
# Languages Jira's {code} macro knows; any other would show an error box instead of the code.
_WIKI_LANGS = {
    "actionscript", "ada", "applescript", "bash", "c", "c#", "c++", "css", "erlang", "go",
    "groovy", "haskell", "html", "java", "javascript", "json", "lua", "objc", "perl", "php",
    "python", "r", "ruby", "scala", "sql", "swift", "visualbasic", "xml", "yaml",
}  # fmt: skip
_WIKI_LANG_ALIASES = {
    "js": "javascript", "py": "python", "python3": "python", "sh": "bash", "shell": "bash",
    "zsh": "bash", "console": "bash", "yml": "yaml", "golang": "go", "cs": "c#", "csharp": "c#",
    "cpp": "c++", "objective-c": "objc", "vb": "visualbasic", "htm": "html", "rb": "ruby",
}  # fmt: skip
_WIKI_DELIMS = {"strong": "*", "em": "_", "strike": "-"}


def markdown_to_wiki(text: str) -> str:
    """Jira wiki markup for the v2 API."""
    return "\n\n".join(c for c in (_wiki_block(b) for b in _parse(text)) if c)


def _wiki_block(b: _Block, list_marker: str = "") -> str:
    if b.kind == "paragraph":
        return _wiki_line_starts(_wiki_inline(b.spans, br="\n"))
    if b.kind == "heading":
        return f"h{b.level}. " + _wiki_inline(b.spans, br=" ")
    if b.kind in _LISTS:
        return _wiki_list(b, list_marker)
    if b.kind == "blockquote":
        return _wiki_quote(b)
    if b.kind == "codeBlock":
        return _wiki_code(b.text, b.lang)
    if b.kind == "rule":
        return "----"
    if b.kind == "table":
        return "\n".join(_wiki_row(row) for row in b.children)
    return ""


def _wiki_line_starts(text: str) -> str:
    """Neutralise user text that wiki markup reads as a block marker at the start of a line."""
    # "#" starts a numbered list; "h1." / "bq." a heading / quote (a letter cannot be
    # backslash-escaped, so its HTML entity stands in: Jira shows entities as characters).
    text = re.sub(r"(?m)^#", r"\\#", text)
    return re.sub(r"(?m)^(h)(?=[1-6]\.)|^(b)(?=q\.)", lambda m: "&#104;" if m.group(1) else "&#98;", text)


def _wiki_list(b: _Block, outer: str) -> str:
    marker = outer + ("#" if b.kind == "orderedList" else "*")
    return "\n".join(line for item in b.children for line in _wiki_list_item(item, marker))


def _wiki_list_item(item: _Block, marker: str) -> list[str]:
    """The item's line, then its sub-lists and blocks that cannot live on that line."""
    texts, after = [], []
    for child in _quote_parts(item):  # a quote inside an item: its text joins the item
        if child.kind in ("paragraph", "heading"):
            texts.append(_wiki_inline(child.spans, br=" \\\\ "))
        elif child.kind == "rule":
            texts.append(_escape_wiki("---"))
        elif child.kind in _LISTS:
            after.append(_wiki_list(child, marker))
        else:  # code, table: a block of its own right after the item
            after.append(_wiki_block(child))
    # A wiki list item is one line: its paragraphs are joined with forced line breaks.
    return [f"{marker} " + " \\\\ ".join(texts)] + [a for a in after if a]


def _wiki_quote(b: _Block) -> str:
    parts = _quote_parts(b)
    if len(parts) == 1 and parts[0].kind == "paragraph" and not any(s.kind == "br" for s in parts[0].spans):
        return "bq. " + _wiki_inline(parts[0].spans, br=" ")
    body = "\n\n".join(c for c in (_wiki_block(p) for p in parts) if c)
    return "{quote}\n" + body + "\n{quote}"


def _quote_parts(b: _Block) -> list[_Block]:
    """The blocks of a quote, nested quotes flattened ({quote} does not nest)."""
    parts: list[_Block] = []
    for child in b.children:
        parts.extend(_quote_parts(child) if child.kind == "blockquote" else [child])
    return parts


def _wiki_code(text: str, lang: str) -> str:
    body = text[:-1] if text.endswith("\n") else text
    lang = _WIKI_LANG_ALIASES.get(lang.lower(), lang.lower())
    # A body containing the closing tag would end the macro early: use the other macro,
    # or as a last resort break the tag with a zero-width space.
    if lang in _WIKI_LANGS and "{code" not in body.lower():
        return f"{{code:{lang}}}\n{body}\n{{code}}"
    if "{noformat" in body.lower():
        body = re.sub(r"(?i)\{noformat", "{\u200bnoformat", body)
    return f"{{noformat}}\n{body}\n{{noformat}}"


def _wiki_row(row: _Block) -> str:
    out = ""
    for cell in row.children:
        sep = "||" if cell.kind == "tableHeader" else "|"
        out += sep + (_wiki_inline(cell.spans, br=" \\\\ ") or " ")
    return out + ("||" if row.children and row.children[-1].kind == "tableHeader" else "|")


def _wiki_inline(spans: list[_Span], br: str) -> str:
    out: list[str] = []
    last = ""  # the last character written: markup next to a letter needs the {*} form
    for i, span in enumerate(spans):
        piece = _wiki_span(span, br, last, _first_char(spans, i + 1))
        if piece:
            out.append(piece)
            last = piece[-1]
    return "".join(out)


def _wiki_span(span: _Span, br: str, before: str, after: str) -> str:
    if span.kind == "text":
        return _escape_wiki(span.text)
    if span.kind == "br":
        return br
    if span.kind == "code":
        return "{{" + _escape_wiki(span.text) + "}}" if span.text.strip() else _escape_wiki(span.text)
    if span.kind == "link":
        return _wiki_link_span(span)
    inner = _wiki_inline(span.children, br)
    core = inner.strip()
    if not core or span.kind not in _WIKI_DELIMS:
        return inner
    lead, trail = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
    d = _WIKI_DELIMS[span.kind]
    # "*x*" only works at word boundaries; inside a word Jira needs "{*}x{*}".
    glued = (lead == "" and before.isalnum()) or (trail == "" and after.isalnum())
    d_open, d_close = ("{" + d + "}",) * 2 if glued else (d, d)
    return f"{lead}{d_open}{core}{d_close}{trail}"


def _wiki_link_span(span: _Span) -> str:
    label = _wiki_inline(span.children, br=" ").strip()
    url = _wiki_url(span.href)
    if not url:
        return label
    return f"[{label}|{url}]" if label and label != url else f"[{url}]"


def _first_char(spans: list[_Span], start: int = 0) -> str:
    """The first character spans[start:] will write (an index, not a slice: long paragraphs)."""
    for index in range(start, len(spans)):
        span = spans[index]
        if span.kind in ("text", "code") and span.text:
            return span.text[0]
        if span.kind == "br":
            return "\n"
        found = _first_char(span.children)
        if found:
            return found
    return ""


def _wiki_url(url: str) -> str:
    """The URL with characters that would end or split a [label|url] link percent-encoded."""
    safe = _safe_url(url)
    return re.sub(r"[\s|\[\]{}\"<>]", lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), safe)


# ---------------------------------------------------------------- escaping plain text
_ALWAYS_ESCAPE = set("{}[]|")  # macros, links, tables: special anywhere
_PHRASE_CHARS = set("*_+-^~!")  # bold, italic, underline, strike, sup, sub, image
_ICON_RE = re.compile(r"\((?:[ynix/?!+\-*]|on|off|flag|flagoff|\*[rgby])\)")
_SMILEY_RE = re.compile(r"[:;][()PDpd]")
_ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _escape_wiki(text: str) -> str:
    """Plain text as wiki markup that renders as typed. Bare URLs are left intact."""
    out, pos = [], 0
    for m in _URL_RE.finditer(text):
        out.append(_escape_plain(text[pos : m.start()]))
        out.append(m.group())  # Jira links bare URLs itself; escapes would corrupt them
        pos = m.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape_plain(s: str) -> str:
    out = []
    for i, c in enumerate(s):
        before = s[i - 1] if i else ""
        after = s[i + 1] if i + 1 < len(s) else ""
        out.append(_escape_char(s, i, c, before, after))
    return "".join(out)


def _escape_char(s: str, i: int, c: str, before: str, after: str) -> str:
    if c == "\\":
        return "&#92;"  # a backslash would escape the next character or, doubled, break the line
    if c in _ALWAYS_ESCAPE:
        return "\\" + c
    if c in _PHRASE_CHARS:
        # Phrase markers only act at word boundaries next to non-space text: inside a word
        # ("snake_case", "2024-01-01") or between spaces ("a - b") they are literal.
        literal = (before.isalnum() and after.isalnum()) or (before == " " and after == " ")
        return c if literal else "\\" + c
    if c == "?" and "?" in (before, after):
        return "\\?"  # ??citation??
    if c == "(" and _ICON_RE.match(s, i):
        return "\\("  # (y), (!), (on): icons
    if c in ":;" and _SMILEY_RE.match(s, i):
        return "&#58;" if c == ":" else "&#59;"  # :) ;) :D become emoticons
    if c == "&" and _ENTITY_RE.match(s, i):
        return "&amp;"  # "&lt;" typed by the user must not become "<"
    return c


# ---------------------------------------------------------------- wiki helpers for callers
def wiki_link(label: str, url: str) -> str:
    """`[label|url]`, the label escaped; just the escaped label when the URL cannot be linked."""
    target = _wiki_url(url)
    text = _escape_wiki(label) if label else ""
    if not target:
        return text
    return f"[{text}|{target}]" if text else f"[{target}]"


def append_link_wiki(text: str, label: str, url: str, prefix: str = "") -> str:
    """`text`, a blank line, then `prefix` (plain text) followed by the link."""
    line = _escape_wiki(prefix) + wiki_link(label, url)
    return f"{text.rstrip()}\n\n{line}" if text and text.strip() else line
