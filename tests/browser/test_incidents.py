"""Watching incidents in the console: the list fills itself as webhooks arrive, and a failed
sync is retried from the incident page."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from e2e.conftest import Stack

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page

Shot = Callable[["Page", str], "Path"]
CREATE = r"/rest/api/\d/issue$"


def test_webhook_incident_appears_with_its_jira_link(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    integration_id, sender = stack.integration()
    page.goto(f"/console/integrations/{integration_id}")
    incidents = page.locator("#incidents")
    expect(incidents).to_contain_text("No event received yet")
    shot(page, "01-integration-no-incident")
    page.evaluate("window.__sameDocument = true")  # gone if the page were loaded again

    payload = stack.flashduty.open_incident(title="Disk full on db-02", incident_severity="Critical")
    incident_id = payload["incident"]["incident_id"]
    stack.send(sender, payload)

    # the list refreshes itself (every 5 s): the row appears with the Jira issue's link
    row = incidents.locator("tbody tr", has_text="Disk full on db-02")
    link = row.locator("td[data-label='Jira issue'] a")
    expect(link).to_have_attribute("href", re.compile(r"/browse/[A-Z]+-\d+$"), timeout=20_000)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded instead of refreshing the list"
    issue = stack.issue_for(incident_id)
    expect(link).to_have_text(issue.key)
    href = link.get_attribute("href") or ""
    assert href.endswith(f"/browse/{issue.key}"), href
    assert href.startswith(stack.jira_url), href
    expect(link).to_have_attribute("target", "_blank")
    expect(row.locator("td[data-label='Sync']")).to_contain_text("in step")
    expect(row.locator("td[data-label='Jira status · priority']")).to_contain_text("Highest")
    shot(page, "02-integration-with-incident")

    row.get_by_role("link", name="Disk full on db-02").click()
    page.wait_for_url(re.compile(rf"/incidents/{incident_id}$"))
    expect(page.get_by_role("heading", name="Disk full on db-02")).to_be_visible()
    expect(page.locator("#incident-state dd a", has_text=issue.key)).to_have_attribute(
        "href", re.compile(rf"/browse/{issue.key}$"))
    expect(page.locator(".timeline")).to_contain_text("i_new")
    shot(page, "03-incident")


@pytest.mark.browser_settings(give_up_hours=1 / 3600)  # a Jira error fails the incident after 1 s
def test_failed_sync_is_retried_from_the_incident_page(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    integration_id, sender = stack.integration()
    stack.jira.faults.add(method="POST", path=CREATE, kind="500", times=None)  # until cleared
    payload = stack.flashduty.open_incident(title="Payment API 5xx")
    incident_id = payload["incident"]["incident_id"]
    stack.send(sender, payload)

    page.goto(f"/console/integrations/{integration_id}/incidents/{quote(incident_id, safe='')}")
    state = page.locator("#incident-state")
    # the page refreshes itself until the sync has failed
    expect(state.locator(".badge.bad")).to_have_text("failed", timeout=20_000)
    expect(state.locator(".error-text")).to_contain_text("500")
    expect(state).to_contain_text("none yet")
    expect(page.locator(".timeline li.exchange.failed").first).to_contain_text("POST")
    assert not stack.jira.issues
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    shot(page, "01-failed")

    stack.jira.faults.clear()  # Jira is well again
    retry.click()
    expect(page.locator("p.alert.ok")).to_contain_text("Retry queued")
    link = state.locator("dd a[href*='/browse/']")
    expect(link).to_be_visible(timeout=20_000)
    issue = stack.issue_for(incident_id)  # exactly one issue for the incident
    expect(link).to_have_text(issue.key)
    assert (link.get_attribute("href") or "").endswith(f"/browse/{issue.key}")
    expect(state.locator(".badge.ok")).to_have_text("in step")
    expect(state.locator(".error-text")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    shot(page, "02-retried")
    assert len(stack.jira.issues_with_label(f"flashduty-{incident_id}")) == 1
