"""ADF / Jira wiki markup -> HTML (the console's description preview).

Most tests go the way the console does: Markdown -> markdown_to_adf -> adf_to_html and
Markdown -> markdown_to_wiki -> wiki_to_html, so they check the renderers against what our
emitters really produce (escapes, {*} forms, demotions), not against hand-written markup.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from jira_sync.jira.render import markdown_to_adf, markdown_to_wiki
from jira_sync.jira.render.adf_html import adf_to_html
from jira_sync.jira.render.wiki_html import wiki_to_html

VOID = {"br", "hr"}
ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "u", "sub", "sup", "code",
    "pre", "a", "br", "hr", "ul", "ol", "li", "blockquote", "table", "tbody", "tr", "th", "td",
    "span", "div", "details", "summary",
}  # fmt: skip
SAFE_HREF = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)


class _Checker(HTMLParser):
    """Parses a fragment: tags balanced and properly nested, only known tags, safe links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        if tag == "a":
            a = dict(attrs)
            assert SAFE_HREF.match(a.get("href") or ""), a
            assert a.get("rel") == "noopener noreferrer" and a.get("target") == "_blank", a
            self.links.append(a)
        for name, _ in attrs:
            assert not name.startswith("on"), attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, tag
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(html: str) -> _Checker:
    """Assert `html` is a well-formed, safe fragment; return the parse (text, links)."""
    assert isinstance(html, str)
    assert "<script" not in html.lower()
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert not checker.stack, f"unclosed {checker.stack} in {html[:500]}"
    return checker


def text_of(html: str) -> str:
    return "".join(check(html).text)


def via_adf(md: str) -> str:
    return adf_to_html(markdown_to_adf(md))


def via_wiki(md: str) -> str:
    return wiki_to_html(markdown_to_wiki(md))


BOTH = pytest.mark.parametrize("render", [via_adf, via_wiki], ids=["adf", "wiki"])


def link(href: str, label: str) -> str:
    return f'<a href="{href}" rel="noopener noreferrer" target="_blank">{label}</a>'


# ================================================================ round trips: both formats
@BOTH
def test_headings(render: Callable[[str], str]) -> None:
    html = render("# Title\n\n### Sub *it*\n\n###### six")
    check(html)
    assert html == "<h1>Title</h1><h3>Sub <em>it</em></h3><h6>six</h6>"


@BOTH
def test_emphasis(render: Callable[[str], str]) -> None:
    html = render("a **bold** _it_ ~~gone~~ `x*y` and **_both_**")
    check(html)
    assert html == (
        "<p>a <strong>bold</strong> <em>it</em> <s>gone</s> <code>x*y</code> and "
        + ("<em><strong>both</strong></em>" if render is via_adf else "<strong><em>both</em></strong>")
        + "</p>"
    )


@BOTH
def test_emphasis_inside_a_word(render: Callable[[str], str]) -> None:
    # wiki.py writes foo{*}bar{*}baz here: "*" inside a word is not markup in Jira.
    assert render("foo**bar**baz") == "<p>foo<strong>bar</strong>baz</p>"


@BOTH
def test_nested_and_mixed_lists(render: Callable[[str], str]) -> None:
    html = render("- a\n  - b\n    - c\n- d\n\n1. one\n   - x\n2. two")
    check(html)
    flat = re.sub(r"</?p>", "", html)  # ADF list items hold paragraphs, wiki items do not
    assert flat == (
        "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li><li>d</li></ul>"
        "<ol><li>one<ul><li>x</li></ul></li><li>two</li></ol>"
    )


def test_ordered_list_start_number() -> None:
    md = "3. three\n4. four"
    assert via_adf(md) == '<ol start="3"><li><p>three</p></li><li><p>four</p></li></ol>'
    # Jira wiki markup has no start number: "#" lists always count from 1, as Jira shows them.
    assert markdown_to_wiki(md) == "# three\n# four"
    assert via_wiki(md) == "<ol><li>three</li><li>four</li></ol>"


@BOTH
def test_code_block_content_is_literal_and_escaped(render: Callable[[str], str]) -> None:
    body = '**not bold** <script>alert("x")</script> & _x_ [a|b] \\\\ h1. x'
    html = render(f"```python\n{body}\nline 2\n```")
    check(html)
    escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert html == f'<pre><code class="language-python">{escaped}\nline 2</code></pre>'


