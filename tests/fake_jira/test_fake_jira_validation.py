"""The emulator's verdicts come from schemas compiled by fastjsonschema; jsonschema is the
reference. A verdict that differs would make the emulator kinder or harsher than the schema
Jira documents, so random documents and bodies must get the same verdict from both."""
from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from jira_sync.devtools.fake_jira import validation

NODE_TYPES = ["doc", "paragraph", "text", "heading", "bulletList", "orderedList", "listItem", "codeBlock",
              "hardBreak", "blockquote", "panel", "rule", "table", "tableRow", "tableCell", "mention", "emoji",
              "inlineCard", "status", "date", "expand", "media", "mediaSingle", "blink"]
MARK_TYPES = ["strong", "em", "code", "link", "strike", "underline", "textColor", "subsup", "blink"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.sampled_from(["", "x", "https://e.com", "#ff0000",
                                                                                    "info", "sub", "python"]))
ATTR_NAMES = ["level", "language", "href", "color", "type", "panelType", "id", "text", "url", "order", "timestamp",
              "localId", "layout", "width", "title"]
attrs = st.dictionaries(st.sampled_from(ATTR_NAMES), SCALARS, max_size=3)
marks = st.lists(st.fixed_dictionaries({"type": st.sampled_from(MARK_TYPES)}, optional={"attrs": attrs}), max_size=2)


def node(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(NODE_TYPES)},
        optional={"content": st.lists(children, max_size=3), "attrs": attrs, "text": st.sampled_from(["", "a", "bold"]),
                  "marks": marks, "version": st.sampled_from([1, 2, "1"])})


random_nodes = st.recursive(st.fixed_dictionaries({"type": st.sampled_from(NODE_TYPES)},
                                                  optional={"text": st.sampled_from(["", "a"]), "marks": marks}),
                            node, max_leaves=8)

# documents built as Jira's renderer builds them, then perhaps broken in one place
texts = st.builds(lambda t, m: {"type": "text", "text": t, **({"marks": m} if m else {})}, st.sampled_from(["a", "bold", "x y"]),
                  st.lists(st.one_of(st.sampled_from([{"type": "strong"}, {"type": "em"}, {"type": "code"}]),
                                     st.builds(lambda h: {"type": "link", "attrs": {"href": h}},
                                               st.sampled_from(["https://e.com", "/x"]))), max_size=2, unique_by=str))
inline = st.one_of(texts, st.just({"type": "hardBreak"}))
paragraph = st.builds(lambda c: {"type": "paragraph", "content": c}, st.lists(inline, max_size=3))
heading = st.builds(lambda lv, c: {"type": "heading", "attrs": {"level": lv}, "content": c}, st.integers(1, 6),
                    st.lists(texts, max_size=2))
item = st.builds(lambda c: {"type": "listItem", "content": c}, st.lists(paragraph, min_size=1, max_size=2))
lists = st.builds(lambda kind, c: {"type": kind, "content": c}, st.sampled_from(["bulletList", "orderedList"]),
                  st.lists(item, min_size=1, max_size=3))
code = st.builds(lambda lang, t: {"type": "codeBlock", "attrs": {"language": lang}, "content": [{"type": "text", "text": t}]},
                 st.sampled_from(["python", "sql"]), st.sampled_from(["x = 1", "select 1"]))
quote = st.builds(lambda c: {"type": "blockquote", "content": c}, st.lists(paragraph, min_size=1, max_size=2))
block = st.one_of(paragraph, heading, lists, code, quote, st.just({"type": "rule"}))
built = st.builds(lambda c: {"type": "doc", "version": 1, "content": c}, st.lists(block, max_size=4))


def _nodes_of(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        yield value
        for child in value.get("content") or ():
            yield from _nodes_of(child)


@st.composite
def broken(draw, doc_strategy=built):  # type: ignore[no-untyped-def]
    doc = draw(doc_strategy)
    found = list(_nodes_of(doc))
    target = draw(st.sampled_from(found))
    how = draw(st.sampled_from(["type", "attr", "drop", "text", "version", "extra"]))
    if how == "type":
        target["type"] = draw(st.sampled_from(NODE_TYPES))
    elif how == "attr":
        target.setdefault("attrs", {})[draw(st.sampled_from(ATTR_NAMES))] = draw(SCALARS)
    elif how == "drop" and len(target) > 1:
        target.pop(draw(st.sampled_from(sorted(k for k in target if k != "type"))) if len(target) > 1 else "type")
    elif how == "text":
        target["text"] = draw(st.sampled_from(["", "a", 5]))
    elif how == "version":
        doc["version"] = draw(st.sampled_from([0, 2, "1", None]))
    else:
        target[draw(st.sampled_from(["foo", "marks", "content"]))] = draw(st.sampled_from([[], {}, "x", None]))
    return doc


docs = st.one_of(built, broken(), random_nodes)


@cache
def plain(name: str) -> Draft4Validator:
    schema = validation.adf_validator().schema if name == validation.ADF else validation.component_validator(name).schema
    return Draft4Validator(schema)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs)
def test_adf_verdicts_agree_with_jsonschema(doc) -> None:  # type: ignore[no-untyped-def]
    verdict = plain(validation.ADF).is_valid(doc)
    event(f"valid: {verdict}")  # both verdicts occur (--hypothesis-show-statistics)
    assert (validation.adf_error(doc) is None) == verdict


values = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.sampled_from(["id", "name", "key", "body",
                                                                                         "type", "value"]), inner,
                                                                        max_size=3)), max_leaves=6)
FIELDS = ["summary", "project", "issuetype", "priority", "labels", "description", "customfield_10010"]
issue_bodies = st.fixed_dictionaries({}, optional={
    "fields": st.dictionaries(st.sampled_from(FIELDS), values, max_size=4),
    "update": st.dictionaries(st.sampled_from(FIELDS), st.lists(values, max_size=2), max_size=2),
    "properties": st.lists(st.dictionaries(st.sampled_from(["key", "value"]), values, max_size=2), max_size=2),
    "transition": values, "historyMetadata": values})
comment_bodies = st.dictionaries(st.sampled_from(["body", "visibility", "properties", "id", "author"]), values, max_size=3)
search_bodies = st.dictionaries(st.sampled_from(["jql", "fields", "maxResults", "nextPageToken", "properties",
                                                 "expand", "reconcileIssues"]), values, max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.tuples(st.just("IssueUpdateDetails"), issue_bodies), st.tuples(st.just("Comment"), comment_bodies),
                 st.tuples(st.just("SearchAndReconcileRequestBean"), search_bodies)))
def test_request_body_verdicts_agree_with_jsonschema(case) -> None:  # type: ignore[no-untyped-def]
    name, body = case
    verdict = plain(name).is_valid(body)
    event(f"valid: {verdict}")
    assert (validation.component_error(name, body) is None) == verdict


def test_a_verdict_never_writes_defaults_into_the_body() -> None:
    body = {"fields": {"summary": "s"}}
    validation.component_error("IssueUpdateDetails", body)
    assert body == {"fields": {"summary": "s"}}
