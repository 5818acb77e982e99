"""Markdown -> a small tree of blocks and spans that both emitters (ADF, wiki) walk.

markdown-it-py (CommonMark + tables + strikethrough, raw HTML *off*, so HTML stays literal
text) produces the token stream. Input nested deeper than markdown-it's limit would be
silently truncated by the parser, so such input is rendered as plain paragraphs instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MAX_NESTING = 40
_MD = MarkdownIt("commonmark", {"html": False, "maxNesting": _MAX_NESTING}).enable(
    ["table", "strikethrough"]
)

# Bare URLs in text. The last character may not be punctuation that usually ends a sentence.
URL_RE = re.compile(r"(?:https?://|ftp://|mailto:)[^\s<>\"|\[\]{}]*[^\s<>\"|\[\]{}.,;:!?)'*_~]")
_UNSAFE_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data|file):", re.IGNORECASE)


# ================================================================ intermediate tree
@dataclass
class Span:
    """Inline content. kind: text | code | br | strong | em | strike | link."""

    kind: str
    text: str = ""
    href: str = ""
    children: list[Span] = field(default_factory=list)


@dataclass
class Block:
    """Block content, named after the ADF node it becomes."""

    kind: str
    spans: list[Span] = field(default_factory=list)  # paragraph, heading, table cells
    children: list[Block] = field(default_factory=list)
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
LISTS = ("bulletList", "orderedList")


def parse(text: str) -> list[Block]:
    tokens = _MD.parse(text or "")
    # markdown-it stops parsing (dropping the rest of the text) at maxNesting: never lose text.
    if any(t.level >= _MAX_NESTING - 1 for t in tokens):
        return _plain_blocks(text)
    return _blocks_from_tokens(tokens)


def _plain_blocks(text: str) -> list[Block]:
    """Paragraphs split on blank lines, line breaks kept, no markup at all."""
    chunks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [
        Block("paragraph", spans=_plain_spans("\n".join(line.strip() for line in chunk.strip().split("\n"))))
        for chunk in chunks
        if chunk.strip()
    ]


def _blocks_from_tokens(tokens: list[Token]) -> list[Block]:
    root = Block("root")
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


def _open_block(tok: Token) -> Block | None:
    kind = _BLOCK_OPEN.get(tok.type)
    if kind is None:
        return None
    block = Block(kind)
    if kind == "heading":
        block.level = int(tok.tag[1:]) if tok.tag[1:].isdigit() else 1
    elif kind == "orderedList":
        start = tok.attrGet("start")
        block.order = int(start) if isinstance(start, (int, str)) and str(start).isdigit() else 1
    return block


def _attach_inline(parent: Block, spans: list[Span]) -> None:
    if parent.kind in ("paragraph", "heading", "tableHeader", "tableCell"):
        parent.spans = spans
    elif spans:  # inline content outside a paragraph (not produced by CommonMark): wrap it
        parent.children.append(Block("paragraph", spans=spans))


def _leaf_block(tok: Token) -> Block | None:
    if tok.type in ("fence", "code_block"):
        lang = tok.info.strip().split(maxsplit=1)[0] if tok.info.strip() else ""
        return Block("codeBlock", text=tok.content, lang=lang)
    if tok.type == "hr":
        return Block("rule")
    if tok.content.strip():  # html_block and anything unknown: its source as text
        return Block("paragraph", spans=_plain_spans(tok.content.strip("\n")))
    return None


def _plain_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            spans.append(Span("br"))
        spans.append(Span("text", line))
    return spans


def _spans(tokens: list[Token]) -> list[Span]:
    root = Span("root")
    stack = [root]
    for tok in tokens:
        if tok.type in _SPAN_OPEN:
            span = Span(_SPAN_OPEN[tok.type], href=str(tok.attrGet("href") or ""))
            stack[-1].children.append(span)
            stack.append(span)
        elif tok.nesting == 1:  # unknown inline container: transparent
            stack.append(stack[-1])
        elif tok.nesting == -1:
            if len(stack) > 1:
                _close_span(stack.pop())
        elif tok.type in ("softbreak", "hardbreak"):
            stack[-1].children.append(Span("br"))  # keep the author's line breaks
        elif tok.type == "code_inline":
            stack[-1].children.append(Span("code", tok.content))
        elif tok.type == "image":  # no media upload: a link to the image, labelled by its alt text
            src = str(tok.attrGet("src") or "")
            label = Span("text", tok.content or src)
            stack[-1].children.append(Span("link", href=src, children=[label]) if src else label)
        elif tok.content:
            stack[-1].children.append(Span("text", tok.content))
    return root.children


def _close_span(span: Span) -> None:
    if span.kind == "link" and not span.children and span.href:
        span.children.append(Span("text", span.href))  # "[](url)": show the URL, not nothing


def safe_url(url: str) -> str:
    """The URL if it may be linked, else "" (script and local-file schemes)."""
    url = (url or "").strip()
    return "" if _UNSAFE_SCHEME.match(url) else url