def test_code_block_containing_the_closing_tag() -> None:
    md = "```\n{code}\n<b>x</b>\n```"
    assert "{noformat}" in markdown_to_wiki(md)  # the emitter switches macro
    assert via_wiki(md) == "<pre>{code}\n&lt;b&gt;x&lt;/b&gt;</pre>"
    assert via_adf(md) == "<pre><code>{code}\n&lt;b&gt;x&lt;/b&gt;</code></pre>"


@BOTH
def test_code_block_inside_a_list_item(render: Callable[[str], str]) -> None:
    html = render("1. a\n   ```\n   {code} *x*\n   ```\n2. b")
    check(html)
    assert re.sub(r"</?p>", "", html).replace("<pre><code>", "<pre>").replace("</code></pre>", "</pre>") == (
        "<ol><li>a<pre>{code} *x*</pre></li><li>b</li></ol>"
    )


@BOTH
def test_table(render: Callable[[str], str]) -> None:
    html = render("| Name | Value |\n|---|---|\n| *a* | [docs](https://e.com/x) |\n| p\\|q | |")
    check(html)
    assert re.sub(r"</?p>", "", html) == (
        "<table><tbody><tr><th>Name</th><th>Value</th></tr>"
        f"<tr><td><em>a</em></td><td>{link('https://e.com/x', 'docs')}</td></tr>"
        "<tr><td>p|q</td><td></td></tr></tbody></table>"
    )


@BOTH
def test_links(render: Callable[[str], str]) -> None:
    html = render("see [the *docs*](https://e.com/a?b=1&c=2) or https://x.org/p_q_ or <mailto:a@b.co>")
    checker = check(html)
    hrefs = list(dict.fromkeys(a["href"] for a in checker.links))  # ADF: one <a> per text node
    assert hrefs == ["https://e.com/a?b=1&c=2", "https://x.org/p_q", "mailto:a@b.co"]
    href = "https://e.com/a?b=1&amp;c=2"
    docs = link(href, "the <em>docs</em>") if render is via_wiki else link(href, "the ") + link(href, "<em>docs</em>")
    assert docs in html
    assert text_of(html) == "see the docs or https://x.org/p_q_ or mailto:a@b.co"


@BOTH
def test_unsafe_link_schemes_are_never_linked(render: Callable[[str], str]) -> None:
    # The emitters already drop these; the renderers' own checks are tested further down.
    html = render("[click](javascript:alert(1)) and [x](JaVaScRiPt:alert(1))")
    checker = check(html)
    assert checker.links == [] and "<a" not in html
    assert "click" in text_of(html)


