"""TRACING=otel: a server span per webhook and a client span per Jira and Flashduty attempt,
with no credential in any attribute (the SDK's in-memory exporter, from the test extra)."""
from __future__ import annotations

import pytest

from e2e.conftest import make_stack
from jira_sync.observe import tracing

sdk = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")


@pytest.fixture
def spans():  # type: ignore[no-untyped-def]
    exporter = sdk.InMemorySpanExporter()
    assert tracing.configure("otel", exporter=exporter)
    yield exporter
    tracing.configure("off")


def test_redact_url_drops_user_info_and_secret_query_values() -> None:
    assert tracing.redact_url("https://u:p@jira.example.com/rest?x=1") == "https://jira.example.com/rest?x=1"
    assert tracing.redact_url("https://api.flashcat.cloud/incident/feed?app_key=abc123&p=1") == \
        "https://api.flashcat.cloud/incident/feed?app_key=REDACTED&p=1"
    assert tracing.redact_url("http://h/webhooks/flashduty/1?secret=s3cret") == "http://h/webhooks/flashduty/1?secret=REDACTED"


def test_tracing_off_costs_nothing_and_makes_no_span() -> None:
    tracing.configure("off")
    assert not tracing.enabled()
    with tracing.client_span("GET", "http://x/?app_key=k") as span:
        assert span is None


def test_spans_for_a_webhook_and_each_jira_and_flashduty_attempt(spans, settings) -> None:  # type: ignore[no-untyped-def]
    stack, stop = make_stack(settings, "cloud")
    try:
        _, hook = stack.integration()
        p = stack.flashduty.open_incident()
        stack.send(hook, p)
        stack.synced()
        stack.send(hook, stack.flashduty.add_comment(p["incident"]["incident_id"], "seen"))
        stack.synced()
    finally:
        stop()
    finished = spans.get_finished_spans()
    servers = [s for s in finished if s.name == "POST /webhooks/flashduty/{integration_id}"]
    assert len(servers) == 2 and all(s.attributes["http.response.status_code"] == 200 for s in servers)
    clients = [s for s in finished if s.kind.name == "CLIENT"]
    jira = [s for s in clients if "/rest/api/" in s.attributes["url.full"]]
    assert len(jira) == len(stack.jira.request_log)  # one span per attempt
    assert any(s.attributes["url.full"].endswith("/rest/api/3/issue") and s.name == "POST" for s in jira)
    feed = [s for s in clients if "/incident/feed" in s.attributes["url.full"]]
    assert feed and all("app_key=REDACTED" in s.attributes["url.full"] for s in feed)
    secrets = [stack.flashduty.app_key, "cloud-token", hook.headers["X-Jira-Sync-Secret"]]
    for span in finished:
        shown = f"{span.name} {dict(span.attributes)} {[e.attributes for e in span.events]}"
        assert not any(secret in shown for secret in secrets), span.name
