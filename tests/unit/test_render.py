"""Markdown -> ADF (validated against the official schema) and -> Jira wiki markup; ADF -> text."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jira_sync.jira.render import (
    adf_to_text,
    append_link_adf,
    append_link_wiki,
    link_paragraph,
    markdown_to_adf,
    markdown_to_wiki,
    wiki_link,
)

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "adf-schema-v1-full.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)  # root is {"$ref": "#/definitions/doc_node"}


def assert_valid(doc: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, f"{errors[0].message} at {list(errors[0].absolute_path)}\n{json.dumps(doc)[:2000]}"
    _assert_jira_rules(doc)


def _assert_jira_rules(node: dict[str, Any]) -> None:
    """Rules of Jira's editor schema the JSON schema does not express."""
    if node.get("type") == "text":
        assert node["text"], "empty text node"
        marks = [m["type"] for m in node.get("marks", [])]
        assert len(marks) == len(set(marks)), f"duplicate marks {marks}"
        if "code" in marks:
            assert set(marks) <= {"code", "link"}, marks
    if node.get("type") == "listItem":
        assert node["content"][0]["type"] in ("paragraph", "codeBlock"), node
    for child in node.get("content", []):
        _assert_jira_rules(child)


def adf(text: str) -> dict[str, Any]:
    doc = markdown_to_adf(text)
    assert_valid(doc)
    return doc


