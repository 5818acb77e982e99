"""/metrics through the real service: names, types, label sets present at zero, and counters
that add up to what was sent and what Jira was asked."""
from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from prometheus_client.parser import text_string_to_metric_families

from e2e.conftest import make_stack, wait_until
from support import ADMIN_TOKEN

COUNTERS = {
    "jira_sync_webhooks": "counter", "jira_sync_webhooks_rejected": "counter", "jira_sync_jira_requests": "counter",
    "jira_sync_syncs": "counter", "jira_sync_syncs_failed": "counter", "jira_sync_recovery_runs": "counter",
    "jira_sync_recovery_events_recovered": "counter",
    "jira_sync_jira_request_duration_seconds": "histogram", "jira_sync_sync_latency_seconds": "histogram",
    "jira_sync_queue_depth": "gauge", "jira_sync_queue_oldest_waiting_seconds": "gauge",
    "jira_sync_incidents_failed": "gauge", "jira_sync_jira_site_paused": "gauge", "jira_sync_build_info": "gauge",
}


def scrape(http, token: str = ADMIN_TOKEN) -> dict[str, dict[tuple, float]]:  # type: ignore[no-untyped-def,type-arg]
    """{sample name: {sorted label items: value}}, after checking every family's type."""
    r = http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple, float]] = {}  # type: ignore[type-arg]
    types = {}
    for family in text_string_to_metric_families(r.text):
        types[family.name] = family.type
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    for name, kind in COUNTERS.items():
        assert types.get(name) == kind, (name, types.get(name))
    return samples


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    """The sum over every series of `name` whose labels include `labels`."""
    return sum(v for key, v in samples.get(name, {}).items() if set(labels.items()) <= set(key))


@pytest.fixture
def cloud(settings):  # type: ignore[no-untyped-def]
    stack, stop = make_stack(settings, "cloud")
    yield stack
    stop()


def test_metrics_need_a_token(cloud) -> None:  # type: ignore[no-untyped-def]
    assert cloud.http.get("/metrics").status_code == 401
    assert cloud.http.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401


def test_label_sets_exist_at_zero_before_any_event(cloud) -> None:  # type: ignore[no-untyped-def]
    iid, _ = cloud.integration()
    s = scrape(cloud.http)
    i = str(iid)
    for outcome in ("accepted", "duplicate", "rejected"):
        assert s["jira_sync_webhooks_total"][(("integration", i), ("outcome", outcome))] == 0
    for reason in ("clientError", "serverError", "authError", "rateLimited", "timeout", "other"):
        assert s["jira_sync_syncs_failed_total"][(("integration", i), ("reason", reason))] == 0
    assert s["jira_sync_queue_depth"][(("integration", i),)] == 0
    assert s["jira_sync_incidents_failed"][(("integration", i),)] == 0
    site = cloud.jira_url.rstrip("/").lower()
    assert s["jira_sync_jira_site_paused"][(("reason", "unreachable"), ("site", site))] == 0
    assert value(s, "jira_sync_jira_requests_total", site=site, operation="create_issue", status_class="5xx") == 0
    assert value(s, "jira_sync_build_info") == 1


