"""Jira wiki markup -> HTML, for the web console's description preview (Server/DC).

On Server/DC the description is the wiki markup ``markdown_to_wiki`` produced; the preview
renders that: headings, paragraphs, phrase formatting, ``{{monospace}}``, links, nested and
mixed lists, ``{code}``/``{noformat}``, ``bq.`` and ``{quote}``, tables, ``----``, ``\\\\``
line breaks, backslash escapes and entities. Phrases (``*b*``, ``{{m}}``, ...) follow the
rules of Jira's own renderer, not the emitter's intent: glued to a word, spanning a line or
holding their own delimiter, they stay literal text, as Jira shows them. The preview is
meant to show such surprises.

``wiki_to_html(text) -> str`` returns a fragment for a ``<div class="jira-preview">``,
never raises and HTML-escapes all text (links: `html_common.py`).
"""
from __future__ import annotations

import re
from html import escape, unescape

from .html_common import code_block, link, safe_href

__all__ = ["wiki_to_html"]

_HEADING = re.compile(r"h([1-6])\.(?:\s+(.*))?")
_BQ = re.compile(r"bq\.(?:\s+(.*))?")
_LIST_LINE = re.compile(r"([*#]+|-)(?:\s+(.*))?")
_MACRO_OPEN = re.compile(r"\{(code|noformat)(?::([^}\n]*))?\}", re.IGNORECASE)
_MACRO_CLOSE = {
    "code": re.compile(r"\{code\}", re.IGNORECASE),
    "noformat": re.compile(r"\{noformat\}", re.IGNORECASE),
}
_QUOTE_TAG = re.compile(r"\{quote\}", re.IGNORECASE)
_QUOTE_END = re.compile(r"(.*)\{quote\}", re.IGNORECASE)

# Inline: the next construct that is not plain text. Checked in this order at each position.
# <url> is tree.URL_RE (bare URLs, which wiki.py leaves unescaped and Jira links itself)
# without the backslash, so a URL ends before an escaped character written right after it.
_INLINE = re.compile(
    r"(?P<br>\\\\)"  # forced line break
    r"|(?P<esc>\\[^A-Za-z0-9\s])"  # "\*": a literal "*"
    r"|(?P<entity>&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)"  # Jira shows the character
    r"|(?P<mono>\{\{)"
    r"|(?P<braced>\{[*_+\-^~]\})"  # "{*}": a phrase delimiter that works inside a word
    r"|(?P<link>\[)"
    r"|(?P<url>(?:https?://|ftp://|mailto:)[^\s<>\"|\[\]{}\\]*[^\s<>\"|\[\]{}\\.,;:!?)'*_~])"
    r"|(?P<delim>[*_+\-^~])"
    r"|(?P<nl>\n)"
)
_LINK_BODY = re.compile(r"((?:\\.|[^\]\\\n])*)\]")
_MONO_BODY = re.compile(r"((?:\\.|[^\\}\n]|\}(?!\}))+)\}\}")
_LINK_SPLIT = re.compile(r"((?:\\.|[^|\\])*)\|([^|]*)")
_PHRASE_TAGS = {"*": "strong", "_": "em", "-": "s", "+": "u", "^": "sup", "~": "sub"}
_MAX_INLINE_DEPTH = 8
_BREAK = "<br>"


def wiki_to_html(text: str) -> str:
    """HTML fragment for Jira wiki markup (the subset wiki.py emits). Never raises."""
    if not isinstance(text, str) or not text.strip():
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    html, _ = _WikiBlocks(lines).blocks(0, in_quote=False)
    return html


def _starts_block(stripped: str) -> bool:
    """Whether a (stripped, non-blank) line starts a block other than a paragraph."""
    return bool(
        stripped == "----"
        or stripped.startswith("|")
        or _HEADING.fullmatch(stripped)
        or _BQ.fullmatch(stripped)
        or _LIST_LINE.fullmatch(stripped)
        or _MACRO_OPEN.match(stripped)
        or _QUOTE_TAG.match(stripped)
    )


