"""REST API: two-way sync per integration (admin token required): its state, Jira's webhook
(new secret, registered for you or steps to copy), and whether the app key may write incidents."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ..app.models import AppKeyCheck, JiraWebhookSetup, RowId, TwoWayStatus
from .api import ERROR_ANSWERS, require_admin, runtime
from .input import StrictJsonRoute, refuse_unreadable_json

router = APIRouter(prefix="/api", dependencies=[Depends(require_admin), Depends(refuse_unreadable_json)],
                   tags=["two-way"], route_class=StrictJsonRoute, responses=ERROR_ANSWERS)


@router.get("/integrations/{integration_id}/two-way")
async def two_way_status(request: Request, integration_id: RowId) -> TwoWayStatus:
    """Directions per field, Jira's webhook URL, and the last poll of Jira."""
    return await runtime(request).two_way.status(integration_id)


@router.post("/integrations/{integration_id}/two-way/jira-webhook")
async def jira_webhook_setup(request: Request, integration_id: RowId, register: bool = False) -> JiraWebhookSetup:
    """A new secret for Jira's webhook (shown once; the old one stops working) and the settings
    to enter in Jira. `register=true` registers it in Jira (a Jira administrator's credentials)."""
    return await runtime(request).two_way.new_webhook(integration_id, register=register)


@router.post("/integrations/{integration_id}/two-way/check-app-key")
async def check_app_key(request: Request, integration_id: RowId) -> AppKeyCheck:
    """Whether the Flashduty app key may write incidents (nothing is changed)."""
    return await runtime(request).two_way.check_app_key(integration_id)
