"""The REST API under /api (admin token required). Routes parse, call one service, answer."""
from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..app.incidents import Incidents
from ..app.integrations import Integrations
from ..app.models import (
    CheckResult,
    ErrorAnswer,
    IncidentDetail,
    IncidentPage,
    IncidentView,
    IntegrationView,
    QueueStatsView,
    RetriedView,
    RowId,
    SavedIntegration,
    SiteStateView,
    WebhookInfo,
)
from ..bootstrap import Runtime
from ..domain.integration import IntegrationConfig
from .input import StrictJsonRoute, refuse_unreadable_json

bearer = HTTPBearer(auto_error=False)


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def require_admin(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    expected = runtime(request).settings.admin_token.get_secret_value()
    if creds is None or not hmac.compare_digest(creds.credentials.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong admin token", headers={"WWW-Authenticate": "Bearer"})


def _integrations(request: Request) -> Integrations:
    return runtime(request).integrations


def _incidents(request: Request) -> Incidents:
    return runtime(request).incidents


IntegrationsDep = Annotated[Integrations, Depends(_integrations)]
IncidentsDep = Annotated[Incidents, Depends(_incidents)]
# every status an /api route can answer besides its 2xx, so that the OpenAPI document is
# complete (schemathesis checks answers against it)
ERROR_ANSWERS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer, "description": what} for code, what in (
        (400, "the request could not be read"), (401, "missing or wrong admin token"), (404, "no such integration or incident"),
        (408, "the body did not arrive in time"), (409, "not possible in this state"),
        (422, "invalid input: says which field and why"), (502, "Jira failed: `problem` says how"),
    )
}
router = APIRouter(prefix="/api", dependencies=[Depends(require_admin), Depends(refuse_unreadable_json)],
                   route_class=StrictJsonRoute, responses=ERROR_ANSWERS)


# ------------------------------------------------------------------ integrations
@router.get("/integrations", tags=["integrations"])
async def list_integrations(svc: IntegrationsDep) -> list[IntegrationView]:
    return await svc.list()


@router.post("/integrations", status_code=201, tags=["integrations"])
async def create_integration(svc: IntegrationsDep, config: IntegrationConfig, check: bool = True) -> SavedIntegration:
    """Create an integration. The answer carries the webhook secret, once."""
    return await svc.create(config, check=check)


@router.get("/integrations/{integration_id}", tags=["integrations"])
async def get_integration(svc: IntegrationsDep, integration_id: RowId) -> IntegrationView:
    return await svc.view(integration_id)


@router.put("/integrations/{integration_id}", tags=["integrations"])
async def update_integration(
    svc: IntegrationsDep, integration_id: RowId, changes: Annotated[dict[str, Any], Body()], check: bool = True
) -> SavedIntegration:
    """Replace some or all of the configuration. Secrets left out keep their stored values."""
    return await svc.update(integration_id, changes, check=check)


@router.delete("/integrations/{integration_id}", status_code=204, tags=["integrations"])
async def delete_integration(svc: IntegrationsDep, integration_id: RowId) -> None:
    await svc.delete(integration_id)


@router.post("/integrations/{integration_id}/enable", tags=["integrations"])
async def enable_integration(svc: IntegrationsDep, integration_id: RowId) -> IntegrationView:
    return await svc.set_enabled(integration_id, True)


@router.post("/integrations/{integration_id}/disable", tags=["integrations"])
async def disable_integration(svc: IntegrationsDep, integration_id: RowId) -> IntegrationView:
    return await svc.set_enabled(integration_id, False)


@router.post("/integrations/{integration_id}/check", tags=["integrations"])
async def check_integration(svc: IntegrationsDep, integration_id: RowId) -> CheckResult:
    """Check the stored configuration against Jira again (and refresh the cached metadata)."""
    return CheckResult(**(await svc.recheck(integration_id)).as_dict())


@router.post("/integrations/{integration_id}/webhook-secret", tags=["integrations"])
async def rotate_webhook_secret(svc: IntegrationsDep, integration_id: RowId) -> WebhookInfo:
    """Generate a new webhook secret. The old one is still accepted for SECRET_GRACE_HOURS (24 h by default):
    `previous_secret_valid_until` says until when."""
    return await svc.rotate_webhook_secret(integration_id)


# ------------------------------------------------------------------ incidents
@router.get("/integrations/{integration_id}/incidents", tags=["incidents"])
async def list_incidents(
    svc: IncidentsDep,
    integration_id: RowId,
    state: Literal["idle", "pending", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[RowId | None, Query(description="cursor: `next_before` of the previous page")] = None,
) -> IncidentPage:
    """Newest first, keyset-paginated (fast at any depth)."""
    return await svc.page(integration_id, state=state, before=before, limit=limit)


@router.get("/integrations/{integration_id}/incidents/{incident_id:path}", tags=["incidents"])
async def get_incident(svc: IncidentsDep, integration_id: RowId, incident_id: str) -> IncidentDetail:
    """The Jira link, the events received and every Jira request with its answer."""
    return await svc.detail(integration_id, incident_id)


@router.post("/integrations/{integration_id}/incidents/{incident_id:path}/sync", tags=["incidents"])
async def sync_incident(svc: IncidentsDep, integration_id: RowId, incident_id: str) -> IncidentView:
    """The manual trigger: sync this incident to Jira now (its latest snapshot)."""
    return await svc.request_sync(integration_id, incident_id)


@router.post("/integrations/{integration_id}/retry-failed", tags=["incidents"])
async def retry_all_failed(svc: IncidentsDep, integration_id: RowId) -> RetriedView:
    """Queue every failed incident of the integration again (after fixing what their errors say)."""
    return await svc.retry_all_failed(integration_id)


@router.post("/integrations/{integration_id}/incidents/{incident_id:path}/retry", tags=["incidents"])
async def retry_incident(svc: IncidentsDep, integration_id: RowId, incident_id: str) -> IncidentView:
    """Try a failed incident again (after fixing what its last_error says)."""
    return await svc.retry(integration_id, incident_id)


@router.post("/integrations/{integration_id}/incidents/{incident_id:path}/new-issue", tags=["incidents"])
async def new_issue_for_incident(svc: IncidentsDep, integration_id: RowId, incident_id: str) -> IncidentView:
    """The linked issue was deleted in Jira (the incident failed saying so): create a fresh
    issue for the incident, with its comments. 409 unless the issue was found deleted."""
    return await svc.new_issue(integration_id, incident_id)


# ------------------------------------------------------------------ queue
@router.get("/queue", tags=["queue"])
async def queue_status(svc: IncidentsDep, integration_id: RowId | None = None) -> QueueStatsView:
    return await svc.queue_stats(integration_id)


@router.get("/sites", tags=["queue"])
async def jira_sites(request: Request) -> list[SiteStateView]:
    """Each Jira site the integrations use: ok, or paused (unreachable and probed, credentials
    refused, rate limited) with why, since when and the next probe."""
    return await runtime(request).jira_sites.list()
