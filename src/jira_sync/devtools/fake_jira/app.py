"""The Starlette app: routes for /rest/api/{2,3}, the fault layer, Jira-shaped 404/405."""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import routes_issue as issue
from . import routes_meta as meta
from . import routes_search as search
from .faults import FaultLayer
from .http import JiraJSON, endpoint, not_found

if TYPE_CHECKING:
    from .state import FakeJira

API = "/rest/api/{api}"


def build_app(site: "FakeJira") -> Starlette:
    def r(path: str, fn, methods: list[str], **kw) -> Route:
        return Route(API + path, endpoint(site, fn, **kw), methods=methods)

    def by_method(**handlers):
        """One route, several methods (GET/POST/PUT) dispatched to different functions."""
        wrapped = {m.upper(): endpoint(site, fn) for m, fn in handlers.items()}

        async def dispatch(request: Request) -> Response:
            return await wrapped[request.method](request)

        return dispatch

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
        Route(API + "/issue/{issue}", by_method(get=issue.get_issue, put=issue.edit_issue), methods=["GET", "PUT"]),
        Route(API + "/issue/{issue}/transitions", by_method(get=issue.get_transitions, post=issue.post_transition),
              methods=["GET", "POST"]),
        Route(API + "/issue/{issue}/comment", by_method(get=issue.get_comments, post=issue.add_comment),
              methods=["GET", "POST"]),
        r("/comment/{comment}/properties", issue.comment_property_keys, ["GET"]),
        r("/comment/{comment}/properties/{key}", issue.comment_property, ["GET"]),
        r("/search", search.search_old, ["GET", "POST"]),
        r("/search/jql", search.search_jql, ["GET", "POST"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            return not_found(request)
        return JiraJSON({"errorMessages": [str(getattr(exc, "detail", "") or "Error")], "errors": {}},
                        status_code=status, headers=getattr(exc, "headers", None))

    return Starlette(
        routes=routes,
        middleware=[Middleware(FaultLayer, site=site)],
        exception_handlers={HTTPException: http_error},
    )
