"""The ASGI app: webhooks, REST API, console, health. `create_app(settings)` is the only way in."""
from __future__ import annotations

import contextlib
import logging
from typing import Any, AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from .. import console
from ..app.models import Health
from ..bootstrap import prepare_process, start_runtime
from ..settings import Settings
from . import api, api_jira, api_recovery, api_two_way, docs, errors, metrics, webhooks
from .context import RequestIds
from .input import BodyDeadline

log = logging.getLogger(__name__)


class JiraSyncApp(FastAPI):
    """FastAPI, with webhook deliveries taken before any of its per-request machinery
    (telemetry checks, error and body-limit middleware, routing): `webhooks.WebhookFastPath`
    explains why. When proxy headers must be applied first, the fast path sits behind them as a
    middleware instead (`fast_first` is False)."""

    fast_first = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.fast_first and (integration_id := webhooks.webhook_target(scope)) is not None:
            scope["app"] = self
            return await webhooks.serve_webhook(integration_id, scope, receive, send)
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings, *, run_worker: bool = True, jira_transport: httpx.AsyncBaseTransport | None = None,
    flashduty_transport: httpx.AsyncBaseTransport | None = None, owns_process: bool = False,
) -> FastAPI:
    """`jira_transport`, `flashduty_transport`: tests reach in-process Jira and Flashduty
    emulators through them (no socket). `owns_process`: the app is its process's only one
    (`jira-sync serve`), so it may open its connections ahead and tune the process's garbage
    collector (`bootstrap.prepare_process`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings, jira_transport=jira_transport, flashduty_transport=flashduty_transport)
        app.state.runtime = runtime
        if owns_process:
            await prepare_process(runtime, run_worker=run_worker)
        try:
            async with runtime.background(run_worker=run_worker), runtime.integrations.announced():
                yield
        finally:
            await runtime.aclose()

    app = JiraSyncApp(
        title="jira-sync",
        version="0.1.0",
        description="Keeps Jira issues in step with Flashduty incidents. The REST API needs "
        "`Authorization: Bearer <admin token>`; webhooks need the integration's secret.",
        lifespan=lifespan,
        docs_url=None,  # served below from files in the package: /docs works offline
        redoc_url=None,
    )
    docs.install(app)
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout)
    # outside BodyDeadline (it keeps its own), inside the proxy headers: webhooks skip FastAPI's routing
    # (with no proxy headers to apply, JiraSyncApp takes them even before this)
    app.add_middleware(webhooks.WebhookFastPath)
    if settings.trusted_proxy_list:  # the client address from X-Forwarded-For, only from these
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
        app.fast_first = False  # webhooks log the client's address: the forwarded one
    app.add_middleware(RequestIds)  # outermost: every line of a request, the body deadline's too
    app.include_router(webhooks.router)
    app.include_router(api.router)
    app.include_router(api_jira.router)
    app.include_router(api_recovery.router)
    app.include_router(metrics.router)
    app.include_router(api_two_way.router)
    errors.install(app, console.error_page)
    console.install(app)

    @app.get("/healthz", tags=["health"], summary="Liveness, database and queue state", response_model=Health,
             responses={503: {"model": Health, "description": "the database is unavailable"}})
    async def healthz(request: Request) -> JSONResponse:
        rt = request.app.state.runtime
        try:
            stats = await rt.incidents.queue_stats()
            recovery = await rt.recovery.summary()
        except Exception as exc:  # the database is what we need to be healthy
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "unhealthy", "database": "unavailable"}, status_code=503)
        body: dict[str, Any] = {"status": "ok", "database": "ok", "queue": stats.model_dump(), "recovery": recovery}
        return JSONResponse(body)

    return app
