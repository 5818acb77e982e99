"""The bench's load path (bench/payloads.py, bench/loadgen.py: raw HTTP/1.1 over keep-alive
connections, a closed loop) against the real service on a socket, small counts, then one
scrape: the counters add up to what the bench sent and what Jira was asked."""
from __future__ import annotations

import sys
from pathlib import Path

import httpx

from e2e.conftest import make_stack
from observe.test_metrics import scrape, value

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import loadgen  # noqa: E402  (bench/ modules import each other by their bare names)
from payloads import ingest_events, webhook_request  # noqa: E402


def test_a_bench_load_is_counted_exactly(settings) -> None:  # type: ignore[no-untyped-def]
    stack, stop = make_stack(settings, "cloud", over_http=True)
    try:
        # no app key: no recovery sweep, which would find the updates the bench generated and
        # did not send (ingest_events cuts its last block short) and sync them meanwhile
        without_recovery = {"base_url": stack.flashduty_url}
        auto, auto_hook = stack.integration(flashduty=without_recovery)
        manual, manual_hook = stack.integration(trigger="manual", flashduty=without_recovery)
        url = httpx.URL(stack.service.url)
        host, port = url.host, url.port

        def raw(hook, payloads):  # type: ignore[no-untyped-def]
            path = httpx.URL(hook.url).raw_path.decode()
            headers = {k: v for k, v in hook.headers.items() if k.lower() != "content-type"}
            return [webhook_request(host, port, path, headers, p) for p in payloads]

        auto_events, auto_incidents = ingest_events(stack.flashduty, 120)  # 50 opened, 70 updates
        manual_events, _ = ingest_events(stack.flashduty, 60)
        auto_requests, manual_requests = raw(auto_hook, auto_events), raw(manual_hook, manual_events)
        first = loadgen.run(loadgen.closed_loop(host, port, auto_requests + manual_requests, 8))
        again = loadgen.run(loadgen.closed_loop(host, port, auto_requests[:25], 4))  # redeliveries
        assert first.non_200 == 0 and again.non_200 == 0
        stack.synced(timeout=60)
        s = scrape(stack.http)
        jira_requests = len(stack.jira.request_log)
    finally:
        stop()
    a, m = str(auto), str(manual)
    assert value(s, "jira_sync_webhooks_total", integration=a, outcome="accepted") == 120
    assert value(s, "jira_sync_webhooks_total", integration=a, outcome="duplicate") == 25
    assert value(s, "jira_sync_webhooks_total", integration=m, outcome="accepted") == 60
    assert value(s, "jira_sync_webhooks_total", outcome="rejected") == 0
    site = stack.jira_url.rstrip("/").lower()
    # one create per incident the automatic integration saw; the manual one synced nothing
    assert value(s, "jira_sync_jira_requests_total", site=site, operation="create_issue", status_class="2xx") \
        == auto_incidents == 50
    assert value(s, "jira_sync_jira_requests_total", site=site) == jira_requests
    assert value(s, "jira_sync_jira_request_duration_seconds_count", site=site) == jira_requests
    assert len(stack.jira.request_log) == jira_requests  # nothing was still on its way
    assert value(s, "jira_sync_syncs_total", integration=m) == 0
    assert value(s, "jira_sync_syncs_failed_total") == 0
    assert value(s, "jira_sync_sync_latency_seconds_count", integration=a) >= 50
    assert value(s, "jira_sync_queue_depth") == 0 and value(s, "jira_sync_incidents_failed") == 0
