"""Issues: create, read, edit, delete, transitions. Comments are in routes_comment.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from . import changelog as CL
from . import validation
from .http import Call, no_content, ok
from .model import Issue, JiraHTTPError
from .writes import NO_ISSUE

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


def body(c: Call, component: str) -> dict[str, Any]:
    """The JSON body; on Cloud also checked against the OpenAPI component schema."""
    body = c.json()
    if c.cloud and validation.component_error(component, body) is not None:
        raise JiraHTTPError(400, [INVALID_PAYLOAD])
    if not isinstance(body, dict):
        raise JiraHTTPError(400, [INVALID_PAYLOAD])
    return body


def the_issue(c: Call) -> Issue:
    issue = c.site.issue(c.path("issue"))
    if issue is None or "BROWSE_PROJECTS" not in c.user.permissions:
        raise JiraHTTPError(404, [NO_ISSUE])
    return issue


def render_issue(c: Call, issue: Issue, spec: FieldSpec, expand: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    wanted = None if spec.everything and not spec.exclude else _Wanted(spec)
    out = c.view.issue(issue, wanted)  # type: ignore[arg-type]
    if "changelog" in expand:
        out["changelog"] = CL.expanded(c.view, issue)
    return out


class _Wanted:
    """A set-like view of a FieldSpec, for View.issue."""

    __slots__ = ("spec",)

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec

    def __contains__(self, fid: str) -> bool:
        return self.spec.wants(fid)


# ------------------------------------------------------------ issue
def create_issue(c: Call) -> Response:
    issue = c.site.create_issue(c.user, c.api, body(c, "IssueUpdateDetails"))
    return ok({"id": issue.id, "key": issue.key, "self": f"{c.view.rest}/issue/{issue.id}"}, 201)


def get_issue(c: Call) -> Response:
    return ok(render_issue(c, the_issue(c), FieldSpec.parse(c.params("fields"), "*all"), c.params("expand")))


def delete_issue(c: Call) -> Response:
    """204; 400 "deleteSubtasks" never applies (no subtasks here); 403 without Delete Issues."""
    issue = the_issue(c)
    if c.param("deleteSubtasks") not in (None, "true", "false"):
        raise JiraHTTPError(400, ["The value of 'deleteSubtasks' must be 'true' or 'false'."])
    c.site.delete_issue_as(c.user, issue)
    return no_content()


def edit_issue(c: Call) -> Response:
    issue = the_issue(c)
    c.site.edit_issue(c.user, c.api, issue, body(c, "IssueUpdateDetails"))
    if c.cloud and c.param("returnIssue") == "true":
        return ok(render_issue(c, issue, FieldSpec.parse([], "*all")))
    return no_content()


# ------------------------------------------------------------ transitions
def get_transitions(c: Call) -> Response:
    issue = the_issue(c)
    with_fields = "transitions.fields" in c.params("expand")
    only = c.param("transitionId")
    return ok({"expand": "transitions", "transitions": [
        c.view.transition(t, with_fields=with_fields)
        for t in c.site.available_transitions(c.user, issue) if only is None or t.id == only
    ]})


def post_transition(c: Call) -> Response:
    issue = the_issue(c)
    c.site.transition(c.user, c.api, issue, body(c, "IssueUpdateDetails"))
    return no_content()