def para(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def t(text: str, *marks: str, href: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    mark_list = ([{"type": "link", "attrs": {"href": href}}] if href else []) + [{"type": m} for m in marks]
    if mark_list:
        node["marks"] = mark_list
    return node


BR = {"type": "hardBreak"}


# ================================================================ the validator itself
def test_validator_rejects_what_jira_rejects() -> None:
    ok = {"type": "doc", "version": 1, "content": [para(t("x"))]}
    assert VALIDATOR.is_valid(ok)
    assert not VALIDATOR.is_valid({"type": "doc", "version": 1, "content": [para(t(""))]})
    assert not VALIDATOR.is_valid({"type": "doc", "version": 1, "content": [t("bare")]})
    assert not VALIDATOR.is_valid({"type": "doc", "version": 1, "content": [{"type": "heading", "content": []}]})
    assert not VALIDATOR.is_valid(
        {"type": "doc", "version": 1, "content": [{"type": "blockquote", "content": [{"type": "rule"}]}]}
    )


# ================================================================ ADF: each construct
def test_empty_input_is_an_empty_valid_doc() -> None:
    # doc_node's content has no minItems: an empty doc is valid.
    assert adf("") == {"type": "doc", "version": 1, "content": []}
    assert adf("  \n\t\n ") == {"type": "doc", "version": 1, "content": []}


def test_paragraphs_and_line_breaks() -> None:
    doc = adf("one\ntwo  \nthree\\\nfour\n\nnext")
    assert doc["content"] == [
        para(t("one"), BR, t("two"), BR, t("three"), BR, t("four")),
        para(t("next")),
    ]


@pytest.mark.parametrize("level", range(1, 7))
def test_headings(level: int) -> None:
    doc = adf("#" * level + " Title **bold**")
    assert doc["content"] == [
        {"type": "heading", "attrs": {"level": level}, "content": [t("Title "), t("bold", "strong")]}
    ]


def test_inline_marks() -> None:
    doc = adf("**b** *i* ~~s~~ `c` ***bi*** **`cb`** [l](https://x.test/a) [**bl**](https://x.test/b)")
    assert doc["content"][0]["content"] == [
        t("b", "strong"), t(" "),
        t("i", "em"), t(" "),
        t("s", "strike"), t(" "),
        t("c", "code"), t(" "),
        t("bi", "em", "strong"), t(" "),
        t("cb", "code"), t(" "),  # only link may accompany code: strong is dropped
        t("l", href="https://x.test/a"), t(" "),
        t("bl", "strong", href="https://x.test/b"),
    ]  # fmt: skip


def test_nested_same_mark_is_not_duplicated() -> None:
    doc = adf("**a **b** c**")
    assert all(len(n.get("marks", [])) <= 1 for n in doc["content"][0]["content"])


def test_code_inside_link_keeps_link() -> None:
    doc = adf("[`x`](https://x.test)")
    assert doc["content"][0]["content"] == [t("x", "code", href="https://x.test")]


def test_bare_urls_become_links() -> None:
    doc = adf("see https://grafana.test/d/abc?x=1. and <https://auto.test>")
    assert doc["content"][0]["content"] == [
        t("see "),
        t("https://grafana.test/d/abc?x=1", href="https://grafana.test/d/abc?x=1"),
        t(". and "),
        t("https://auto.test", href="https://auto.test"),
    ]


def test_unsafe_link_schemes_stay_text() -> None:
    doc = adf("[x](javascript:alert(1)) ![i](data:image/png;base64,AAA)")
    assert "javascript:" not in json.dumps([n.get("marks") for n in doc["content"][0]["content"]])
    assert "javascript:alert(1)" in adf_to_text(doc)


def test_link_without_label_shows_url() -> None:
    assert adf("[](https://x.test)")["content"] == [para(t("https://x.test", href="https://x.test"))]
    assert markdown_to_wiki("[](https://x.test)") == "[https://x.test]"


def test_image_becomes_link_to_it() -> None:
    doc = adf("![graph](https://img.test/g.png)")
    assert doc["content"][0]["content"] == [t("graph", href="https://img.test/g.png")]


def test_lists_nested_and_ordered() -> None:
    doc = adf("- a\n  - b\n    1. c\n- d\n\n3. x\n4. y")
    bullet, ordered = doc["content"]
    assert bullet["type"] == "bulletList"
    first = bullet["content"][0]
    assert first["content"][0] == para(t("a"))
    inner = first["content"][1]
    assert inner["type"] == "bulletList"
    assert inner["content"][0]["content"][1]["type"] == "orderedList"
    assert ordered == {
        "type": "orderedList",
        "attrs": {"order": 3},
        "content": [
            {"type": "listItem", "content": [para(t("x"))]},
            {"type": "listItem", "content": [para(t("y"))]},
        ],
    }


def test_list_item_edge_cases() -> None:
    doc = adf("-\n- - nested first\n- # heading\n- > quote\n- ---x")
    items = doc["content"][0]["content"]
    assert items[0]["content"] == [para()]  # empty item: one empty paragraph
    assert items[1]["content"][0] == para()  # an item may not start with a list
    assert items[1]["content"][1]["type"] == "bulletList"
    assert items[2]["content"] == [para(t("heading", "strong"))]  # no headings in list items
    assert items[3]["content"] == [para(t("quote"))]  # no quotes in list items


def test_code_blocks() -> None:
    doc = adf("```python\nprint(1)\n\n```\n\n```\n```\n\n    indented\n")
    assert doc["content"] == [
        {"type": "codeBlock", "attrs": {"language": "python"}, "content": [t("print(1)\n")]},
        {"type": "codeBlock", "content": []},  # empty: no empty text node
        {"type": "codeBlock", "content": [t("indented")]},
    ]


def test_code_block_keeps_markup_literally() -> None:
    doc = adf("```\n**not bold** <b>x</b>\n```")
    assert doc["content"][0]["content"] == [t("**not bold** <b>x</b>")]


def test_blockquote_nested_and_with_disallowed_blocks() -> None:
    doc = adf("> # h\n> q\n> > nested\n> ---\n> - item")
    assert doc["content"] == [
        {
            "type": "blockquote",
            "content": [
                para(t("h", "strong")),
                para(t("q")),
                para(t("nested")),  # quote in quote: flattened
                para(t("---")),  # no rule in a quote: its text
                {"type": "bulletList", "content": [{"type": "listItem", "content": [para(t("item"))]}]},
            ],
        }
    ]
    assert adf(">")["content"] == [{"type": "blockquote", "content": [para()]}]


def test_rule() -> None:
    assert adf("a\n\n---\n\nb")["content"][1] == {"type": "rule"}
    assert adf("***")["content"] == [{"type": "rule"}]


def test_table() -> None:
    doc = adf("| h1 | h2 |\n|---|---|\n| **1** | |\n| x |")
    table = doc["content"][0]
    assert table["type"] == "table"
    header, row1, row2 = table["content"]
    assert [c["type"] for c in header["content"]] == ["tableHeader", "tableHeader"]
    assert row1["content"] == [
        {"type": "tableCell", "content": [para(t("1", "strong"))]},
        {"type": "tableCell", "content": [para()]},
    ]
    assert len(row2["content"]) == 2  # short rows are padded


def test_table_in_list_degrades_to_paragraphs() -> None:
    doc = adf("- | a | b |\n  |---|---|\n  | 1 | 2 |")
    assert doc["content"][0]["content"][0]["content"] == [para(t("a | b")), para(t("1 | 2"))]


def test_raw_html_is_text() -> None:
    doc = adf('<script>alert(1)</script>\n\nx <b onclick="y">bold</b> &lt;tag&gt;\n\n<div>\nblock\n</div>')
    assert doc["content"][0] == para(t("<script>alert(1)</script>"))
    assert doc["content"][1] == para(t('x <b onclick="y">bold</b> <tag>'))
    assert doc["content"][2] == para(t("<div>"), BR, t("block"), BR, t("</div>"))


def test_deep_nesting_never_loses_text() -> None:
    for src in (">" * 200 + " deep", "- " * 60 + "deep", "  " * 50 + "- deep"):
        doc = adf(src)
        assert "deep" in adf_to_text(doc), src


def test_link_helpers_adf() -> None:
    doc = adf("Disk full")
    out = append_link_adf(doc, "View incident in Flashduty", "https://fd.test/i/1", prefix="→ ")
    assert_valid(out)
    assert out["content"][0] == doc["content"][0]
    assert out["content"][-1] == para(t("→ "), t("View incident in Flashduty", href="https://fd.test/i/1"))
    assert len(doc["content"]) == 1  # the input is not modified
    assert_valid(append_link_adf(None, "", "https://fd.test"))  # label defaults to the URL
    assert link_paragraph("x", "javascript:alert(1)") == para(t("x"))
    assert link_paragraph("", "") == para()
    assert_valid({"type": "doc", "version": 1, "content": [link_paragraph("", "")]})


# ================================================================ ADF: edge cases and fuzzing
EDGE_CASES = [
    "", " ", "\n\n\n", "\t", "*", "**", "***", "_", "__", "~~", "`", "``", "```", "#", "# ", "######", "#######",
    ">", "> ", "-", "- ", "1.", "1. ", "+", "|", "||", "|-|", "[", "]", "[x](", "[x]()", "[](http://a)", "![]()",
    "<", "<>", "<b>", "</p>", "<!-- c -->", "<a href='javascript:x'>y</a>", "&", "&amp;", "&#0;", "\\", "\\\\",
    "\x00", "\u200b", "\r\n", "a\r\nb", "---", "===", "a\n===", "a\n---", "    ", "    code", "[x]: http://a\n\n[x]",
    "***bold italic***", "**unclosed", "`unclosed", "*a **b* c**", "> - > - > x", "1. - > ```\n   x\n   ```",
    "| a |\n|---|\n| `x|y` |", "- [ ] task", "~~~\n~~~", "```\n", "中文标题\n\n**告警**：CPU 使用率 95%",
    "# 🚨 Alert 🔥\n\n- 🐛 bug\n- ✅ fixed", "😀" * 100, "a" * 40000, ("word " * 2000 + "\n") * 5,
    "<http://a.b>", "http://a.b/_x_", "mailto:ops@x.test", "  leading\n  spaces", "trailing  ", "\u2028x\u2029",
]


@pytest.mark.parametrize("src", EDGE_CASES, ids=lambda s: repr(s[:20]))
def test_edge_cases_give_valid_adf_and_wiki(src: str) -> None:
    adf(src)
    assert isinstance(markdown_to_wiki(src), str)


FRAGMENTS = [
    "text", "中文", "🚨", " ", "\n", "\n\n", "  \n", "*", "**", "_", "~~", "`", "```", "```py\n", "#", "## ",
    "> ", "- ", "* ", "1. ", "  ", "    ", "[", "]", "(", ")", "](http://x.test)", "![", "<b>", "</b>", "&amp;",
    "|", "| a | b |\n|---|---|\n", "---", "\\", "http://u.test/p", "{code}", "{", "}", "h1. ", ":)", "!", "?",
]  # fmt: skip


def test_random_markdown_always_gives_valid_adf() -> None:
    rng = random.Random(20240601)
    for _ in range(250):
        src = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40)))
        doc = markdown_to_adf(src)
        errors = list(VALIDATOR.iter_errors(doc))
        assert not errors, (src, errors[0].message)
        _assert_jira_rules(doc)
        markdown_to_wiki(src)


