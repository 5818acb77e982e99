"""Phrase markup on Server/DC: what markdown_to_wiki writes must show as intended in Jira.

The oracle is the console's preview renderer (wiki_html.py), which follows Jira's own phrase
rules: "{{mono}}" and "*b*" glued to a letter, a phrase spanning a line, and a phrase that
contains its own delimiter all stay literal text in Jira.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jira_sync.jira.render import markdown_to_wiki
from jira_sync.jira.render.tree import Span, parse
from jira_sync.jira.render.wiki_html import wiki_to_html

from test_render_html import check


def preview(md: str) -> str:
    return wiki_to_html(markdown_to_wiki(md))


@pytest.mark.parametrize(
    "md, html",
    [
        # inline code glued to words (Chinese has no spaces around it)
        ("运行`kubectl get pods`查看状态", "<p>运行\u200b<code>kubectl get pods</code>\u200b查看状态</p>"),
        ("see `x`: done", "<p>see <code>x</code>: done</p>"),  # not glued: nothing added
        ("v`1`", "<p>v\u200b<code>1</code></p>"),
    ],
)
def test_inline_code_glued_to_a_word_is_code(md: str, html: str) -> None:
    assert preview(md) == html


@pytest.mark.parametrize(
    "md, html",
    [
        ("a *em\nphasis* b", "<p>a <em>em</em><br><em>phasis</em> b</p>"),
        ("**bold\ntext**", "<p><strong>bold</strong><br><strong>text</strong></p>"),
        ("~~one\ntwo\nthree~~", "<p><s>one</s><br><s>two</s><br><s>three</s></p>"),
        ("**x *a\nb* y**", "<p><strong>x <em>a</em></strong><br><strong><em>b</em> y</strong></p>"),
        ("中文**粗\n体**中文", "<p>中文<strong>粗</strong><br><strong>体</strong>中文</p>"),
    ],
)
def test_emphasis_across_a_soft_line_break(md: str, html: str) -> None:
    assert preview(md) == html


@pytest.mark.parametrize(
    "md, html",
    [
        ("see _snake_case_ here", "<p>see <em>snake_case</em> here</p>"),
        ("**a*b**", "<p><strong>a*b</strong></p>"),
        ("~~2024-01-01~~", "<p><s>2024-01-01</s></p>"),
        ("*_x_*", "<p><em>x</em></p>"),  # em in em: Jira cannot nest a phrase in itself
        ("_a `b_c` d_", "<p><em>a <code>b_c</code> d</em></p>"),
    ],
)
def test_emphasis_containing_its_own_delimiter(md: str, html: str) -> None:
    assert preview(md) == html


def test_the_three_cases_emit_what_jira_needs() -> None:
    assert markdown_to_wiki("运行`ls`查看") == "运行\u200b{{ls}}\u200b查看"
    assert markdown_to_wiki("*a\nb*") == "_a_\n_b_"
    assert markdown_to_wiki("_snake_case_") == "_snake&#95;case_"


# ---------------------------------------------------------------- property
WORDS = ["alpha", "beta", "中文", "告警", "snake_case", "2024-01-01", "a*b", "x~y", "C++", "🚨", "q?", "100%"]
OPEN_CLOSE = [("*", "*"), ("_", "_"), ("**", "**"), ("~~", "~~"), ("`", "`"), ("***", "***"), ("**_", "_**")]


@st.composite
def markdown(draw: st.DrawFn) -> str:
    paragraphs = []
    for _ in range(draw(st.integers(1, 3))):
        out = ""
        for _ in range(draw(st.integers(1, 8))):
            words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
            inner = draw(st.sampled_from([" ", "\n"])).join(words)
            open_, close = draw(st.sampled_from([("", ""), *OPEN_CLOSE]))
            if open_ == "`":
                inner = inner.replace("\n", " ")
            out += open_ + inner + close + draw(st.sampled_from([" ", "", "\n", ", "]))
        paragraphs.append(out.strip())
    return "\n\n".join(paragraphs)


def _text(spans: list[Span]) -> str:
    parts = []
    for s in spans:
        parts.append("\n" if s.kind == "br" else s.text if s.kind in ("text", "code") else _text(s.children))
    return "".join(parts)


def _kinds(spans: list[Span]) -> set[str]:
    found: set[str] = set()
    for s in spans:
        if s.kind in ("strong", "em", "strike", "code") and (_text(s.children) if s.kind != "code" else s.text).strip():
            found.add(s.kind)
        found |= _kinds(s.children)
    return found


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u200b", "")).strip()


@settings(max_examples=1000, deadline=None)
@given(markdown())
@example("**_alpha_****alpha** alpha **a*b**")  # strong glued to the text of an em inside an em
def test_wiki_preview_of_random_markdown_shows_every_word_without_stray_markup(md: str) -> None:
    blocks = parse(md)
    expected = _norm(" ".join(_text(b.spans) for b in blocks))
    html = preview(md)
    shown = _norm("".join(check(html.replace("<br>", "\n").replace("</p><p>", "</p> <p>")).text))
    assert shown == expected, (md, markdown_to_wiki(md), html)
    tags = {"strong": "<strong>", "em": "<em>", "strike": "<s>", "code": "<code>"}
    for kind in set().union(*(_kinds(b.spans) for b in blocks)):
        assert tags[kind] in html, (kind, md, markdown_to_wiki(md), html)
