"""`serve` and several `worker` processes started at the same moment on an empty PostgreSQL."""
from __future__ import annotations

import time

import pytest

from e2e.conftest import wait_until
from e2e.processes import free_port, start, stop, up
from support.databases import postgres_url


@pytest.mark.postgres
def test_serve_and_workers_start_together_on_an_empty_database(settings, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("worker processes need PostgreSQL")
    for round_ in range(2):
        postgres_url()  # empty again: every process finds no schema at all
        port = free_port()
        log = tmp_path / f"round-{round_}.log"
        procs = [start(settings, "serve", port=port, log=log)]
        procs += [start(settings, "worker", log=log) for _ in range(3)]
        try:
            wait_until(lambda: up(port) or any(p.poll() is not None for p in procs), timeout=60,
                       what="serve to answer")
            time.sleep(1.0)  # the workers are past their migrations and registered by now
            exited = [p.args[-1] for p in procs if p.poll() is not None]
            assert exited == [], f"round {round_}: {exited} exited:\n{log.read_text()[-3000:]}"
            assert up(port)
        finally:
            stop(*procs)
        assert "duplicate key" not in log.read_text()