PLAIN_FRAGMENTS = ["alpha", "beta", "中文", "🚨", " ", "\n", "\n\n", "*", "**", "_", "~~x~~ ", "# ", "> ", "- ", "1. ", "|", "  "]


def test_random_markdown_keeps_every_word() -> None:
    # (no fences in the alphabet: a fence info string is a language, not text)
    rng = random.Random(7)
    for _ in range(300):
        src = "".join(rng.choice(PLAIN_FRAGMENTS) for _ in range(rng.randint(1, 30)))
        text = adf_to_text(adf(src))
        for word in re.findall(r"alpha|beta|中文|🚨", src):
            assert word in text, (src, text)
        assert text.count("alpha") == src.count("alpha"), (src, text)


# ================================================================ wiki markup
@pytest.mark.parametrize(
    "src, wiki",
    [
        ("", ""),
        ("plain text", "plain text"),
        ("one\ntwo\n\nthree", "one\ntwo\n\nthree"),
        ("# H1\n\n###### H6", "h1. H1\n\nh6. H6"),
        ("**bold** *em* _em_ ~~strike~~ `mono`", "*bold* _em_ _em_ -strike- {{mono}}"),
        ("***both***", "_*both*_"),
        ("in**side**word", "in{*}side{*}word"),
        ("[label](https://x.test/a?b=1)", "[label|https://x.test/a?b=1]"),
        ("[**bold** label](https://x.test)", "[*bold* label|https://x.test]"),
        ("<https://x.test>", "[https://x.test]"),
        ("[x](https://x.test/a|b)", "[x|https://x.test/a%7Cb]"),
        ("- a\n- b\n  - c\n    1. d", "* a\n* b\n** c\n**# d"),
        ("1. a\n2. b\n   - c", "# a\n# b\n#* c"),
        ("- para one\n\n  para two", "* para one \\\\ para two"),
        ("- line\n  break", "* line \\\\ break"),
        ("> quoted", "bq. quoted"),
        ("> one\n> two", "{quote}\none\ntwo\n{quote}"),
        ("> a\n>\n> > b", "{quote}\na\n\nb\n{quote}"),
        ("---", "----"),
        ("```python\nx = {1}\n```", "{code:python}\nx = {1}\n{code}"),
        ("```py\nx\n```", "{code:python}\nx\n{code}"),
        ("```\nplain\n```", "{noformat}\nplain\n{noformat}"),
        ("```brainfuck\n+\n```", "{noformat}\n+\n{noformat}"),  # unknown to Jira: no error box
        ("```java\nx = \"{code}\";\n```", "{noformat}\nx = \"{code}\";\n{noformat}"),
        ("| h1 | h2 |\n|---|---|\n| a | *b* |\n| | c |", "||h1||h2||\n|a|_b_|\n| |c|"),
        ("<b>html</b>", "<b>html</b>"),
        ("![alt](https://i.test/x.png)", "[alt|https://i.test/x.png]"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),  # not a link: text
    ],
)
def test_wiki_constructs(src: str, wiki: str) -> None:
    assert markdown_to_wiki(src) == wiki