class _WikiBlocks:
    """Block structure, line by line. Macro tags may leave text on a line: `lines` is edited."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def blocks(self, i: int, in_quote: bool) -> tuple[str, int]:
        """Blocks from line i to the end, or (in a quote) to the closing {quote}."""
        out = []
        while i < len(self.lines):
            stripped = self.lines[i].strip()
            if not stripped:
                i += 1
                continue
            if in_quote and (m := _QUOTE_TAG.match(stripped)):
                return "".join(out), self._rest_of_line(i, stripped[m.end() :])
            html, i = self.block(i, in_quote)
            out.append(html)
        return "".join(out), i

    def block(self, i: int, in_quote: bool) -> tuple[str, int]:
        """One block starting at the non-blank line i: its HTML and the next line to read."""
        stripped = self.lines[i].strip()
        if m := _MACRO_OPEN.match(stripped):
            return self._macro(i, m.group(1).lower(), m.group(2) or "", stripped[m.end() :])
        if m := _QUOTE_TAG.match(stripped):  # opening {quote} ({quote} does not nest)
            inner, j = self.blocks(self._rest_of_line(i, stripped[m.end() :]), in_quote=True)
            return f"<blockquote>{inner}</blockquote>", j
        if m := _HEADING.fullmatch(stripped):
            level = m.group(1)
            return f"<h{level}>{_inline(m.group(2) or '')}</h{level}>", i + 1
        if m := _BQ.fullmatch(stripped):
            return f"<blockquote><p>{_inline(m.group(1) or '')}</p></blockquote>", i + 1
        if stripped == "----":
            return "<hr>", i + 1
        if stripped.startswith("|"):
            return self._table(i)
        if _LIST_LINE.fullmatch(stripped):
            return self._list(i, in_quote)
        return self._paragraph(i, in_quote)

    def _rest_of_line(self, i: int, rest: str) -> int:
        """The line to continue at after a tag on line i, leaving any text after the tag."""
        if rest.strip():
            self.lines[i] = rest
            return i
        return i + 1

    def _macro(self, i: int, name: str, params: str, after_tag: str) -> tuple[str, int]:
        """{code[:lang]} / {noformat}: everything up to the closing tag, literally."""
        close = _MACRO_CLOSE[name]
        parts, j, line = [], i, after_tag
        while True:
            m = close.search(line)
            if m:
                parts.append(line[: m.start()])
                next_i = self._rest_of_line(j, line[m.end() :])
                break
            parts.append(line)
            j += 1
            if j >= len(self.lines):  # never closed: the rest of the text is the body
                next_i = j
                break
            line = self.lines[j]
        # The tags usually sit on lines of their own: drop the empty lines they leave.
        if parts and not parts[0].strip():
            parts = parts[1:]
        if len(parts) > 1 and not parts[-1].strip():
            parts = parts[:-1]
        body = "\n".join(parts)
        if name == "noformat":
            return f"<pre>{escape(body)}</pre>", next_i
        lang = next((p.strip() for p in params.split("|") if p.strip() and "=" not in p), "")
        return code_block(body, lang), next_i

    def _table(self, i: int) -> tuple[str, int]:
        rows = []
        while i < len(self.lines) and self.lines[i].strip().startswith("|"):
            cells = "".join(
                f"<{tag}>{_inline(content.strip())}</{tag}>" for tag, content in _split_row(self.lines[i].strip())
            )
            rows.append(f"<tr>{cells}</tr>")
            i += 1
        return f"<table><tbody>{''.join(rows)}</tbody></table>", i

    def _list(self, i: int, in_quote: bool) -> tuple[str, int]:
        """Consecutive list lines; other lines right after an item (no blank line) belong to it."""
        items: list[tuple[str, str]] = []  # (markers, item HTML)
        while i < len(self.lines):
            stripped = self.lines[i].strip()
            m = _LIST_LINE.fullmatch(stripped)
            if not m:
                break
            body, i = [_inline(m.group(2) or "")], i + 1
            while i < len(self.lines):
                cont = self.lines[i].strip()
                if not cont or _LIST_LINE.fullmatch(cont) or (in_quote and _QUOTE_TAG.match(cont)):
                    break
                if _starts_block(cont):  # a code block or table under the item
                    html, i = self.block(i, in_quote)
                    body.append(html)
                else:  # a continuation line of the item's text
                    body.append(_BREAK + _inline(cont))
                    i += 1
            items.append((m.group(1), "".join(body)))
        return _nest_list(items), i

    def _paragraph(self, i: int, in_quote: bool) -> tuple[str, int]:
        lines = []
        while i < len(self.lines):
            stripped = self.lines[i].strip()
            if not stripped or (lines and _starts_block(stripped)):
                break
            if in_quote and (m := _QUOTE_END.fullmatch(stripped)):  # "text{quote}" ends the quote
                lines.append(m.group(1))
                self.lines[i] = "{quote}"
                break
            lines.append(stripped)
            i += 1
        text = "\n".join(lines)
        return f"<p>{_inline(text)}</p>", i


def _nest_list(items: list[tuple[str, str]]) -> str:
    """Items with their marker strings ("*", "#*", ...) as nested <ul>/<ol>."""
    out: list[str] = []
    open_lists: list[str] = []  # one marker character per open list, outermost first
    for markers, body in items:
        markers = markers.replace("-", "*")
        keep = 0
        while keep < min(len(open_lists), len(markers)) and open_lists[keep] == markers[keep]:
            keep += 1
        while len(open_lists) > keep:
            out.append("</li>" + _list_close(open_lists.pop()))
        if open_lists and len(open_lists) == len(markers):
            out.append("</li>")  # a sibling of the previous item
        while len(open_lists) < len(markers):
            marker = markers[len(open_lists)]
            out.append("<ol>" if marker == "#" else "<ul>")
            open_lists.append(marker)
            if len(open_lists) < len(markers):
                out.append("<li>")  # "**" right away: an item holding only the nested list
        out.append("<li>" + body)
    while open_lists:
        out.append("</li>" + _list_close(open_lists.pop()))
    return "".join(out)


def _list_close(marker: str) -> str:
    return "</ol>" if marker == "#" else "</ul>"


def _split_row(row: str) -> list[tuple[str, str]]:
    """A table row as (tag, raw cell text) pairs. "|" inside [links] and "\\|" do not split."""
    cells: list[tuple[str, str]] = []
    tag, buf, in_link, i = "", [], False, 0
    while i < len(row):
        c = row[i]
        if c == "\\" and i + 1 < len(row):
            buf.append(row[i : i + 2])
            i += 2
        elif c == "|" and not in_link:
            if tag:
                cells.append((tag, "".join(buf)))
            tag = "th" if row.startswith("||", i) else "td"
            i += 2 if tag == "th" else 1
            buf = []
        else:
            in_link = (in_link or c == "[") and c != "]"
            buf.append(c)
            i += 1
    if tag and "".join(buf).strip():  # text after the last "|"
        cells.append((tag, "".join(buf)))
    return cells


class _Delim:
    """A phrase delimiter ("*", "{_}", ...) until pairing decides if it is markup or text."""

    def __init__(self, char: str, raw: str, index: int, can_open: bool, can_close: bool) -> None:
        self.char, self.index, self.can_open, self.can_close = char, index, can_open, can_close
        self.html = escape(raw)


class _Newline:
    """A line end inside a paragraph: a <br>, and the end of any phrase (they are one-line)."""

    html = _BREAK


_NEWLINE = _Newline()


def _is_word(char: str) -> bool:
    """A letter or digit: Jira's \\p{L}\\p{Nd}, next to which "*" and "{{" are not markup."""
    return char.isalpha() or char.isdecimal()


