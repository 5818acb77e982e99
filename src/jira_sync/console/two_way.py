"""Console actions of two-way sync: Jira's webhook (registered for you, or settings to copy,
shown once with a new secret) and the check that the Flashduty app key may write incidents."""
from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ..app.accounts import SignedIn
from ..app.errors import AppError
from ..app.models import RowId
from .auth import checked_form, signed_in
from .templating import render, runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
User = Annotated[SignedIn, Depends(signed_in)]


def _back(integration_id: int, notice: str) -> Response:
    return RedirectResponse(f"/console/integrations/{integration_id}?{urlencode({'notice': notice})}", status_code=303)


@router.post("/integrations/{integration_id}/two-way/jira-webhook")
async def jira_webhook(request: Request, user: User, integration_id: RowId) -> Response:
    form = await checked_form(request, user)
    register = form.get("register") == "on"
    rt = runtime(request)
    try:
        setup = await rt.two_way.new_webhook(integration_id, register=register)
    except AppError as exc:
        return _back(integration_id, str(exc))
    log.info("console: %s made a new Jira webhook secret for integration %d%s", user.username, integration_id,
             " and registered the webhook" if setup.registered else "")
    row = await rt.integrations.row(integration_id)
    return render(request, "two_way_webhook.html", it={"id": row.id, "name": row.name}, setup=setup)


@router.post("/integrations/{integration_id}/two-way/check-app-key")
async def check_app_key(request: Request, user: User, integration_id: RowId) -> Response:
    await checked_form(request, user)
    try:
        check = await runtime(request).two_way.check_app_key(integration_id)
    except AppError as exc:
        return _back(integration_id, str(exc))
    who = f" (acting as {check.member})" if check.member else ""
    return _back(integration_id, f"{check.message}{who}.")