@pytest.mark.parametrize(
    "src, wiki",
    [
        # characters that are markup anywhere
        ("a {b} [c] d|e", "a \\{b\\} \\[c\\] d\\|e"),
        ("{code}x{code}", "\\{code\\}x\\{code\\}"),
        ("{color:red}x", "\\{color:red\\}x"),
        # phrase markers: escaped at word edges, literal inside words and between spaces
        ("snake_case_name 2024-01-01 a - b 2*3", "snake_case_name 2024-01-01 a - b 2*3"),
        ("\\*not bold\\*", "\\*not bold\\*"),
        ("\\_x\\_ \\-y- +z+ ^s^ ~t~", "\\_x\\_ \\-y\\- \\+z\\+ \\^s\\^ \\~t\\~"),
        ("a -- b --- c", "a \\-\\- b \\-\\-\\- c"),
        ("Disk full!", "Disk full\\!"),
        ("!image.png!", "\\!image.png\\!"),
        # other notations
        ("really??", "really\\?\\?"),
        ("ok :) ;) :D (y) (!) (on)", "ok &#58;) &#59;) &#58;D \\(y) \\(\\!) \\(on)"),
        ("C:\\\\temp", "C:&#92;temp"),
        ("&amp;lt; & done", "&amp;lt; & done"),
        # block markers at the start of a line
        ("\\# not a list", "\\# not a list"),
        ("h1. not a heading\nbq. not a quote", "&#104;1. not a heading\n&#98;q. not a quote"),
        ("\\- not a list", "\\- not a list"),
        ("\\----", "\\-\\-\\-\\-"),
        # bare URLs are left for Jira to link
        ("see http://x.test/a_b_/c-d!", "see http://x.test/a_b_/c-d\\!"),
        # CJK and emoji need nothing
        ("告警：*严重*", "告警：_严重_"),
        ("🚨 **火** 🔥", "🚨 *火* 🔥"),
    ],
)
def test_wiki_escaping(src: str, wiki: str) -> None:
    assert markdown_to_wiki(src) == wiki