def _inline(s: str, depth: int = 0, autolink: bool = True) -> str:
    """Inline wiki markup -> HTML: tokens first, then phrase delimiters are paired.

    Boundary rules follow Jira's renderer (atlassian-renderer's PhraseRendererComponent): a
    phrase opens after a non-letter/digit and before non-space, closes after non-space and
    before a non-letter/digit, stays on one line and does not contain its own delimiter.
    """
    if depth > _MAX_INLINE_DEPTH:
        return escape(s)
    tokens: list[str | _Delim | _Newline] = []  # HTML pieces and delimiters
    pos = 0
    no_link_before = no_mono_before = -1  # a closing "]" / "}}" is known missing up to here
    while pos < len(s):
        m = _INLINE.search(s, pos)
        if m is None:
            tokens.append(escape(s[pos:]))
            break
        if m.start() > pos:
            tokens.append(escape(s[pos : m.start()]))
        kind, token, pos = m.lastgroup, m.group(), m.end()
        before = s[m.start() - 1] if m.start() else ""
        after = s[pos] if pos < len(s) else ""
        if kind == "br":
            tokens.append(_BREAK)
        elif kind == "nl":
            tokens.append(_NEWLINE)
        elif kind == "esc":
            tokens.append(escape(token[1]))
        elif kind == "entity":
            tokens.append(escape(unescape(token)))
        elif kind == "mono":
            body = _MONO_BODY.match(s, pos) if pos > no_mono_before else None
            if body is None:
                no_mono_before = _line_end(s, pos)
            if body and _is_monospace(before, body.group(1), s[body.end() : body.end() + 1]):
                tokens.append(f"<code>{_inline(body.group(1), depth + 1, autolink)}</code>")
                pos = body.end()
            else:
                tokens.append("{")
                pos = m.start() + 1
        elif kind == "link":
            body = _LINK_BODY.match(s, pos) if pos > no_link_before else None
            if body:
                tokens.append(_wiki_link(body.group(1), depth))
                pos = body.end()
            else:
                no_link_before = _line_end(s, pos)
                tokens.append("[")
        elif kind == "url":
            href = safe_href(token) if autolink else ""
            tokens.append(link(href, escape(token)) if href else escape(token))
        else:  # a phrase delimiter: "*" needs a word boundary outside, "{*}" works anywhere
            char = token[1] if kind == "braced" else token
            outside_ok = kind == "braced"
            can_open = (outside_ok or not (_is_word(before) or before == "\\")) and _phrase_edge(after, char)
            can_close = (outside_ok or not _is_word(after)) and _phrase_edge(before, char)
            tokens.append(_Delim(char, token, len(tokens), can_open, can_close))
    _pair_delimiters(tokens)
    return "".join(t if isinstance(t, str) else t.html for t in tokens)