@BOTH
def test_special_characters_show_literally(render: Callable[[str], str]) -> None:
    text = (
        "5 * 3 = 15, snake_case, {x}, {{y}}, [y], a|b, C:\\dir, 50% & <script>alert(1)</script>, "
        "~tilde~ ^caret^ +plus+ -minus- ?? :) (y) &amp;lt;"
    )
    html = render(text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp;" in html
    # "&amp;lt;" in Markdown is the text "&lt;", which must not turn into "<".
    assert text_of(html) == text.replace("&amp;lt;", "&lt;")


def test_wiki_escapes_are_undone() -> None:
    md = r"\*not bold\* \_no\_ {x} [y] |z| C:\dir -a- +b+ ^c^ ~d~ {*}"
    wiki = markdown_to_wiki(md)
    for escaped in ("\\*", "\\_", "\\{", "\\[", "\\|", "\\-", "\\+", "\\^", "\\~", "&#92;"):
        assert escaped in wiki, escaped
    assert text_of(wiki_to_html(wiki)) == "*not bold* _no_ {x} [y] |z| C:\\dir -a- +b+ ^c^ ~d~ {*}"


@BOTH
def test_line_start_markers_stay_text(render: Callable[[str], str]) -> None:
    # wiki.py writes "\#", "&#104;1." and "&#98;q." so Jira does not read a list, heading or quote.
    html = render("#1 is first\nh1. not a heading\nbq. not a quote")
    assert html.replace("<br>", "\n") == "<p>#1 is first\nh1. not a heading\nbq. not a quote</p>"


@BOTH
def test_quotes(render: Callable[[str], str]) -> None:
    assert render("> short *one*") == "<blockquote><p>short <em>one</em></p></blockquote>"
    html = render("> first\n>\n> - item\n\nafter")
    check(html)
    assert re.sub(r"</?p>", "", html.split("<ul>")[1]).startswith("<li>item</li></ul></blockquote>")
    assert html.endswith("<p>after</p>")


@BOTH
def test_quote_holding_a_code_block_with_the_quote_tag(render: Callable[[str], str]) -> None:
    html = render("> a\n>\n> ```\n> {quote}\n> ```\n\nafter")
    assert html.replace("<pre><code>", "<pre>").replace("</code></pre>", "</pre>") == (
        "<blockquote><p>a</p><pre>{quote}</pre></blockquote><p>after</p>"
    )


@BOTH
def test_rule_and_breaks(render: Callable[[str], str]) -> None:
    assert render("a  \nb\n\n---\n\nc") == "<p>a<br>b</p><hr><p>c</p>"


def test_list_item_paragraphs_are_joined_with_forced_breaks() -> None:
    md = "- first\n\n  second"
    assert " \\\\ " in markdown_to_wiki(md)
    assert via_wiki(md) == "<ul><li>first <br> second</li></ul>"


@BOTH
def test_empty(render: Callable[[str], str]) -> None:
    assert render("") == "" and render("  \n\n ") == ""


# ================================================================ ADF specifics
def test_adf_nodes_jira_documents() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "1", "text": "@Ann <b>"}},
                    {"type": "mention", "attrs": {"id": "42"}},
                    {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "\U0001f604"}},
                    {"type": "emoji", "attrs": {"shortName": ":x:"}},
                    {"type": "inlineCard", "attrs": {"url": "https://e.com/c"}},
                    {"type": "inlineCard", "attrs": {"url": "javascript:alert(1)"}},
                    {"type": "date", "attrs": {"timestamp": "1700000000000"}},
                    {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
                    {"type": "text", "text": "u", "marks": [{"type": "underline"}]},
                    {"type": "text", "text": "2", "marks": [{"type": "subsup", "attrs": {"type": "sup"}}]},
                    {"type": "text", "text": "c", "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}]},
                    {"type": "text", "text": "bad", "marks": [{"type": "textColor", "attrs": {"color": "red;x:y"}}]},
                ],
            },
            {"type": "panel", "attrs": {"panelType": "warning"}, "content": [{"type": "paragraph"}]},
            {"type": "blockCard", "attrs": {"url": "https://e.com/b"}},
            {"type": "expand", "attrs": {"title": "More"}, "content": [{"type": "rule"}]},
        ],
    }
    html = adf_to_html(doc)
    check(html)
    assert html == (
        '<p><span class="mention">@Ann &lt;b&gt;</span><span class="mention">@42</span>'
        '<span class="emoji">\U0001f604</span><span class="emoji">:x:</span>'
        f"{link('https://e.com/c', 'https://e.com/c')}javascript:alert(1)"
        '<span class="date">2023-11-14</span><span class="status status-blue">IN PROGRESS</span>'
        '<u>u</u><sup>2</sup><span style="color: #ff0000">c</span>bad</p>'
        '<div class="panel panel-warning"><p></p></div>'
        f'<div class="card">{link("https://e.com/b", "https://e.com/b")}</div>'
        "<details open><summary>More</summary><hr></details>"
    )


def test_adf_marks_and_unsafe_link_mark() -> None:
    doc = {
        "type": "paragraph",
        "content": [
            {
                "type": "text",
                "text": "x<y",
                "marks": [{"type": "link", "attrs": {"href": "https://e.com/?a=\"b\""}}, {"type": "strong"}],
            },
            {"type": "text", "text": "js", "marks": [{"type": "link", "attrs": {"href": " javascript:x"}}]},
            {"type": "text", "text": "d", "marks": [{"type": "link", "attrs": {"href": "data:text/html,x"}}]},
        ],
    }
    assert adf_to_html(doc) == "<p>" + link("https://e.com/?a=&quot;b&quot;", "<strong>x&lt;y</strong>") + "jsd</p>"


def test_adf_table_spans_and_code_language_are_sanitised() -> None:
    doc = {
        "type": "doc",
        "content": [
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableHeader", "attrs": {"colspan": 2}, "content": [{"type": "paragraph"}]},
                            {"type": "tableCell", "attrs": {"rowspan": "3"}, "content": []},
                        ],
                    }
                ],
            },
            {
                "type": "codeBlock",
                "attrs": {"language": 'x"><script>'},
                "content": [{"type": "text", "text": "<i>"}],
            },
        ],
    }
    html = adf_to_html(doc)
    check(html)
    assert html == (
        '<table><tbody><tr><th colspan="2"><p></p></th><td></td></tr></tbody></table>'
        '<pre><code class="language-xscript">&lt;i&gt;</code></pre>'
    )


