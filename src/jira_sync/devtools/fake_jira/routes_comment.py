"""Comments and comment properties.

The comment list and a single comment do not carry properties: `expand` accepts only
`renderedBody` in the Cloud spec, so `expand=properties` is ignored, on both flavours, unless
`fake.comment_properties_in_list = True` (the emulator's old behaviour, which jira-sync's
client relied on). Read them with `GET /comment/{id}/properties/{key}`. Properties sent in the
create body (`properties: [{key, value}]`) are stored: the spec's `Comment` says "Optional on
create and update".
"""
from __future__ import annotations

import json

from starlette.responses import Response

from .http import Call, no_content, ok, page
from .model import Comment, Issue, JiraHTTPError
from .routes_issue import body, the_issue

PROPERTY_VALUE_LIMIT = 32768


def _with_properties(c: Call) -> bool:
    return bool(c.site.comment_properties_in_list) and "properties" in c.params("expand")


def get_comments(c: Call) -> Response:
    issue = the_issue(c)
    default, cap = (100, 100) if c.cloud else (5000, 5000)
    start, size = c.int_param("startAt", 0), min(c.int_param("maxResults", default, minimum=0), cap)
    order = c.param("orderBy")
    if c.cloud and order not in (None, "created", "-created", "+created"):
        raise JiraHTTPError(400, [f"Ordering by '{order}' is not supported: use 'created' or '-created'."])
    comments = list(issue.comments)
    if (order or "").lstrip("+") == "-created":
        comments.reverse()
    chunk, _ = page(comments, start, size)
    props = _with_properties(c)
    return ok({"comments": [c.view.comment(issue, x, properties=props) for x in chunk],
               "maxResults": size, "total": len(comments), "startAt": start})


def add_comment(c: Call) -> Response:
    issue = the_issue(c)
    comment = c.site.add_comment(c.user, c.api, issue, body(c, "Comment"))
    props = c.site.comment_properties_in_list and ("properties" in c.params("expand") or bool(comment.properties))
    return ok(c.view.comment(issue, comment, properties=props), 201)


def _on_issue(c: Call) -> tuple[Issue, Comment]:
    issue = the_issue(c)
    found = c.site.comment(c.path("comment"))
    if found is None or found[0] is not issue:
        raise JiraHTTPError(404, [f"Can not find a comment for the id: {c.path('comment')}."])
    return found


def get_comment(c: Call) -> Response:
    issue, comment = _on_issue(c)
    return ok(c.view.comment(issue, comment, properties=_with_properties(c)))


def update_comment(c: Call) -> Response:
    issue, comment = _on_issue(c)
    c.site.update_comment(c.user, c.api, issue, comment, body(c, "Comment"))
    return ok(c.view.comment(issue, comment))


def delete_comment(c: Call) -> Response:
    issue, comment = _on_issue(c)
    c.site.delete_comment(c.user, issue, comment)
    return no_content()


# ------------------------------------------------------------ properties
def _comment(c: Call) -> tuple[Issue, Comment]:
    found = c.site.comment(c.path("comment"))
    if found is None or "BROWSE_PROJECTS" not in c.user.permissions:
        raise JiraHTTPError(404, [f"Can not find a comment for the id: {c.path('comment')}."])
    return found


def _no_property(key: str) -> JiraHTTPError:
    return JiraHTTPError(404, [f"The property with key '{key}' does not exist."])


def comment_property_keys(c: Call) -> Response:
    _, comment = _comment(c)
    base = f"{c.view.rest}/comment/{comment.id}/properties"
    return ok({"keys": [{"self": f"{base}/{p['key']}", "key": p["key"]} for p in comment.properties]})


def comment_property(c: Call) -> Response:
    _, comment = _comment(c)
    key = c.path("key")
    for p in comment.properties:
        if p["key"] == key:
            return ok({"key": key, "value": p["value"]})
    raise _no_property(key)


def set_comment_property(c: Call) -> Response:
    """201 when created, 200 when updated (no body either way); Edit Own/All Comments."""
    _, comment = _comment(c)
    key = c.path("key")
    if len(key) > 255:
        raise JiraHTTPError(400, ["The property key cannot be longer than 255 characters."])
    value = c.json()
    if len(json.dumps(value, ensure_ascii=False)) > PROPERTY_VALUE_LIMIT:
        raise JiraHTTPError(400, [f"The property value cannot be longer than {PROPERTY_VALUE_LIMIT} characters."])
    c.site.require_comment_permission(c.user, comment, "EDIT")
    for p in comment.properties:
        if p["key"] == key:
            p["value"] = value
            return Response(status_code=200)
    comment.properties.append({"key": key, "value": value})
    return Response(status_code=201)


def delete_comment_property(c: Call) -> Response:
    _, comment = _comment(c)
    key = c.path("key")
    c.site.require_comment_permission(c.user, comment, "EDIT")
    for i, p in enumerate(comment.properties):
        if p["key"] == key:
            del comment.properties[i]
            return no_content()
    raise _no_property(key)
