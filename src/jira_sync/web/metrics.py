"""GET /metrics: Prometheus text format, behind a bearer token (METRICS_TOKEN or the admin token)."""
from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
bearer = HTTPBearer(auto_error=False)


def require_scraper(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    settings = request.app.state.runtime.settings
    tokens = [t.get_secret_value() for t in (settings.metrics_token, settings.admin_token) if t is not None]
    given = creds.credentials.encode() if creds is not None else b""
    # every token compared (a list, not any()), in constant time: the answer's timing tells nothing
    matches = [hmac.compare_digest(given, t.encode()) for t in tokens]
    if creds is None or not any(matches):
        raise HTTPException(401, "missing or wrong metrics token", headers={"WWW-Authenticate": "Bearer"})


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
    dependencies=[Depends(require_scraper)],
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"},
               401: {"description": "missing or wrong metrics token"},
               503: {"description": "the database is unavailable (the queue gauges cannot be read)"}},
)
async def metrics(request: Request) -> Response:
    try:
        body, content_type = await request.app.state.runtime.monitoring.exposition()
    except Exception as exc:
        log.warning("metrics: the database is unavailable: %s", exc)
        return PlainTextResponse("the database is unavailable\n", status_code=503)
    return Response(body, media_type=content_type)
