"""Request plumbing shared by the routes: auth, body parsing, paging, Jira's error envelope."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .auth import AuthError, authenticate
from .gateway import PREFIX_KEY
from .model import JiraHTTPError, User
from .render import View

if TYPE_CHECKING:
    from .state import FakeJira


class JiraJSON(JSONResponse):
    media_type = "application/json;charset=UTF-8"


@dataclass(slots=True)
class Call:
    """One authenticated request, as the route functions see it."""

    site: "FakeJira"
    request: Request
    user: User
    view: View
    raw_body: bytes

    @property
    def api(self) -> str:
        return self.view.api

    @property
    def cloud(self) -> bool:
        return self.site.cloud

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def params(self, name: str) -> list[str]:
        """A multi-valued parameter: repeated and/or comma-separated."""
        return [v.strip() for raw in self.request.query_params.getlist(name) for v in raw.split(",") if v.strip()]

    def path(self, name: str) -> str:
        return self.request.path_params[name]

    def json(self) -> Any:
        """The JSON body; 415 unless sent as application/json, 400 if not JSON (Jira's Jackson layer)."""
        ctype = self.request.headers.get("content-type", "")
        if "application/json" not in ctype.lower():
            raise JiraHTTPError(415, ["Unsupported Media Type: send the body as application/json."])
        if not self.raw_body.strip():
            raise JiraHTTPError(400, ["No content to map to Object due to end of input"])
        try:
            return json.loads(self.raw_body)
        except ValueError as e:
            raise JiraHTTPError(400, [f"Unexpected character in the JSON body: {e}"]) from None

    def int_param(self, name: str, default: int, *, minimum: int = 0) -> int:
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise JiraHTTPError(400, [f"The '{name}' parameter must be an integer."]) from None
        if value < minimum:
            raise JiraHTTPError(400, [f"The '{name}' parameter must be at least {minimum}."])
        return value


def ok(payload: Any, status: int = 200) -> Response:
    return JiraJSON(payload, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


def error(e: JiraHTTPError) -> Response:
    if isinstance(e, AuthError):
        return Response(e.text, status_code=e.status, headers=e.headers, media_type=e.media_type)
    return JiraJSON({"errorMessages": e.messages, "errors": e.errors}, status_code=e.status, headers=e.headers)


def not_found(request: Request) -> Response:
    # What Jira's REST layer answers for a resource it does not have (Jersey's wording).
    return JiraJSON({"message": f"null for uri: {request.url}", "status-code": 404}, status_code=404)


def site_url(request: Request) -> str:
    """The URL the request reached, without any gateway prefix: the site's own URL."""
    scope = request.scope
    host = request.headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def base_url(request: Request) -> str:
    """Where the REST API was reached: the site URL, or the gateway's `/ex/jira/{cloudId}` on it."""
    return site_url(request) + request.scope.get(PREFIX_KEY, "")


def endpoint(site: "FakeJira", fn: Callable[[Call], Response], *, anonymous: bool = False,
             versioned: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a route: API version check, auth (under the site lock), Jira-shaped errors."""

    async def handle(request: Request) -> Response:
        api = request.path_params.get("api", "2")
        if versioned and api not in site.api_versions:  # Server/DC has no /rest/api/3
            return not_found(request)
        try:
            raw = await request.body() if request.method in ("POST", "PUT") else b""
        except ClientDisconnect:  # the client died mid-body (a soak's SIGKILL): Jira sees nothing
            return Response(status_code=400)
        base = base_url(request)
        gateway = bool(request.scope.get(PREFIX_KEY))
        try:
            with site.lock:
                user = None if anonymous else authenticate(
                    site, request.headers.get("authorization"), site_url(request),
                    gateway=gateway, method=request.method, path=request.scope["path"])
                view = View(site, base, api, site_url(request))
                return fn(Call(site, request, user, view, raw))  # type: ignore[arg-type]
        except JiraHTTPError as e:
            return error(e)

    return handle


def page(items: list[Any], start: int, size: int) -> tuple[list[Any], bool]:
    chunk = items[start:start + size]
    return chunk, start + len(chunk) >= len(items)
