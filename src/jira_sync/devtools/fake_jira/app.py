"""The Starlette app: routes for /rest/api/{2,3} and /rest/webhooks/1.0, the fault and edge
(gateway, missing endpoints) layers, Jira-shaped 404/405."""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import routes_changelog as changes
from . import routes_comment as comment
from . import routes_issue as issue
from . import routes_meta as meta
from . import routes_search as search
from . import routes_webhooks as webhooks
from .faults import FaultLayer
from .gateway import EdgeLayer
from .http import JiraJSON, endpoint, not_found

if TYPE_CHECKING:
    from .state import FakeJira

API = "/rest/api/{api}"


def build_app(site: "FakeJira") -> Starlette:
    def r(path: str, fn, methods: list[str], **kw) -> Route:
        return Route(API + path, endpoint(site, fn, **kw), methods=methods)

    def by_method(versioned: bool = True, **handlers):
        """One route, several methods (GET/POST/PUT/DELETE) dispatched to different functions."""
        wrapped = {m.upper(): endpoint(site, fn, versioned=versioned) for m, fn in handlers.items()}

        async def dispatch(request: Request) -> Response:
            return await wrapped[request.method](request)

        return dispatch

    def multi(path: str, **handlers) -> Route:
        return Route(API + path, by_method(**handlers), methods=[m.upper() for m in handlers])

    routes = [
        r("/serverInfo", meta.server_info, ["GET"], anonymous=True),
        r("/myself", meta.myself, ["GET"]),
        r("/project/search", meta.project_search, ["GET"]),
        r("/project", meta.project_list, ["GET"]),
        r("/project/{project}", meta.project_get, ["GET"]),
        r("/project/{project}/statuses", meta.project_statuses, ["GET"]),
        r("/mypermissions", meta.my_permissions, ["GET"]),
        r("/issue/createmeta", meta.createmeta_old, ["GET"]),
        r("/issue/createmeta/{project}/issuetypes", meta.createmeta_issuetypes, ["GET"]),
        r("/issue/createmeta/{project}/issuetypes/{issuetype}", meta.createmeta_fields, ["GET"]),
        r("/issue", issue.create_issue, ["POST"]),
        multi("/issue/{issue}", get=issue.get_issue, put=issue.edit_issue, delete=issue.delete_issue),
        multi("/issue/{issue}/transitions", get=issue.get_transitions, post=issue.post_transition),
        multi("/issue/{issue}/comment", get=comment.get_comments, post=comment.add_comment),
        multi("/issue/{issue}/comment/{comment}", get=comment.get_comment, put=comment.update_comment,
              delete=comment.delete_comment),
        r("/issue/{issue}/changelog", changes.issue_changelog, ["GET"]),
        r("/changelog/bulkfetch", changes.bulkfetch, ["POST"]),
        r("/comment/{comment}/properties", comment.comment_property_keys, ["GET"]),
        multi("/comment/{comment}/properties/{key}", get=comment.comment_property,
              put=comment.set_comment_property, delete=comment.delete_comment_property),
        r("/search", search.search_old, ["GET", "POST"]),
        r("/search/jql", search.search_jql, ["GET", "POST"]),
        Route("/rest/webhooks/1.0/webhook", by_method(False, get=webhooks.list_all, post=webhooks.create),
              methods=["GET", "POST"]),
        Route("/rest/webhooks/1.0/webhook/{id}",
              by_method(False, get=webhooks.get_one, put=webhooks.replace, delete=webhooks.delete),
              methods=["GET", "PUT", "DELETE"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            return not_found(request)
        return JiraJSON({"errorMessages": [str(getattr(exc, "detail", "") or "Error")], "errors": {}},
                        status_code=status, headers=getattr(exc, "headers", None))

    return Starlette(
        routes=routes,
        middleware=[Middleware(FaultLayer, site=site), Middleware(EdgeLayer, site=site)],
        exception_handlers={HTTPException: http_error},
    )
