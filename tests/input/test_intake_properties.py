"""Property: every webhook delivery, however hostile, is either refused with a 400 that says
why (the parser's own message), or stored completely: 200, and the API, the console and the
worker read back exactly what the parser made of it. On SQLite and PostgreSQL.

CI runs JIRA_SYNC_FUZZ_EXAMPLES examples (default 150) per store; `bench/fuzz.py` runs
the long version against a served process."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from e2e.conftest import wait_until
from input.conftest import Intake
from support.hostile import deliveries

EXAMPLES = int(os.environ.get("JIRA_SYNC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


@FUZZ
@given(raw=deliveries())
def test_every_delivery_is_refused_by_name_or_stored_completely(intake: Intake, raw: bytes):
    assert intake.model.check(intake.api.http, raw, intake.console) == []


def test_after_the_fuzz_the_worker_has_settled_every_incident_and_nothing_logged_a_traceback(intake: Intake):
    stats = wait_until(lambda: (s := intake.api.http.get("/api/queue").json())["waiting"] == 0
                       and s["in_flight"] == 0 and s, timeout=60, what="the queue to drain")
    assert stats["all_synced"] or stats["failed"] >= 0
    failed = intake.api.http.get(f"/api/integrations/{intake.integration_id}/incidents",
                                 params={"state": "failed", "limit": 500}).json()["items"]
    for item in failed:  # only Jira's own refusals, never our own encoding errors retried forever
        assert "(HTTP 4" in (item["last_error"] or ""), item
    assert intake.log.tracebacks() == []
    assert intake.api.http.get("/healthz").json()["status"] == "ok"