def test_adf_unknown_nodes_show_their_content() -> None:
    inside = {"type": "paragraph", "content": [{"type": "text", "text": "inside"}]}
    doc = {
        "type": "doc",
        "content": [
            {"type": "layoutSection", "content": [{"type": "layoutColumn", "content": [inside]}]},
            {"type": "someFutureNode", "text": "<future>"},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x"}}]},
        ],
    }
    assert adf_to_html(doc) == "<p>inside</p>&lt;future&gt;"


@pytest.mark.parametrize(
    "doc",
    [
        None, "", 0, 1.5, True, [], {}, object(), b"x",
        {"type": "doc", "content": None},
        {"type": "doc", "content": "just <b>text</b>"},
        {"type": "doc", "content": [None, 1, "s", [], {"type": None}, {"type": 7}]},
        {"type": "text", "text": 5, "marks": "strong"},
        {"type": "text", "text": "t", "marks": [None, "em", {"type": "link"}, {"type": "link", "attrs": []}]},
        {"type": "heading", "attrs": {"level": "9"}, "content": [{"type": "text", "text": "h"}]},
        {"type": "heading", "attrs": {"level": 99}},
        {"type": "orderedList", "attrs": {"order": True}, "content": [{"type": "listItem"}]},
        {"type": "orderedList", "attrs": {"order": 10**5000}},
        {"type": "date", "attrs": {"timestamp": "9" * 5000}},
        {"type": "date", "attrs": {"timestamp": 10**5000}},
        {"type": "date", "attrs": {"timestamp": float("nan")}},
        {"type": "codeBlock", "attrs": {"language": None}, "content": {"type": "text", "text": "c"}},
        {"type": "panel", "attrs": {"panelType": "a b\"<"}},
        {"type": "status", "attrs": "x"},
    ],
)  # fmt: skip
def test_adf_malformed_input_never_raises(doc: Any) -> None:
    check(adf_to_html(doc))


def test_adf_malformed_details() -> None:
    assert adf_to_html("a <b>") == "a &lt;b&gt;"
    assert adf_to_html({"type": "heading", "attrs": {"level": 99}, "content": "x"}) == "<h6>x</h6>"
    assert adf_to_html({"type": "orderedList", "attrs": {"order": True}}) == "<ol></ol>"
    assert adf_to_html({"type": "date", "attrs": {"timestamp": "soon"}}) == '<span class="date">soon</span>'


def test_adf_deep_and_cyclic_structures() -> None:
    deep: dict[str, Any] = {"type": "text", "text": "bottom"}
    for _ in range(5000):
        deep = {"type": "blockquote", "content": [deep]}
    html = adf_to_html({"type": "doc", "content": [deep]})
    assert text_of(html) == "bottom"

    cyclic: dict[str, Any] = {"type": "paragraph", "content": []}
    cyclic["content"].extend([cyclic, {"type": "text", "text": "t"}] * 50)
    check(adf_to_html({"type": "doc", "content": [cyclic]}))  # terminates, balanced

    nested: list[Any] = []
    for _ in range(5000):
        nested = [nested, "x"]
    assert "x" in adf_to_html(nested)


# ================================================================ wiki specifics
def test_wiki_handwritten_markup() -> None:
    wiki = (
        "h2. Hello {{mono *b*}}\n"
        "para line one\nline two \\\\ forced\n\n"
        "* a\n*# one\n*# two\n** b\n# top\n\n"
        "||h1||h2||\n|[l|https://e.com/?q=a|b]|{*}x{*}y|\n\n"
        "{code:title=T|java}\nint a = b < c;\n{code}\n"
        "{noformat}*raw* {quote}{noformat}\n"
        "{quote}\nq1\n\n* qi\n{quote}\n"
        "----\n"
        "[plain label] [mailto:a@b.co] [x|ftp://files] [~user] \\[not a link\\]"
    )
    html = wiki_to_html(wiki)
    check(html)
    assert html == (
        "<h2>Hello <code>mono <strong>b</strong></code></h2>"
        "<p>para line one<br>line two <br> forced</p>"
        "<ul><li>a<ol><li>one</li><li>two</li></ol><ul><li>b</li></ul></li></ul><ol><li>top</li></ol>"
        "<table><tbody><tr><th>h1</th><th>h2</th></tr>"
        f"<tr><td>{link('https://e.com/?q=a', 'l')}</td><td><strong>x</strong>y</td></tr></tbody></table>"
        '<pre><code class="language-java">int a = b &lt; c;</code></pre>'
        "<pre>*raw* {quote}</pre>"
        "<blockquote><p>q1</p><ul><li>qi</li></ul></blockquote>"
        "<hr>"
        f"<p>plain label {link('mailto:a@b.co', 'mailto:a@b.co')} x ~user [not a link]</p>"
    )


