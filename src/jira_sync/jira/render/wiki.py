"""Markdown -> Jira wiki markup (REST API v2: Server/Data Center, and Cloud v2).

Characters wiki markup would interpret in the user's plain text are escaped, so text
shows as typed.
"""
from __future__ import annotations

import re

from .tree import LISTS, URL_RE, Block, Span, parse, safe_url

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
ZWSP = "\u200b"  # zero width space: separates markup from a word without showing


def markdown_to_wiki(text: str) -> str:
    """Jira wiki markup for the v2 API."""
    return "\n\n".join(c for c in (_wiki_block(b) for b in parse(text)) if c)


def _wiki_block(b: Block, list_marker: str = "") -> str:
    if b.kind == "paragraph":
        return _wiki_line_starts(_wiki_inline(b.spans, br="\n"))
    if b.kind == "heading":
        return f"h{b.level}. " + _wiki_inline(b.spans, br=" ")
    if b.kind in LISTS:
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


def _wiki_list(b: Block, outer: str) -> str:
    marker = outer + ("#" if b.kind == "orderedList" else "*")
    return "\n".join(line for item in b.children for line in _wiki_list_item(item, marker))


def _wiki_list_item(item: Block, marker: str) -> list[str]:
    """The item's line, then its sub-lists and blocks that cannot live on that line."""
    texts, after = [], []
    for child in _quote_parts(item):  # a quote inside an item: its text joins the item
        if child.kind in ("paragraph", "heading"):
            texts.append(_wiki_inline(child.spans, br=" \\\\ "))
        elif child.kind == "rule":
            texts.append(_escape_wiki("---"))
        elif child.kind in LISTS:
            after.append(_wiki_list(child, marker))
        else:  # code, table: a block of its own right after the item
            after.append(_wiki_block(child))
    # A wiki list item is one line: its paragraphs are joined with forced line breaks.
    return [f"{marker} " + " \\\\ ".join(texts)] + [a for a in after if a]


def _wiki_quote(b: Block) -> str:
    parts = _quote_parts(b)
    if len(parts) == 1 and parts[0].kind == "paragraph" and not any(s.kind == "br" for s in parts[0].spans):
        return "bq. " + _wiki_inline(parts[0].spans, br=" ")
    body = "\n\n".join(c for c in (_wiki_block(p) for p in parts) if c)
    return "{quote}\n" + body + "\n{quote}"


def _quote_parts(b: Block) -> list[Block]:
    """The blocks of a quote, nested quotes flattened ({quote} does not nest)."""
    parts: list[Block] = []
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


def _wiki_row(row: Block) -> str:
    out = ""
    for cell in row.children:
        sep = "||" if cell.kind == "tableHeader" else "|"
        out += sep + (_wiki_inline(cell.spans, br=" \\\\ ") or " ")
    return out + ("||" if row.children and row.children[-1].kind == "tableHeader" else "|")


def _wiki_inline(spans: list[Span], br: str, inside: frozenset[str] = frozenset(), before: str = "",
                 after: str = "") -> str:
    """`inside`: the phrase delimiters open around these spans; their characters in the
    text are written as entities, since a Jira phrase cannot contain its own delimiter.
    `before`/`after`: the characters around these spans (for spans written without markup
    of their own, such as an em inside an em)."""
    out: list[str] = []
    last = before  # the last character written: markup next to a letter needs the {*} form
    for i, span in enumerate(spans):
        piece = _wiki_span(span, br, last, _first_char(spans, i + 1) or after, inside)
        if piece:
            out.append(piece)
            last = piece[-1]
    return "".join(out)


def _wiki_span(span: Span, br: str, before: str, after: str, inside: frozenset[str]) -> str:
    if span.kind == "text":
        return _escape_wiki(span.text, inside)
    if span.kind == "br":
        return br
    if span.kind == "code":
        return _wiki_code_span(span.text, before, after, inside)
    if span.kind == "link":
        return _wiki_link_span(span)
    d = _WIKI_DELIMS.get(span.kind)
    if d is None or d in inside:  # the same phrase inside itself: Jira has no nesting for it
        return _wiki_inline(span.children, br, inside, before, after)
    inner = _wiki_inline(span.children, br, inside | {d})
    # A phrase never spans a line in Jira: one phrase per line of a soft-broken paragraph.
    lines = inner.split("\n")
    return "\n".join(
        _wiki_phrase(line, d, before if k == 0 else "\n", after if k == len(lines) - 1 else "\n")
        for k, line in enumerate(lines)
    )


def _wiki_phrase(inner: str, d: str, before: str, after: str) -> str:
    core = inner.strip()
    if not core:
        return inner
    lead, trail = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
    # "*x*" only works at word boundaries; inside a word Jira needs "{*}x{*}".
    glued = (lead == "" and _is_word(before)) or (trail == "" and _is_word(after))
    d_open, d_close = ("{" + d + "}",) * 2 if glued else (d, d)
    return f"{lead}{d_open}{core}{d_close}{trail}"


def _wiki_code_span(text: str, before: str, after: str, inside: frozenset[str]) -> str:
    if not text.strip():
        return _escape_wiki(text, inside)
    # {{mono}} is markup only where no letter or digit touches it, and it has no {*}-like
    # form: a zero-width space keeps it apart from the word (Chinese text has no spaces).
    lead = ZWSP if _is_word(before) else ""
    trail = ZWSP if _is_word(after) else ""
    return lead + "{{" + _escape_wiki(text, inside) + "}}" + trail


def _is_word(char: str) -> bool:
    """A letter or digit (Jira's \\p{L}\\p{Nd}): phrase markup next to one stays literal."""
    return char.isalpha() or char.isdecimal()


def _wiki_link_span(span: Span) -> str:
    label = _wiki_inline(span.children, br=" ").strip()
    url = _wiki_url(span.href)
    if not url:
        return label
    return f"[{label}|{url}]" if label and label != url else f"[{url}]"


def _first_char(spans: list[Span], start: int = 0) -> str:
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
    safe = safe_url(url)
    return re.sub(r"[\s|\[\]{}\"<>]", lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), safe)


# ---------------------------------------------------------------- escaping plain text
_ALWAYS_ESCAPE = set("{}[]|")  # macros, links, tables: special anywhere
_PHRASE_CHARS = set("*_+-^~!")  # bold, italic, underline, strike, sup, sub, image
_ICON_RE = re.compile(r"\((?:[ynix/?!+\-*]|on|off|flag|flagoff|\*[rgby])\)")
_SMILEY_RE = re.compile(r"[:;][()PDpd]")
_ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _escape_wiki(text: str, inside: frozenset[str] = frozenset()) -> str:
    """Plain text as wiki markup that renders as typed. Bare URLs are left intact.
    Characters in `inside` (delimiters of phrases open around the text) become entities."""
    out, pos = [], 0
    for m in URL_RE.finditer(text):
        out.append(_escape_plain(text[pos : m.start()], inside))
        out.append(m.group())  # Jira links bare URLs itself; escapes would corrupt them
        pos = m.end()
    out.append(_escape_plain(text[pos:], inside))
    return "".join(out)


def _escape_plain(s: str, inside: frozenset[str] = frozenset()) -> str:
    out = []
    for i, c in enumerate(s):
        if c in inside:
            # an entity, not "\\_": Jira turns escapes into entities before it finds phrases,
            # and a phrase whose text ends with "\\*" would look like it ends with "*"
            out.append(f"&#{ord(c)};")
            continue
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