def test_wiki_code_block_with_both_terminators() -> None:
    wiki = markdown_to_wiki("```\n{code} and {noformat}\n```")
    assert wiki.startswith("{noformat}\n") and wiki.endswith("\n{noformat}")
    assert wiki.count("{noformat}") == 2  # the one in the body is broken by a zero-width space


def test_wiki_inline_code_escapes() -> None:
    assert markdown_to_wiki("`a*b* {x}`") == "{{a*b\\* \\{x\\}}}"


def test_wiki_link_helpers() -> None:
    assert wiki_link("View incident", "https://fd.test/i/1") == "[View incident|https://fd.test/i/1]"
    assert wiki_link("a|b [c]", "https://fd.test/x y|z") == "[a\\|b \\[c\\]|https://fd.test/x%20y%7Cz]"
    assert wiki_link("", "https://fd.test") == "[https://fd.test]"
    assert wiki_link("x", "javascript:alert(1)") == "x"
    assert append_link_wiki("Body\n", "View", "https://fd.test", prefix="Flashduty: ") == (
        "Body\n\nFlashduty: [View|https://fd.test]"
    )
    assert append_link_wiki("", "View", "https://fd.test") == "[View|https://fd.test]"


# ================================================================ ADF -> text
def test_adf_to_text_round_trip() -> None:
    src = "# Title\n\nline one\nline two\n\n- a\n  - b\n1. c\n\n> quote\n\n```\ncode\n```\n\n| h | i |\n|---|---|\n| 1 | 2 |"
    assert adf_to_text(markdown_to_adf(src)) == (
        "Title\n\nline one\nline two\n\n- a\n  - b\n\n1. c\n\nquote\n\ncode\n\nh | i\n1 | 2"
    )


def test_adf_to_text_foreign_nodes() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            para(
                t("Hi "),
                {"type": "mention", "attrs": {"id": "abc", "text": "@Ana"}},
                t(" "),
                {"type": "emoji", "attrs": {"shortName": ":fire:", "text": "🔥"}},
                t(" "),
                {"type": "inlineCard", "attrs": {"url": "https://x.test"}},
                t(" "),
                {"type": "date", "attrs": {"timestamp": "1689335086000"}},
                t(" "),
                {"type": "status", "attrs": {"text": "DONE", "color": "green"}},
            ),
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [para(t("in panel"))]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "1", "type": "file"}}]},
            {"type": "orderedList", "attrs": {"order": 5}, "content": [{"type": "listItem", "content": [para(t("five"))]}]},
        ],
    }
    assert adf_to_text(doc) == "Hi @Ana 🔥 https://x.test 2023-07-14 DONE\n\nin panel\n\n5. five"


def test_adf_to_text_shows_link_targets() -> None:
    doc = markdown_to_adf("[Grafana](https://g.test/d) and https://x.test")
    assert adf_to_text(doc) == "Grafana (https://g.test/d) and https://x.test"
    linked = append_link_adf(doc, "View incident in Flashduty", "https://fd.test/i/1")
    assert adf_to_text(linked).endswith("\n\nView incident in Flashduty (https://fd.test/i/1)")


@pytest.mark.parametrize(
    "doc",
    [
        None, 42, [], {}, {"type": "doc"}, {"content": "x"}, {"content": [1, None, {"type": "text"}]},
        {"content": [{"type": "text", "text": "", "marks": [1, {"type": "link"}, {"type": "link", "attrs": 3}]}]},
        {"content": [{"type": "orderedList", "attrs": {"order": "x"}, "content": "bad"}]},
    ],
)
def test_adf_to_text_never_raises(doc: Any) -> None:
    assert adf_to_text(doc) == ""


def test_adf_to_text_accepts_plain_string() -> None:
    assert adf_to_text("already text") == "already text"  # v2 comment bodies are strings
