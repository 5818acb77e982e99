"""The console at phone width, and without a mouse."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from console.conftest import ADMIN
from e2e.conftest import Stack

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page

Shot = Callable[["Page", str], "Path"]
PHONE = {"width": 390, "height": 844}
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1 && el.getClientRects().length)
    .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).trim().replace(/\\s+/g, ".") : ""));
  return { scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8) };
}"""


def assert_fits(page: Page, what: str) -> None:
    m = page.evaluate(OVERFLOW)
    assert m["scroll"] <= m["width"] + 1, f"{what}: {m['scroll']} px wide in a {m['width']} px window; too wide: {m['wide']}"


def test_phone_width_has_no_horizontal_overflow(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    integration_id, sender = stack.integration(name="Checkout incidents to Jira")
    payload = stack.flashduty.open_incident(title="Checkout latency above 2 s on web-01")
    incident_id = payload["incident"]["incident_id"]
    stack.send(sender, payload)
    stack.synced()
    stack.issue_for(incident_id)
    page.set_viewport_size(PHONE)

    page.goto("/console/")
    expect(page.locator("#integrations")).to_contain_text("Checkout incidents to Jira")
    shot(page, "01-integrations")
    assert_fits(page, "integrations list")

    page.goto(f"/console/integrations/{integration_id}")
    expect(page.locator("#incidents")).to_contain_text("Checkout latency above 2 s on web-01")
    shot(page, "02-integration")
    assert_fits(page, "integration page")

    page.goto(f"/console/integrations/{integration_id}/edit")
    expect(page.locator("#issue_type")).to_be_enabled()
    shot(page, "03-edit")
    assert_fits(page, "configuration step")

    page.goto(f"/console/integrations/{integration_id}/incidents/{quote(incident_id, safe='')}")
    expect(page.locator("#incident-state dd a[href*='/browse/']")).to_be_visible()
    shot(page, "04-incident")
    assert_fits(page, "incident page")
    page.locator(".timeline li.exchange details").first.locator("summary").click()  # a Jira exchange, opened
    shot(page, "05-incident-exchange-open")
    assert_fits(page, "incident page with a Jira exchange opened")


def test_sign_in_with_the_keyboard(page: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page.goto("/console/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "01-login")

    def focused() -> dict[str, str]:
        return page.evaluate("({id: document.activeElement.id, tag: document.activeElement.tagName,"
                             " type: document.activeElement.type || '', text: document.activeElement.textContent.trim()})")

    assert focused()["id"] == "username", focused()  # the focus is there on arrival (autofocus)
    # before it come only the skip link (shown when focused) and the brand; Tab leads back to it
    page.keyboard.press("Shift+Tab")
    assert focused()["text"] == "jira-sync", focused()
    page.keyboard.press("Shift+Tab")
    assert focused()["text"] == "Skip to content", focused()
    box = page.locator("a.skip").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, f"the focused skip link is off screen: {box}"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused()["id"] == "username", focused()
    page.keyboard.type(ADMIN[0])
    page.keyboard.press("Tab")
    assert focused()["id"] == "password", focused()
    page.keyboard.type(ADMIN[1])
    page.keyboard.press("Tab")
    button = focused()
    assert (button["tag"], button["type"], button["text"]) == ("BUTTON", "submit", "Sign in"), button
    shot(page, "02-submit-focused")
    page.keyboard.press("Shift+Tab")
    assert focused()["id"] == "password", focused()
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url(re.compile(r"/console/$"))
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    shot(page, "03-signed-in")
