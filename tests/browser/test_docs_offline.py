"""/docs in a browser with no internet: every request to another host is refused (and noted);
Swagger UI still renders the API from the files the service ships."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from e2e.conftest import Stack

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page, Route


def test_docs_render_with_the_internet_cut_off(page: Page, stack: Stack, shot: Callable[[Page, str], Path],
                                               expect: Any) -> None:
    own_host = urlsplit(stack.service.url).netloc
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", offline)
    page.goto(f"{stack.service.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("jira-sync")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    expect(page.get_by_text("/webhooks/flashduty/{integration_id}").first).to_be_visible()
    shot(page, "docs-offline")
    assert elsewhere == []


def test_integration_page_warns_of_an_unreachable_url_and_skipped_comments(
        signed_in: Page, stack: Stack, shot: Callable[[Page, str], Path], expect: Any) -> None:
    page = signed_in
    cfg = stack.config(name="No app key")
    cfg["flashduty"] = {"base_url": stack.flashduty_url}
    created = stack.api.create_integration(cfg)
    settings = stack.service.runtime.settings
    public, settings.public_url = settings.public_url, ""  # `serve --port N` without PUBLIC_URL
    try:
        page.goto(f"/console/integrations/{created['id']}")
        expect(page.locator("#hook-reachability")).to_contain_text("JIRA_SYNC_PUBLIC_URL")
        expect(page.locator(".integration-warning")).to_contain_text("no Flashduty app key")
        shot(page, "warnings")
    finally:
        settings.public_url = public
