"""What a newcomer tripped over in the console (issue 11), in Chromium: the secret after a
refresh, the required-field box as mappings change, errors at their fields, the project
type-ahead, "Check connection" and the channel picker."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from e2e.conftest import CREDENTIALS, Stack

from .test_wizard import choose_project, offered_projects, searched, settled, step1

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page

Shot = Callable[["Page", str], "Path"]


def configure(page: Page, stack: Stack, expect: Any, project: str) -> None:
    page.goto("/console/integrations/new")
    step1(page, stack, CREDENTIALS[stack.flavour]["secret"])
    expect(page.locator("#project")).to_be_visible()
    choose_project(page, expect, project[:2], project)


def test_a_refresh_after_saving_shows_the_secret_again(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    configure(page, stack, expect, "OPS")
    page.fill("#name", "Refresh me")
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("heading", name="Integration saved")).to_be_visible()
    assert re.search(r"/console/integrations/\d+/connect$", page.url), page.url
    secret = page.locator("#hook-secret").inner_text().strip()
    assert len(secret) >= 16
    shot(page, "01-saved")

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.reload()  # a GET: nothing is posted again, and the secret is still there
    expect(page.get_by_role("heading", name="Integration saved")).to_be_visible()
    expect(page.locator("#hook-secret")).to_have_text(secret)
    assert posts == []
    assert [i["name"] for i in stack.api.get("/api/integrations").json()] == ["Refresh me"]
    shot(page, "02-after-refresh")

    page.get_by_role("link", name="Open the integration").click()
    expect(page.locator("#hook-secret")).to_have_count(0)  # the integration's own page never shows it
    expect(page.get_by_role("button", name="Make a new secret")).to_be_visible()
    shot(page, "03-integration")


def test_the_required_field_box_follows_the_mappings(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    configure(page, stack, expect, "REQ")
    page.fill("#name", "Customers")
    warning = page.locator("#required-warning")
    expect(warning).to_contain_text("Customer")
    shot(page, "01-required-unmapped")

    page.get_by_role("button", name="+ Add a field mapping").click()
    expect(page.locator("#fm-0-target")).to_be_visible()
    settled(page, expect)
    page.select_option("#fm-0-source", "incident_id")
    page.select_option("#fm-0-target", "customfield_10060")
    expect(page.locator("#required-ok")).to_be_visible()  # no button pressed, no reload
    expect(warning).to_have_count(0)
    shot(page, "02-mapped-from-the-id")

    page.select_option("#fm-0-source", "label")
    page.fill("#fm-0-name", "customer")
    expect(warning).to_contain_text("filled only from label 'customer'")
    expect(warning.get_by_role("link", name="mapping 1")).to_be_visible()
    page.get_by_role("button", name="Preview the Jira issue").click()
    customer = page.locator("#preview dt:has-text('Customer') + dd")
    expect(customer).to_contain_text("Empty: the incident has no label 'customer'")
    expect(customer).to_contain_text("creating this issue would fail")
    expect(warning).to_be_visible()
    shot(page, "03-label-without-default")

    page.fill("#fm-0-default", "unknown customer")
    expect(page.locator("#required-ok")).to_be_visible()
    page.get_by_role("button", name="Preview the Jira issue").click()
    expect(customer).to_have_text("unknown customer")
    expect(page.locator("#required-ok")).to_be_visible()  # still right after the preview
    shot(page, "04-label-with-default")
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("heading", name="Integration saved")).to_be_visible()


def test_an_error_is_shown_at_its_field(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    configure(page, stack, expect, "OPS")
    page.fill("#name", "Bad channel")
    page.check("input[name=trigger][value=manual]")  # the conditions are greyed out
    expect(page.locator("#conditions")).to_have_class(re.compile(r"\bdimmed\b"))
    page.fill("#channels", "ops-room")
    error = page.locator("#channels-error")
    expect(error).to_contain_text("channel ids are numbers")  # as it is typed
    expect(page.locator("#channels")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#match-result")).not_to_contain_text("channel ids are numbers")
    shot(page, "01-live")
    # the error sits right under the Channels field
    field, message = page.locator("#channels").bounding_box(), error.bounding_box()
    assert field and message and 0 <= message["y"] - (field["y"] + field["height"]) < 40, (field, message)

    page.get_by_role("button", name="Save integration").click()
    summary = page.locator("#form-errors")
    expect(summary).to_contain_text("channel ids are numbers")
    expect(page.locator("#channels-error")).to_contain_text("channel ids are numbers")
    expect(page.locator("#conditions #channels-error")).to_have_count(0)
    shot(page, "02-after-save")
    summary.get_by_role("link").first.click()  # the summary leads to the field
    expect(page).to_have_url(re.compile(r"#channels$"))

    page.fill("#channels", "1840312623504")
    expect(error).to_have_count(0)
    expect(page.locator("#channels")).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("heading", name="Integration saved")).to_be_visible()


def test_the_project_type_ahead_narrows_as_you_type(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    page.goto("/console/integrations/new")
    step1(page, stack, CREDENTIALS[stack.flavour]["secret"])
    expect(page.locator("#project-matches button")).to_have_count(5)  # every project, before typing
    page.click("#project")
    with page.expect_response(lambda r: r.request.headers.get("x-console-target") == "#project-matches"):
        page.keyboard.type("op", delay=60)
    expect(page.locator("#project-matches button")).to_have_count(2)
    assert sorted(offered_projects(page)) == ["NOPRI · No Priority", "OPS · Operations"]
    shot(page, "01-typed-op")
    assert searched(page, "nothing-like-this").ok
    expect(page.locator("#project-none")).to_be_visible()
    searched(page, "op")
    page.get_by_role("button", name="OPS · Operations").click()
    expect(page.locator("#project-help")).to_contain_text("OPS")
    expect(page.locator("#project-matches button")).to_have_count(0)
    settled(page, expect)
    shot(page, "02-taken")


def test_check_connection_shows_the_result_in_place(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    integration_id, _ = stack.integration()
    page.goto(f"/console/integrations/{integration_id}")
    page.get_by_role("button", name="Check connection").click()
    outcome = page.locator("#check-outcome")
    expect(outcome).to_contain_text("Jira accepts this integration's configuration.")
    assert page.url.endswith(f"/console/integrations/{integration_id}")  # in place: no new page
    shot(page, "01-ok")
    stack.jira.revoke_credentials(CREDENTIALS[stack.flavour]["username"])
    page.get_by_role("button", name="Check connection").click()
    expect(outcome).to_contain_text("The check against Jira failed")
    expect(outcome).to_have_attribute("role", "alert")
    shot(page, "02-failed")


def test_the_channel_picker_offers_channels_by_name(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    integration_id, hook = stack.integration()
    for channel_id, name in ((111, "Payments"), (222, "Checkout"), (333, "Search")):
        stack.send(hook, stack.flashduty.open_incident(channel_id=channel_id, channel_name=name))
    stack.synced()
    page.goto(f"/console/integrations/{integration_id}/edit")
    picker = page.locator("#channel-picker")
    expect(picker.get_by_label(re.compile("Payments"))).to_be_visible()
    page.fill("#channel-filter", "pay")
    expect(picker.get_by_label(re.compile("Checkout"))).to_be_hidden()
    expect(picker.get_by_label(re.compile("Payments"))).to_be_visible()
    picker.get_by_label(re.compile("Payments")).check()
    page.fill("#channels", "444")  # a channel never seen here can still be typed
    shot(page, "01-picked")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".alert.ok")).to_contain_text("Saved.")
    facts = page.locator("#facts")
    expect(facts).to_contain_text("Payments (111), 444")
    assert stack.api.get(f"/api/integrations/{integration_id}").json()["config"]["channels"] == [111, 444]
    shot(page, "02-saved")