def test_counters_add_up_to_what_was_sent(cloud) -> None:  # type: ignore[no-untyped-def]
    iid, hook = cloud.integration()
    i = str(iid)
    payloads = [cloud.flashduty.open_incident() for _ in range(5)]
    for p in payloads:
        cloud.send(hook, p)
    cloud.send(hook, payloads[0])  # a redelivery
    refused = cloud.http.post(f"/webhooks/flashduty/{iid}", json=payloads[1], headers={"X-Jira-Sync-Secret": "nope"})
    assert refused.status_code == 401
    assert cloud.http.post("/webhooks/flashduty/999999", json=payloads[1]).status_code == 401
    secret = {"X-Jira-Sync-Secret": hook.headers["X-Jira-Sync-Secret"], "Content-Type": "application/json"}
    assert cloud.http.post(f"/webhooks/flashduty/{iid}", content=b"{}", headers=secret).status_code == 400
    assert cloud.http.post(f"/webhooks/flashduty/{iid}", content=b"x", headers={**secret, "Content-Type": "text/plain"}).status_code == 415
    assert cloud.http.post("/webhooks/flashduty/424242", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    cloud.synced()
    s = scrape(cloud.http)
    assert value(s, "jira_sync_webhooks_total", integration=i, outcome="accepted") == 5
    assert value(s, "jira_sync_webhooks_total", integration=i, outcome="duplicate") == 1
    assert value(s, "jira_sync_webhooks_rejected_total", integration=i, reason="unauthorized") == 1
    # an id no integration has is counted, under one label for all such ids
    assert value(s, "jira_sync_webhooks_rejected_total", integration="unknown", reason="unauthorized") == 1
    assert value(s, "jira_sync_webhooks_rejected_total", integration=i, reason="bad_payload") == 1
    assert value(s, "jira_sync_webhooks_rejected_total", integration=i, reason="unsupported_media_type") == 1
    assert value(s, "jira_sync_webhooks_rejected_total", integration="unknown", reason="unsupported_media_type") == 1
    assert value(s, "jira_sync_webhooks_total", integration=i, outcome="rejected") == 3
    assert not any(("integration", "999999") in key or ("integration", "424242") in key
                   for key in s["jira_sync_webhooks_total"])
    site = cloud.jira_url.rstrip("/").lower()
    creates = cloud.jira.count_requests("POST", r"/rest/api/\d/issue$")
    assert creates == 5
    assert value(s, "jira_sync_jira_requests_total", site=site, operation="create_issue", status_class="2xx") == 5
    assert value(s, "jira_sync_jira_request_duration_seconds_count", site=site, operation="create_issue") == 5
    # every request the emulator saw was counted once (the check at save time included)
    assert value(s, "jira_sync_jira_requests_total", site=site) == len(cloud.jira.request_log)
    assert value(s, "jira_sync_syncs_total", integration=i) == 5
    assert value(s, "jira_sync_syncs_failed_total", integration=i) == 0
    assert value(s, "jira_sync_sync_latency_seconds_count", integration=i) == 5
    assert value(s, "jira_sync_queue_depth", integration=i) == 0
    # no incident or issue id anywhere in a label
    text = cloud.http.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text
    for p in payloads:
        assert p["incident"]["incident_id"] not in text
    assert "OPS-1" not in text


def test_failed_syncs_are_counted_by_reason(cloud) -> None:  # type: ignore[no-untyped-def]
    iid, hook = cloud.integration()
    cloud.jira.faults.add(kind="500", method="POST", path=r"/rest/api/3/issue$", times=1)
    cloud.jira.faults.add(kind="429", method="POST", path=r"/rest/api/3/issue$", times=1, retry_after=0)
    cloud.send(hook, cloud.flashduty.open_incident())
    cloud.synced(timeout=30)
    s = scrape(cloud.http)
    i, site = str(iid), cloud.jira_url.rstrip("/").lower()
    assert value(s, "jira_sync_syncs_failed_total", integration=i, reason="serverError") == 1
    assert value(s, "jira_sync_syncs_failed_total", integration=i, reason="rateLimited") == 1
    assert value(s, "jira_sync_syncs_failed_total", integration=i) == 2
    assert value(s, "jira_sync_jira_requests_total", site=site, operation="create_issue", status_class="5xx") == 1
    assert value(s, "jira_sync_jira_requests_total", site=site, operation="create_issue", status_class="4xx") == 1
    assert value(s, "jira_sync_jira_requests_total", site=site, operation="create_issue", status_class="2xx") == 1
    assert value(s, "jira_sync_syncs_total", integration=i) >= 3
    assert value(s, "jira_sync_incidents_failed", integration=i) == 0


def test_recovery_runs_and_what_they_recovered_are_counted(cloud) -> None:  # type: ignore[no-untyped-def]
    iid, hook = cloud.integration()
    p = cloud.flashduty.open_incident()
    cloud.send(hook, p)
    cloud.synced()
    time.sleep(0.01)
    cloud.flashduty.ack(p["incident"]["incident_id"])  # its webhook never arrives: the sweep finds the change
    wait_until(lambda: value(scrape(cloud.http), "jira_sync_recovery_runs_total", integration=str(iid)) >= 1,
               what="the first recovery run")
    assert cloud.api.post(f"/api/integrations/{iid}/recovery/run").status_code in (200, 202)
    wait_until(lambda: value(scrape(cloud.http), "jira_sync_recovery_events_recovered_total", integration=str(iid),
                             how="sweep") == 1, what="the sweep's recovered event")
    s = scrape(cloud.http)
    assert value(s, "jira_sync_recovery_runs_total", integration=str(iid), outcome="error") == 0
    assert value(s, "jira_sync_recovery_events_recovered_total", integration=str(iid), how="replayed") == 0


def test_the_metrics_token_opens_metrics_and_nothing_else(settings) -> None:  # type: ignore[no-untyped-def]
    settings.metrics_token = SecretStr("metrics-token-0123456789")
    stack, stop = make_stack(settings, "cloud")
    try:
        scrape(stack.http, token="metrics-token-0123456789")
        scrape(stack.http)  # the admin token opens it too
        assert stack.http.get("/api/integrations", headers={"Authorization": "Bearer metrics-token-0123456789"}
                              ).status_code == 401
    finally:
        stop()
