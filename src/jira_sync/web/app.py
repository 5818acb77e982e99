"""The ASGI app: webhooks, REST API, health. `create_app(settings)` is the only way in."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .. import console
from ..bootstrap import start_runtime
from ..console.auth import Accounts
from ..settings import Settings
from ..store import queue
from ..sync.runner import listen
from ..sync.worker import Worker
from . import api, api_jira, webhooks

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, run_worker: bool = True) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings)
        app.state.runtime = runtime
        app.state.accounts = Accounts(runtime.engine, settings.secret_key.get_secret_value())
        stop = asyncio.Event()
        worker_task = None
        if run_worker:
            worker = Worker(runtime.engine, settings, runtime.box, runtime.wake)
            runtime.changes.subscribe(worker.forget)
            worker_task = asyncio.create_task(worker.run(stop), name="worker")
        # other processes' commits (PostgreSQL): their queued work, their integration edits
        listener = await listen(settings.database_url, runtime.wake, runtime.changes) if settings.is_postgres else None
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            if listener is not None:
                await listener.close()
            await runtime.aclose()

    app = FastAPI(
        title="jira-sync",
        version="0.1.0",
        description="Keeps Jira issues in step with Flashduty incidents. The REST API needs "
        "`Authorization: Bearer <admin token>`; webhooks need the integration's secret.",
        lifespan=lifespan,
    )
    app.include_router(webhooks.router)
    app.include_router(api.router)
    app.include_router(api_jira.router)
    for exc_type, handler in api.service_error_handlers().items():
        app.add_exception_handler(exc_type, handler)
    app.add_exception_handler(api_jira.JiraLookupFailed, api_jira.lookup_failed)
    console.install(app)

    @app.get("/healthz", tags=["health"], summary="Liveness, database and queue state")
    async def healthz(request: Request) -> JSONResponse:
        rt = request.app.state.runtime
        try:
            async with rt.engine.connect() as conn:
                stats = await queue.queue_stats(conn)
        except Exception as exc:  # the database is what we need to be healthy
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "unhealthy", "database": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "queue": stats})

    return app
