"""REST API: recovery of missed webhooks per integration (admin token required)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ..app.models import RowId
from ..app.recovery import RecoveryView
from .api import ERROR_ANSWERS, require_admin, runtime
from .input import StrictJsonRoute, refuse_unreadable_json

router = APIRouter(prefix="/api", dependencies=[Depends(require_admin), Depends(refuse_unreadable_json)],
                   tags=["recovery"], route_class=StrictJsonRoute, responses=ERROR_ANSWERS)


@router.get("/integrations/{integration_id}/recovery")
async def recovery_status(request: Request, integration_id: RowId) -> RecoveryView:
    """The last recovery run: when, what it found in Flashduty and what it recovered."""
    return await runtime(request).recovery.status(integration_id)


@router.post("/integrations/{integration_id}/recovery/run")
async def recovery_run(request: Request, integration_id: RowId) -> RecoveryView:
    """Run recovery now instead of at the next interval (409 when it cannot run)."""
    return await runtime(request).recovery.run_now(integration_id)
