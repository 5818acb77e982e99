"""`jira-sync serve` and `jira-sync worker` move their start-up heap out of the garbage
collector's sight (bootstrap.settle_heap); an app built by tests leaves the process alone."""
from __future__ import annotations

import gc

from jira_sync.web.app import create_app


async def lifespan_freezes(settings, **kwargs) -> int:  # type: ignore[no-untyped-def]
    gc.unfreeze()
    app = create_app(settings, **kwargs)
    try:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the test process keeps collecting everything


async def test_serve_freezes_what_its_start_up_built(settings) -> None:  # type: ignore[no-untyped-def]
    assert await lifespan_freezes(settings, run_worker=False, owns_process=True) > 10_000


async def test_an_app_that_does_not_own_its_process_leaves_the_collector_alone(settings) -> None:  # type: ignore[no-untyped-def]
    assert await lifespan_freezes(settings, run_worker=False) == 0
