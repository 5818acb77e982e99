"""The web console under /console: sign-in, the two setup steps, integrations and incidents.

`install(app)` adds its routes, static files, error pages and security headers to the
service's FastAPI app; the pages call the same services as the REST API.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..sync.admin import NotFound
from ..web.api import service_error_handlers
from . import pages, setup
from .web import HERE, CsrfRejected, SignInRequired, render

def install(app: FastAPI) -> None:
    api_not_found = service_error_handlers()[NotFound]
    # setup first: its fixed paths (/integrations/new, /integrations/setup) would otherwise
    # be taken for /integrations/{integration_id} and refused as not a number
    app.include_router(setup.router)
    app.include_router(pages.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    @app.get("/console", include_in_schema=False)
    async def console_root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    async def sign_in_required(request: Request, exc: Any) -> Response:
        return RedirectResponse(f"/console/login?{urlencode({'next': exc.next_path})}", status_code=303)

    async def csrf_rejected(request: Request, exc: Any) -> Response:
        return render(request, "error.html", 403, heading="Form expired",
                      message="This form was not sent from this console session (or the session changed). "
                      "Nothing was changed: go back, reload the page and try again.",
                      back=request.headers.get("referer"))

    async def not_found(request: Request, exc: Any) -> Response:
        if not request.url.path.startswith("/console"):
            return api_not_found(request, exc)
        return render(request, "error.html", 404, heading="Not found", message=str(exc))

    async def http_error(request: Request, exc: Any) -> Response:
        if not request.url.path.startswith("/console") or request.url.path.startswith("/console/static"):
            return await http_exception_handler(request, exc)
        heading = "Not found" if exc.status_code == 404 else "Cannot do that"
        return render(request, "error.html", exc.status_code, heading=heading, message=str(exc.detail))

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(StarletteHTTPException, http_error)
