"""Application errors as HTTP answers, in one place.

The REST API answers JSON `{"detail": ...}`; pages under /console are answered by the
console's own error page (`console.error_page`), so a person sees words, not JSON.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Route

from ..app.errors import AppError, CheckFailed, Conflict, Invalid, JiraFailed, JiraRefused, NotFound
from ..domain.conditions import ConditionError
from .input import BodyTimeout

log = logging.getLogger(__name__)

ErrorPage = Callable[[Request, int, str], Response]  # (request, status, message) -> page

STATUS = {NotFound: 404, Conflict: 409, Invalid: 422, CheckFailed: 422, JiraRefused: 422, JiraFailed: 502}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": body}, status_code=status, headers=headers)


def _allowed(request: Request) -> str:
    """Every method some route takes for this path. Incident ids may contain `/`, so
    `.../incidents/a/retry` is both incident `a/retry` (GET) and a retry of `a` (POST)."""
    path = request.scope["path"]
    methods = {m for r in request.app.routes if isinstance(r, Route) and r.methods and r.path_regex.match(path)
               for m in r.methods}
    return ", ".join(sorted(methods))


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _body(exc: AppError) -> Any:
    if isinstance(exc, CheckFailed):
        return {"error": "check_failed", **exc.report.as_dict()}
    if isinstance(exc, JiraFailed):
        return {"error": "jira", "problem": exc.problem, "message": exc.message}
    return str(exc)


def _is_console(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/console") and not path.startswith("/console/static")


def install(app: FastAPI, console_page: ErrorPage) -> None:
    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        if _is_console(request):
            return console_page(request, status, str(exc))
        return _json(status, _body(exc))

    async def invalid(_request: Request, exc: Exception) -> Response:
        # Without "input": a rejected integration body carries credentials, never echo them.
        errors = exc.errors() if isinstance(exc, (RequestValidationError, ValidationError)) else []
        return _json(422, [{k: v for k, v in e.items() if k not in ("input", "ctx", "url")} for e in errors])

    async def bad_conditions(_request: Request, exc: Exception) -> Response:
        return _json(422, f"conditions: {exc}")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:  # Starlette names the first matching route's methods only
            exc.headers = {**(exc.headers or {}), "Allow": _allowed(request)}
        if _is_console(request):
            return console_page(request, exc.status_code, str(exc.detail))
        return await http_exception_handler(request, exc)

    async def body_timeout(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyTimeout)
        log.warning("%s %s: %s (client %s); connection closed", request.method, request.url.path, exc.detail,
                    _client(request))
        return _json(408, exc.detail, headers=exc.headers)

    async def client_gone(request: Request, _exc: Exception) -> Response:
        # the client's mistake, one line; the answer is never delivered
        log.info("%s %s: the client went away before its body was complete (client %s)",
                 request.method, request.url.path, _client(request))
        return _json(400, "the request body was not complete")

    app.add_exception_handler(BodyTimeout, body_timeout)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValidationError, invalid)
    app.add_exception_handler(ConditionError, bad_conditions)
    app.add_exception_handler(StarletteHTTPException, http_error)
