"""Several `jira-sync worker` processes on one PostgreSQL share the work, never the incident."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from e2e.conftest import make_stack
from support import ADMIN_TOKEN


@pytest.mark.postgres
def test_worker_processes_share_the_queue(settings, database_url) -> None:  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("additional worker processes need PostgreSQL")
    # HTTP only; the workers sync. Over HTTP: the worker processes reach this Jira emulator
    stack, stop = make_stack(settings, "cloud", run_worker=False, over_http=True)
    env = dict(
        os.environ,
        JIRA_SYNC_DATABASE_URL=settings.database_url,
        JIRA_SYNC_SECRET_KEY=settings.secret_key.get_secret_value(),
        JIRA_SYNC_ADMIN_TOKEN=ADMIN_TOKEN,
        JIRA_SYNC_WORKER_CONCURRENCY="4",
    )
    workers = [subprocess.Popen([sys.executable, "-m", "jira_sync", "worker"], env=env) for _ in range(2)]
    try:
        _, hook = stack.integration()
        payloads = [stack.flashduty.open_incident() for _ in range(30)]
        for p in payloads:
            stack.send(hook, p)
        for p in payloads:  # and an update each, racing the creates
            stack.send(hook, stack.flashduty.ack(p["incident"]["incident_id"]))
        stack.synced(timeout=60)
        for p in payloads:
            assert stack.issue_for(p["incident"]["incident_id"]).status_name == "In Progress"
        assert stack.jira.count_requests("POST", r"/rest/api/\d/issue$") == 30
        assert all(w.poll() is None for w in workers)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(15)
            except subprocess.TimeoutExpired:
                w.kill()
        stop()
