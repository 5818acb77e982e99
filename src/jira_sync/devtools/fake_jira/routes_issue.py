"""Issues: create, read, edit, transitions, comments (and comment properties)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from . import validation
from .http import Call, no_content, ok, page
from .model import Issue, JiraHTTPError

INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Jira's `fields` parameter: `*all`, `*navigable`, ids, and `-id` exclusions."""

    everything: bool
    include: frozenset[str]
    exclude: frozenset[str]

    @classmethod
    def parse(cls, names: list[str], default: str) -> "FieldSpec":
        names = names or [default]
        include = {n for n in names if not n.startswith("-")}
        everything = bool(include & {"*all", "*navigable"})
        return cls(everything, frozenset(include - {"*all", "*navigable"}),
                   frozenset(n[1:] for n in names if n.startswith("-")))

    def wants(self, fid: str) -> bool:
        return fid not in self.exclude and (self.everything or fid in self.include)

    @property
    def ids_only(self) -> bool:
        return not self.everything and self.include <= {"id"}


def _body(c: Call, component: str) -> dict[str, Any]:
    """The JSON body; on Cloud also checked against the OpenAPI component schema."""
    body = c.json()
    if c.cloud and validation.component_error(component, body) is not None:
        raise JiraHTTPError(400, [INVALID_PAYLOAD])
    if not isinstance(body, dict):
        raise JiraHTTPError(400, [INVALID_PAYLOAD])
    return body


def _issue(c: Call) -> Issue:
    issue = c.site.issue(c.path("issue"))
    if issue is None or "BROWSE_PROJECTS" not in c.user.permissions:
        raise JiraHTTPError(404, ["Issue does not exist or you do not have permission to see it."])
    return issue


def render_issue(c: Call, issue: Issue, spec: FieldSpec) -> dict[str, Any]:
    wanted = None if spec.everything and not spec.exclude else _Wanted(spec)
    return c.view.issue(issue, wanted)  # type: ignore[arg-type]


class _Wanted:
    """A set-like view of a FieldSpec, for View.issue."""

    __slots__ = ("spec",)

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec

    def __contains__(self, fid: str) -> bool:
        return self.spec.wants(fid)


# ------------------------------------------------------------ issue
def create_issue(c: Call) -> Response:
    issue = c.site.create_issue(c.user, c.api, _body(c, "IssueUpdateDetails"))
    return ok({"id": issue.id, "key": issue.key, "self": f"{c.view.rest}/issue/{issue.id}"}, 201)


def get_issue(c: Call) -> Response:
    return ok(render_issue(c, _issue(c), FieldSpec.parse(c.params("fields"), "*all")))


def edit_issue(c: Call) -> Response:
    issue = _issue(c)
    c.site.edit_issue(c.user, c.api, issue, _body(c, "IssueUpdateDetails"))
    if c.cloud and c.param("returnIssue") == "true":
        return ok(render_issue(c, issue, FieldSpec.parse([], "*all")))
    return no_content()


# ------------------------------------------------------------ transitions
def get_transitions(c: Call) -> Response:
    issue = _issue(c)
    with_fields = "transitions.fields" in c.params("expand")
    only = c.param("transitionId")
    return ok({"expand": "transitions", "transitions": [
        c.view.transition(t, with_fields=with_fields)
        for t in c.site.available_transitions(c.user, issue) if only is None or t.id == only
    ]})


def post_transition(c: Call) -> Response:
    issue = _issue(c)
    c.site.transition(c.user, c.api, issue, _body(c, "IssueUpdateDetails"))
    return no_content()


# ------------------------------------------------------------ comments
def get_comments(c: Call) -> Response:
    issue = _issue(c)
    default, cap = (100, 100) if c.cloud else (5000, 5000)
    start, size = c.int_param("startAt", 0), min(c.int_param("maxResults", default, minimum=0), cap)
    comments = list(issue.comments)
    if (c.param("orderBy") or "").lstrip("+") == "-created":
        comments.reverse()
    chunk, _ = page(comments, start, size)
    props = "properties" in c.params("expand")
    return ok({"comments": [c.view.comment(issue, x, properties=props) for x in chunk],
               "maxResults": size, "total": len(comments), "startAt": start})


def add_comment(c: Call) -> Response:
    issue = _issue(c)
    comment = c.site.add_comment(c.user, c.api, issue, _body(c, "Comment"))
    props = "properties" in c.params("expand") or bool(comment.properties)
    return ok(c.view.comment(issue, comment, properties=props), 201)


def _comment(c: Call):
    found = c.site.comment(c.path("comment"))
    if found is None or "BROWSE_PROJECTS" not in c.user.permissions:
        raise JiraHTTPError(404, [f"Can not find a comment for the id: {c.path('comment')}."])
    return found


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
    raise JiraHTTPError(404, [f"The property with key '{key}' does not exist."])
