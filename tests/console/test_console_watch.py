"""Watching and acting in the console, without JavaScript: lists, filters, pages, retry, delete,
and what waits for Jira: a paused site (why, since when, next probe), each incident's next
attempt, and retrying every failed incident of an integration with one button."""
from __future__ import annotations

import logging
import re

import pytest

from e2e.conftest import Stack, wait_until
from jira_sync.devtools.fake_jira import FakeJiraServer

from .conftest import Console


@pytest.fixture
def c(cloud_console: Stack):  # type: ignore[no-untyped-def]
    client = Console(cloud_console.service)
    client.sign_in()
    yield client
    client.close()


def _rows(html_text: str) -> list[str]:
    body = html_text.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html_text else ""
    return re.findall(r"<tr class=\"state-[^\"]+\">.*?</tr>", body, re.S)


def test_failed_sync_is_shown_with_jiras_words_and_retried_from_the_page(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    # REQ needs "Customer": saved unchecked without a mapping, creation fails with Jira's 400
    integration_id, hook = cloud_console.integration(check=False, project="REQ", severity_map=None)
    new = cloud_console.flashduty.open_incident(title="disk full on db-02")
    incident_id = new["incident"]["incident_id"]
    cloud_console.send(hook, new)
    wait_until(lambda: cloud_console.api.incident(integration_id, incident_id)["state"] == "failed", what="failed")

    listing = c.get("/console/")
    assert "disk full" not in listing.text and ">1</a>" in listing.text  # the failure count links to the filter
    page = c.get(f"/console/integrations/{integration_id}", params={"state": "failed"})
    rows = _rows(page.text)
    assert len(rows) == 1 and "disk full on db-02" in rows[0] and "failed" in rows[0] and "Customer" in rows[0]
    assert _rows(c.get(f"/console/integrations/{integration_id}", params={"state": "idle"}).text) == []

    page = c.get(f"/console/integrations/{integration_id}/incidents/{incident_id}")
    assert "Retry" in page.text and "Customer is required" in page.text
    assert re.search(r"POST /rest/api/3/issue</code></span>\s*→ <strong>400</strong>", page.text)
    assert "Flashduty event <code>i_new</code>" in page.text
    assert "cloud-token" not in page.text and "Basic " not in page.text  # secrets removed from the timeline

    # fix the configuration, then retry from the page
    cloud_console.api.put(f"/api/integrations/{integration_id}", params={"check": "false"},
                          json={"field_map": [{"source": "incident_id", "target": "customfield_10060"}]})
    r = c.post(f"/console/integrations/{integration_id}/incidents/{incident_id}/retry", {})
    assert r.status_code == 200 and "Retry queued" in r.text
    issue = wait_until(lambda: cloud_console.jira.issues_with_label(f"flashduty-{incident_id}"), what="the issue")
    assert len(issue) == 1
    page = wait_until(lambda: (p := c.get(f"/console/integrations/{integration_id}/incidents/{incident_id}")) and
                      issue[0].key in p.text and p, what="the key on the page")
    assert f'href="{cloud_console.jira_url}/browse/{issue[0].key}"' in page.text
    assert "Retry</button>" not in page.text
    # retrying what is not failed is refused plainly, and changes nothing
    r = c.post(f"/console/integrations/{integration_id}/incidents/{incident_id}/retry", {})
    assert "not in the failed state" in r.text


def test_incident_list_pages_and_filters(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, hook = cloud_console.integration(trigger="manual")  # manual: nothing goes to Jira
    ids = []
    for n in range(57):
        new = cloud_console.flashduty.open_incident(title=f"incident number {n}")
        ids.append(new["incident"]["incident_id"])
        cloud_console.send(hook, new)
    first = c.get(f"/console/integrations/{integration_id}")
    rows = _rows(first.text)
    assert len(rows) == 50 and "incident number 56" in rows[0] and "not triggered" in rows[0]
    older = re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    second = c.get(older)
    rows2 = _rows(second.text)
    assert len(rows2) == 7 and "incident number 7<" not in second.text and "incident number 6<" in rows2[0] and "incident number 0<" in rows2[-1]
    assert 'rel="next"' not in second.text and "« Newest" in second.text
    one = c.get(f"/console/integrations/{integration_id}", params={"q": ids[3]})
    assert len(_rows(one.text)) == 1 and "incident number 3" in one.text
    # the manual trigger from the page
    r = c.post(f"/console/integrations/{integration_id}/incidents/{ids[3]}/sync", {})
    assert "Sync queued" in r.text
    wait_until(lambda: cloud_console.jira.issues_with_label(f"flashduty-{ids[3]}"), what="the manual sync")
    assert len(cloud_console.jira.issues) == 1


def test_delete_asks_first(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, _ = cloud_console.integration()
    page = c.get(f"/console/integrations/{integration_id}/delete")
    assert "Delete “ops-0”?" in page.text and "stay in Jira" in page.text
    assert cloud_console.api.get(f"/api/integrations/{integration_id}").status_code == 200  # asking deleted nothing
    r = c.post(f"/console/integrations/{integration_id}/delete", {})
    assert r.url.path == "/console/" and "deleted" in r.text
    assert cloud_console.api.get(f"/api/integrations/{integration_id}").status_code == 404
    assert c.get(f"/console/integrations/{integration_id}").status_code == 404


def test_new_webhook_secret_from_the_page(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, old_hook = cloud_console.integration()
    c.get(f"/console/integrations/{integration_id}")
    r = c.post(f"/console/integrations/{integration_id}/webhook-secret", {})
    secret = re.search(r'<code id="hook-secret">([^<]+)</code>', r.text).group(1)  # type: ignore[union-attr]
    # the old secret keeps working for SECRET_GRACE_HOURS (24 h), and the page says until when
    assert "keeps working until" in r.text and re.search(r'id="hook-previous">still accepted until \d{4}-', r.text)
    assert old_hook.send(cloud_console.flashduty.open_incident()) == 200
    fresh = cloud_console.service.sender(old_hook.url, {"X-Jira-Sync-Secret": secret})
    try:
        assert fresh.send(cloud_console.flashduty.open_incident()) == 200
    finally:
        fresh.close()
    page = c.get(f"/console/integrations/{integration_id}")
    assert 'id="hook-previous">still accepted until' in page.text


def test_without_grace_the_old_secret_stops_at_once(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    cloud_console.service.runtime.settings.secret_grace_hours = 0
    integration_id, old_hook = cloud_console.integration()
    c.get(f"/console/integrations/{integration_id}")
    r = c.post(f"/console/integrations/{integration_id}/webhook-secret", {})
    assert "no longer works" in r.text and "hook-previous" not in r.text
    assert old_hook.send(cloud_console.flashduty.open_incident()) == 401


def test_pages_say_what_flashduty_cannot_reach_and_what_is_skipped(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    settings = cloud_console.service.runtime.settings
    settings.public_url, settings.port = "", 8090  # `serve --port 8090` without PUBLIC_URL
    cfg = cloud_console.config(name="no-key")
    cfg["flashduty"] = {"base_url": cloud_console.flashduty_url}
    created = cloud_console.api.create_integration(cfg)
    page = c.get(f"/console/integrations/{created['id']}")
    assert "http://127.0.0.1:8090/webhooks/flashduty/" in page.text
    assert 'id="hook-reachability"' in page.text and "JIRA_SYNC_PUBLIC_URL" in page.text
    assert "no Flashduty app key" in page.text and "flashduty.app_key" in page.text

    opened = cloud_console.flashduty.open_incident()
    incident_id = opened["incident"]["incident_id"]
    headers = {created["webhook"]["header"]: created["webhook"]["secret"]}
    http = cloud_console.service.client()
    try:
        for payload in (opened, cloud_console.flashduty.add_comment(incident_id, "disk full")):
            assert http.post(f"/webhooks/flashduty/{created['id']}", json=payload, headers=headers).status_code == 200
    finally:
        http.close()
    timeline = c.get(f"/console/integrations/{created['id']}/incidents/{incident_id}")
    assert "comment skipped" in timeline.text and "flashduty.app_key" in timeline.text

    settings.public_url = "https://hooks.example.com"
    page = c.get(f"/console/integrations/{created['id']}")
    assert "https://hooks.example.com/webhooks/flashduty/" in page.text and "hook-reachability" not in page.text


def test_links_from_webhooks_are_only_ever_http(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, hook = cloud_console.integration(trigger="manual")
    new = cloud_console.flashduty.open_incident(title="<script>alert(1)</script>", detail_url="javascript:alert(1)")
    cloud_console.send(hook, new)
    page = c.get(f"/console/integrations/{integration_id}/incidents/{new['incident']['incident_id']}")
    assert "javascript:" not in page.text and "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # shown, as text
    listing = c.get(f"/console/integrations/{integration_id}")
    assert "<script>alert" not in listing.text


def test_a_deleted_issue_is_said_plainly_and_a_new_one_made_from_the_page(c, cloud_console: Stack, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO, logger="jira_sync")
    integration_id, hook = cloud_console.integration()
    fd = cloud_console.flashduty
    new = fd.open_incident(title="cpu hot on web-3")
    incident_id = new["incident"]["incident_id"]
    cloud_console.send(hook, new)
    cloud_console.synced()
    [old] = cloud_console.jira.issues_with_label(f"flashduty-{incident_id}")
    page_url = f"/console/integrations/{integration_id}/incidents/{incident_id}"
    assert "Create a new issue" not in c.get(page_url).text  # only once it is found deleted
    cloud_console.jira.delete_issue(old.key)
    cloud_console.send(hook, fd.ack(incident_id))
    # the link is marked deleted a moment before the failure (with its words) is recorded
    said = f"{old.key} was deleted in Jira"
    page = wait_until(lambda: (p := c.get(page_url)) and said in p.text and p, what="the page to say so")
    assert "Create a new issue</button>" in page.text

    r = c.post(f"{page_url}/new-issue", {})
    assert r.status_code == 200 and "New issue queued" in r.text
    [issue] = wait_until(lambda: cloud_console.jira.issues_with_label(f"flashduty-{incident_id}"), what="the new issue")
    assert issue.key != old.key
    page = wait_until(lambda: (p := c.get(page_url)) and issue.key in p.text and p, what="the new key on the page")
    assert "Create a new issue</button>" not in page.text
    assert f"console: admin asked for a new Jira issue for incident {incident_id}" in caplog.text
    r = c.post(f"{page_url}/new-issue", {})  # again: refused plainly, nothing made
    assert "has not been found deleted" in r.text
    assert len(cloud_console.jira.issues_with_label(f"flashduty-{incident_id}")) == 1


def test_retry_all_failed_from_the_integration_page(c, cloud_console: Stack, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="jira_sync")
    integration_id, hook = cloud_console.integration(check=False, project="REQ", severity_map=None)
    for _ in range(3):
        cloud_console.send(hook, cloud_console.flashduty.open_incident())
    wait_until(lambda: cloud_console.api.get("/api/queue").json()["failed"] == 3, what="three failed")
    page = c.get(f"/console/integrations/{integration_id}")
    assert "Retry all failed</button>" in page.text
    cloud_console.api.put(f"/api/integrations/{integration_id}", params={"check": "false"},
                          json={"field_map": [{"source": "incident_id", "target": "customfield_10060"}]})
    r = c.post(f"/console/integrations/{integration_id}/retry-failed", {})
    assert r.status_code == 200 and "3 failed incidents queued again." in r.text
    assert f"console: admin retried all 3 failed incidents of integration {integration_id}" in caplog.text
    cloud_console.synced(timeout=30)
    assert len(cloud_console.jira.issues) == 3
    assert "Retry all failed</button>" not in c.get(f"/console/integrations/{integration_id}").text


def test_a_paused_site_and_the_next_attempt_are_shown(cloud_console_over_http: Stack) -> None:
    cloud_console = cloud_console_over_http
    c = Console(cloud_console.service)
    c.sign_in()
    integration_id, hook = cloud_console.integration()
    page = c.get(f"/console/integrations/{integration_id}")
    assert '<dd id="site-state"><span class="badge ok">sending</span>' in page.text
    assert cloud_console.jira_server is not None
    cloud_console.jira_server.stop()
    back_up = FakeJiraServer(cloud_console.jira, port=int(cloud_console.jira_url.rsplit(":", 1)[1]))
    try:
        cloud_console.send(hook, cloud_console.flashduty.open_incident(title="checkout is down"))
        page = wait_until(lambda: (p := c.get(f"/console/integrations/{integration_id}")) and
                          "Waiting for Jira" in p.text and p, what="the incident waiting for the site")
        site = page.text.split('<dd id="site-state">', 1)[1].split("</dd>", 1)[0]
        assert 'class="badge bad">paused' in site and "Cannot reach" in site
        assert "since " in site and "next probe in" in site
        assert "next attempt in" in page.text  # the waiting incident says when it is tried again
        assert "Jira paused" in c.get("/console/").text
        back_up.start()
        cloud_console.synced(timeout=60)
        page = c.get(f"/console/integrations/{integration_id}")
        assert '<dd id="site-state"><span class="badge ok">sending</span>' in page.text
    finally:
        back_up.stop()
        c.close()
