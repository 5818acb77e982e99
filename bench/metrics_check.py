"""After the ingest runs: does the service's /metrics add up to what the bench sent?

One scrape (the admin token opens it), compared with the bench's own counts: every delivery
it sent to an integration counted as accepted (each has a fresh event id), none rejected,
and one successful create_issue per incident synced. Printed, never asserted
(tests/observe/test_bench_scrape.py asserts the same on a small load).
"""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from service_api import ServiceApi, Webhook


def integration_of(hook: Webhook) -> str:
    return hook.path.rstrip("/").rsplit("/", 1)[-1]


def metrics_check(api: ServiceApi, sent: dict[str, int], synced: int) -> str:
    """`sent`: deliveries per integration id; `synced`: incidents the worker created issues for."""
    r = api.http.get("/metrics")
    if r.status_code != 200:
        return f"/metrics answered {r.status_code}"
    accepted: dict[str, float] = {}
    rejected = creates = 0.0
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name == "jira_sync_webhooks_total" and s.labels["outcome"] == "accepted":
                accepted[s.labels["integration"]] = accepted.get(s.labels["integration"], 0) + s.value
            elif s.name == "jira_sync_webhooks_total" and s.labels["outcome"] == "rejected":
                rejected += s.value
            elif (s.name == "jira_sync_jira_requests_total" and s.labels["operation"] == "create_issue"
                  and s.labels["status_class"] == "2xx"):
                creates += s.value
    wrong = [f"integration {i}: {accepted.get(i, 0):,.0f} accepted of {n:,} sent"
             for i, n in sent.items() if accepted.get(i, 0) != n]
    if rejected:
        wrong.append(f"{rejected:,.0f} rejected")
    if creates != synced:
        wrong.append(f"{creates:,.0f} creates counted for {synced:,} synced incidents")
    if wrong:
        return "metrics MISMATCH: " + "; ".join(wrong)
    return (f"metrics add up: {sum(sent.values()):,} webhooks accepted, {creates:,.0f} issues created "
            f"({r.headers.get('content-length', len(r.content))} bytes scraped)")