@pytest.mark.parametrize(
    ("wiki", "html"),
    [
        ("a *b* c", "a <strong>b</strong> c"),
        ("a*b*c", "a*b*c"),  # inside a word: only the {*} form works
        ("a{*}b{*}c", "a<strong>b</strong>c"),
        ("* b*", None),  # a list item, not bold
        ("x * b*", "x * b*"),  # space after the opener
        ("*b *", "*b *"),  # space before the closer
        ("*a\nb*", "*a<br>b*"),  # phrases stay on one line
        ("*a \\\\ b*", "<strong>a <br> b</strong>"),  # a forced break is not a line end
        ("_snake_case_", "_snake_case_"),  # a phrase cannot hold its own delimiter
        ("-e-mail-", "-e-mail-"),
        ("*a _b_ c*", "<strong>a <em>b</em> c</strong>"),
        ("*a _b* c_", "<strong>a _b</strong> c_"),  # crossing phrases: the first one wins
        ("{{x}}", "<code>x</code>"),
        ("a{{x}}", "a{{x}}"),  # monospace glued to a word is literal in Jira too
        ("{{x}}s", "{{x}}s"),
        ("{{ x}}", "{{ x}}"),
        ("(\\{{x\\}}) {{y\\}}}", "({{x}}) <code>y}</code>"),
        ("H~2~O a ^2^ ~x~ +ins+", "H~2~O a <sup>2</sup> <sub>x</sub> <u>ins</u>"),
    ],
)
def test_wiki_phrase_rules_follow_jira(wiki: str, html: str | None) -> None:
    out = wiki_to_html(wiki)
    check(out)
    if html is None:
        assert out.startswith("<ul><li>")
    else:
        assert out == f"<p>{html}</p>"


def test_wiki_unsafe_links() -> None:
    for target in ("javascript:alert(1)", " JavaScript:alert(1)", "vbscript:x", "data:text/html,x", "/relative"):
        assert wiki_to_html(f"[click|{target}]") == "<p>click</p>"
    assert wiki_to_html("[javascript:alert(1)]") == "<p>javascript:alert(1)</p>"
    assert wiki_to_html('[x|https://e.com/"onmouseover="y]') == (
        f"<p>{link('https://e.com/&quot;onmouseover=&quot;y', 'x')}</p>"
    )


def test_wiki_unclosed_constructs() -> None:
    assert wiki_to_html("{code}\nx < y") == "<pre><code>x &lt; y</code></pre>"
    assert wiki_to_html("{quote}\nq") == "<blockquote><p>q</p></blockquote>"
    assert wiki_to_html("*open [link {{mono") == "<p>*open [link {{mono</p>"
    assert wiki_to_html("a {code}b{code}") == "<p>a {code}b{code}</p>"  # not at a line start
    assert wiki_to_html("{code}a{code} after") == "<pre><code>a</code></pre><p>after</p>"


@pytest.mark.parametrize("text", [None, 5, b"h1. x", "", "\n\n", "\\", "{", "[", "|", "||", "*", "#", "-", "h1."])
def test_wiki_odd_input_never_raises(text: Any) -> None:
    check(wiki_to_html(text))


def test_wiki_long_pathological_input_is_fast() -> None:
    for text in ("[" * 20000, "{{" * 20000, "*a " * 20000 + "b* " * 20000, "_*" * 20000, "#*" * 5000 + " x"):
        check(wiki_to_html(text))  # linear-ish: pytest-timeout would catch quadratic blow-ups