def _phrase_edge(char: str, delimiter: str) -> bool:
    """Whether a phrase's content may start (or end) with this character."""
    return char != "" and not char.isspace() and char != delimiter


def _is_monospace(before: str, body: str, after: str) -> bool:
    """Jira's rules for {{...}}: not glued to a word outside, no space (or brace) inside its edges."""
    starts_ok = not body[0].isspace() and body[0] != "{"
    ends_ok = not body[-1].isspace() and (body[-1] != "}" or body.endswith("\\}"))
    return starts_ok and ends_ok and not _is_word(before) and before != "\\" and not _is_word(after)


def _line_end(s: str, pos: int) -> int:
    end = s.find("\n", pos)
    return len(s) if end < 0 else end


def _pair_delimiters(tokens: list[str | _Delim | _Newline]) -> None:
    """Pair each closing delimiter with the pending opener of its kind, as Jira would.

    A phrase cannot contain its own delimiter, so each kind has at most one pending opener:
    any later delimiter of that kind replaces it (or cancels it when it cannot open).
    """
    pending: dict[str, _Delim | None] = dict.fromkeys(_PHRASE_TAGS)
    for token in tokens:
        if token is _NEWLINE:
            pending = dict.fromkeys(_PHRASE_TAGS)
            continue
        if not isinstance(token, _Delim):
            continue
        opener = pending[token.char]
        if token.can_close and opener is not None and opener.index < token.index - 1:
            tag = _PHRASE_TAGS[token.char]
            opener.html, token.html = f"<{tag}>", f"</{tag}>"
            for char, other in pending.items():  # a phrase opened inside this one cannot close
                if other is not None and other.index >= opener.index:
                    pending[char] = None
        else:
            pending[token.char] = token if token.can_open else None


def _wiki_link(body: str, depth: int) -> str:
    """[label|url] or [url]; an unlinkable target shows its label (or itself) as text."""
    m = _LINK_SPLIT.match(body)
    label, target = (m.group(1), m.group(2)) if m else ("", body)
    href = safe_href(target)
    label_html = _inline(label.strip(), depth + 1, autolink=False) if label.strip() else ""
    if href:
        return link(href, label_html or escape(target.strip()))
    return label_html or _inline(target, depth + 1, autolink=False)
