"""The web console under /console: sign-in, the two setup steps, integrations and incidents.

`install(app)` adds its routes, static files and sign-in/CSRF handling to the service's
FastAPI app; `error_page` is how the app shows an error on a console page. The pages call
the application services (`app/`), the same ones the REST API calls.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from . import pages, setup, two_way
from .auth import CsrfRejected, SignInRequired, UnstorableForm
from .templating import HERE, render


def error_page(request: Request, status: int, message: str) -> Response:
    heading = "Not found" if status == 404 else "Cannot do that"
    return render(request, "error.html", status, heading=heading, message=message)


def install(app: FastAPI) -> None:
    # setup first: its fixed paths (/integrations/new, /integrations/setup) would otherwise
    # be taken for /integrations/{integration_id} and refused as not a number
    app.include_router(setup.router)
    app.include_router(pages.router)
    app.include_router(two_way.router)
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

    async def unstorable_form(request: Request, exc: Any) -> Response:
        return render(request, "error.html", 400, heading="Cannot do that",
                      message="A field holds a NUL character, which cannot be stored. Nothing was changed.",
                      back=request.headers.get("referer"))

    app.add_exception_handler(UnstorableForm, unstorable_form)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