# ================================================================ fuzz
_NODE_TYPES = [
    "doc", "paragraph", "text", "hardBreak", "heading", "bulletList", "orderedList", "listItem",
    "codeBlock", "blockquote", "table", "tableRow", "tableHeader", "tableCell", "rule", "mention",
    "emoji", "inlineCard", "blockCard", "panel", "date", "status", "expand", "taskList", "taskItem",
    "mystery", None, 3,
]  # fmt: skip
_MARK_TYPES = ["strong", "em", "strike", "code", "link", "underline", "subsup", "textColor", "x", None]
_NASTY = [
    "<script>alert(1)</script>", "javascript:alert(1)", "\" onclick=\"x", "'><script>", "&amp;", "&#60;script&#62;",
    "https://e.com/<script>", "#fff", "red;}", "\x00", "\U0001f600", "", " ", "9" * 30,
]  # fmt: skip


def _junk(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_NASTY)
    if roll < 0.45:
        return rng.choice([None, True, 0, -1, 1.5, 10**30, [], {}])
    if roll < 0.55 and depth < 3:
        return [_junk(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 3:
        return {rng.choice(["type", "text", "attrs", "x"]): _junk(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice(_NASTY)


def _random_adf(rng: random.Random, depth: int = 0) -> Any:
    if depth > 6 or rng.random() < 0.08:
        return _junk(rng)
    node: dict[str, Any] = {"type": rng.choice(_NODE_TYPES)}
    if rng.random() < 0.7:
        node["content"] = [_random_adf(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if rng.random() < 0.5:
        node["text"] = rng.choice(_NASTY + ["plain", "a*b_c"])
    if rng.random() < 0.5:
        keys = ["level", "order", "language", "url", "text", "shortName", "color", "panelType", "timestamp",
                "href", "colspan", "title", "state", "type"]  # fmt: skip
        node["attrs"] = {rng.choice(keys): rng.choice([*_NASTY, 2, 0, -5, True, None, 7]) for _ in range(3)}
    if rng.random() < 0.4:
        node["marks"] = [_random_mark(rng) if rng.random() < 0.8 else _junk(rng) for _ in range(rng.randint(0, 3))]
    return node


def _random_mark(rng: random.Random) -> dict[str, Any]:
    attrs = {"href": rng.choice(_NASTY), "color": rng.choice(_NASTY), "type": rng.choice(["sub", "sup", "x"])}
    return {"type": rng.choice(_MARK_TYPES), "attrs": attrs}


_WIKI_PIECES = [
    "*", "_", "-", "+", "^", "~", "{*}", "{_}", "{{", "}}", "{", "}", "[", "]", "|", "||", "\\", "\\\\",
    "\n", "\n\n", "\r\n", " ", "#", "##", "* ", "# ", "#* ", "h1. ", "h7. ", "bq. ", "----", "{code}",
    "{code:java}", "{noformat}", "{quote}", "&#104;", "&amp;", "&#999999999;", "&bogus;", "&", "<script>",
    "</p>", "\"", "'", "javascript:alert(1)", "https://e.com/a_b", "mailto:x@y.z", "ftp://f", "word",
    "snake_case", "x", "1", ":)", "(y)", "\t", "\u200b", "é",
]  # fmt: skip


def _random_wiki(rng: random.Random) -> str:
    return "".join(rng.choice(_WIKI_PIECES) for _ in range(rng.randint(0, 60)))


@pytest.mark.parametrize("seed", range(8))
def test_fuzz_adf_never_raises_and_stays_safe(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(250):
        check(adf_to_html(_random_adf(rng)))
        check(adf_to_html(_junk(rng)))


@pytest.mark.parametrize("seed", range(8))
def test_fuzz_wiki_never_raises_and_stays_safe(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        check(wiki_to_html(_random_wiki(rng)))
        check(wiki_to_html("".join(chr(rng.randint(0, 0x2FF)) for _ in range(rng.randint(0, 80)))))


_MD_PIECES = [
    "# ", "## ", "- ", "1. ", "7. ", "  ", "    ", "> ", "**", "_", "~~", "`", "```", "```py\n", "\n", "\n\n",
    "---", "| a | b |\n|---|---|\n| c | d |", "[l](https://e.com)", "[j](javascript:alert(1))", "<script>",
    "&amp;", "&lt;", "{", "}", "[", "]", "|", "\\", "*", "#", "h1. ", "bq. ", "word", "x_y", ":)", "(y)",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(8))
def test_fuzz_markdown_round_trips(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        md = "".join(rng.choice(_MD_PIECES) for _ in range(rng.randint(0, 40)))
        check(via_adf(md))
        check(via_wiki(md))
