"""The setup wizard, as a person uses it: Jira sign-in, configuration with live checks, preview,
a test issue, saving, and the webhook to paste into Flashduty."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from e2e.conftest import CREDENTIALS, Stack, wait_until

from jira_sync.devtools.fake_flashduty import WebhookSender

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page

Shot = Callable[["Page", str], "Path"]
WRONG_SECRET = "not-the-right-secret"
CREATE = r"/rest/api/\d/issue$"


def step1(page: Page, stack: Stack, secret: str) -> None:
    """Fill the Jira sign-in step for the stack's flavour and press Next."""
    cred = CREDENTIALS[stack.flavour]
    page.check(f"input[name=platform][value={cred['platform']}]")
    page.fill("#url", stack.jira_url)
    page.check("input[name=auth][value=basic]")
    page.fill("#username", cred["username"])
    page.fill("#secret", secret)
    page.get_by_role("button", name="Next").click()


def searched(page: Page, typed: str) -> Any:
    """Type into the project field and wait for the type-ahead's answer (the list of matches)."""
    with page.expect_response(lambda r: r.url.endswith("/console/integrations/setup") and r.request.method == "POST"
                              and r.request.headers.get("x-console-target") == "#project-matches") as answer:
        page.fill("#project", typed)
    return answer.value


def offered_projects(page: Page) -> list[str]:
    return page.locator("#project-matches button").evaluate_all("bs => bs.map(b => b.textContent.trim())")


def choose_project(page: Page, expect: Any, typed: str, key: str) -> None:
    """Type part of a key, see the type-ahead offer the project, then take it (as typing the
    whole key does: the field then holds it)."""
    answer = searched(page, typed)
    assert answer.ok, answer.status
    expect(page.locator(f"#project-matches button[value='pick_project:{key}']")).to_have_count(1)
    offered = offered_projects(page)
    assert offered and all(typed.casefold() in o.casefold() for o in offered), offered  # only matching projects
    page.fill("#project", key)
    expect(page.locator("#project-help")).to_contain_text(key)
    expect(page.locator("#issue_type")).to_be_enabled()
    settled(page, expect)


def settled(page: Page, expect: Any) -> None:
    """Until the console has no request of its own in flight (its progress bar is hidden).

    Needed after taking a project: the console then loads the form twice, and the second
    answer replaces the form again (see test_taking_a_project_loads_it_once)."""
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.locator("body")).not_to_have_attribute("aria-busy", "true")


def selected_text(page: Page, selector: str) -> str:
    return page.eval_on_selector(selector, "el => el.selectedOptions[0] ? el.selectedOptions[0].textContent.trim() : ''")


@pytest.mark.parametrize("flavour", ["cloud", "server"])
def test_whole_wizard(signed_in: Page, stack: Stack, shot: Shot, expect: Any, flavour: str) -> None:
    page = signed_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.service.url)
    page.get_by_role("link", name="New integration").first.click()
    page.wait_for_url(re.compile(r"/console/integrations/new$"))
    expect(page.locator("#url")).to_be_visible()
    shot(page, "02-step1")

    # ---- step 1: a wrong secret first, then the right one
    step1(page, stack, WRONG_SECRET)
    error = page.locator("#connection-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text(re.compile(r"refused.*credentials|credentials.*refused", re.IGNORECASE))
    assert WRONG_SECRET not in page.content()  # a secret is never sent back to the browser
    expect(page.locator("#username")).to_have_value(CREDENTIALS[flavour]["username"])
    expect(page.locator("#url")).to_have_value(stack.jira_url)
    shot(page, "03-step1-wrong-credentials")
    step1(page, stack, CREDENTIALS[flavour]["secret"])
    expect(page.get_by_role("heading", name="Configure the integration")).to_be_visible()
    expect(page.locator("#project")).to_be_visible()
    shot(page, "04-step2")

    # ---- project: the type-ahead offers OPS for "OP"; taking it loads its issue types
    choose_project(page, expect, "OP", "OPS")
    expect(page.locator("#issue_type option")).not_to_have_count(0)
    assert selected_text(page, "#issue_type") == "Task"

    # severity -> priority and progress -> status come prefilled from Jira's metadata
    assert selected_text(page, "#sev-Critical") == "Highest"
    assert selected_text(page, "#sev-Warning") == "Medium"
    assert selected_text(page, "#sev-Info") == "Low"
    expect(page.locator("#severity-disabled")).to_have_count(0)
    expect(page.locator("#status-triggered")).to_have_value("To Do")
    expect(page.locator("#status-processing")).to_have_value("In Progress")
    expect(page.locator("#status-closed")).to_have_value("Done")
    expect(page.locator("#required-ok")).to_be_visible()
    shot(page, "05-project-loaded")

    # ---- a condition, checked live against the sample incident (no button pressed)
    page.get_by_role("button", name="+ Add a condition").click()
    key = page.locator("#cond-0-0-key")
    expect(key).to_be_visible()
    key.fill("severity")
    expect(page.locator("#cond-0-0-oper")).to_have_value("IN")
    page.fill("#cond-0-0-vals", "Critical")
    result = page.locator("#match-result")
    expect(result.locator(".explain")).to_contain_text("severity IN Critical")
    expect(result.locator(".match")).to_contain_text("Yes")
    shot(page, "06-condition-matches")
    page.fill("#cond-0-0-vals", "Info")
    expect(result.locator(".explain")).to_contain_text("severity IN Info")
    expect(result.locator(".match")).to_contain_text("No")
    expect(result.locator(".match")).not_to_contain_text("Yes")
    shot(page, "07-condition-does-not-match")
    page.fill("#cond-0-0-vals", "Critical")
    expect(result.locator(".match")).to_contain_text("Yes")

    # ---- preview: what would be sent, and nothing sent
    page.fill("#name", f"Ops incidents ({flavour})")
    page.get_by_role("button", name="Preview the Jira issue").click()
    issue = page.locator("#preview .jira-issue")
    expect(issue).to_be_visible()
    expect(issue.locator("h3")).to_have_text("CPU idle low on db-01")
    expect(issue.locator("dt:has-text('Priority') + dd")).to_have_text("Highest")
    expect(issue.locator("dt:has-text('Status') + dd")).to_have_text("To Do")
    assert not stack.jira.issues, "the preview created an issue in Jira"
    assert stack.jira.count_requests("POST", CREATE) == 0
    shot(page, "08-preview")

    # ---- one test issue, labelled jira-sync-test
    page.get_by_role("button", name="Create one test issue").click()
    created = page.locator("#preview .alert.ok")
    expect(created).to_contain_text("Test issue created")
    test_issues = stack.jira.issues_with_label("jira-sync-test")
    assert len(test_issues) == 1, [i.key for i in test_issues]
    assert len(stack.jira.issues) == 1
    expect(created.get_by_role("link")).to_have_text(test_issues[0].key)
    shot(page, "09-test-issue")

    # ---- save: the webhook to paste into Flashduty
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("heading", name="Integration saved")).to_be_visible()
    url = page.locator("#hook-url").inner_text().strip()
    header = page.locator("#hook-header").inner_text().strip()
    secret = page.locator("#hook-secret").inner_text().strip()
    assert re.fullmatch(re.escape(stack.service.url) + r"/webhooks/flashduty/\d+", url), url
    assert header and secret and len(secret) >= 16, (header, secret)
    shot(page, "10-saved")

    copy = page.locator("#hook-url + button.copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == url
    expect(copy).to_have_text("Copy", timeout=5_000)  # and back

    # what was saved is what was chosen
    integration_id = int(url.rsplit("/", 1)[1])
    saved = stack.api.get(f"/api/integrations/{integration_id}").json()
    assert saved["name"] == f"Ops incidents ({flavour})"
    assert saved["config"]["project"] == "OPS"
    assert saved["config"]["conditions"] == [[{"key": "severity", "oper": "IN", "vals": ["Critical"]}]]
    assert saved["config"]["status_map"] == {"triggered": "To Do", "processing": "In Progress", "closed": "Done"}

    # and the webhook works: a Critical incident becomes a Highest issue in OPS
    with WebhookSender(url, {header: secret}) as sender:
        payload = stack.flashduty.open_incident(incident_severity="Critical")
        assert sender.send(payload) == 200
    incident_id = payload["incident"]["incident_id"]
    found = wait_until(lambda: stack.jira.issues_with_label(f"flashduty-{incident_id}"), 20, "the synced issue")
    assert len(found) == 1
    assert found[0].key.startswith("OPS-")
    assert found[0].fields["priority"]["name"] == "Highest"

    page.get_by_role("link", name="Open the integration").click()
    page.wait_for_url(re.compile(rf"/console/integrations/{integration_id}$"))
    expect(page.locator("#incidents")).to_be_visible()
    shot(page, "11-integration")


def test_issue_type_without_priority(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    page = signed_in
    page.goto("/console/integrations/new")
    shot(page, "01-step1")
    step1(page, stack, CREDENTIALS[stack.flavour]["secret"])
    expect(page.locator("#project")).to_be_visible()

    # OPS first (severities get prefilled), then a project whose issue type has no Priority field
    choose_project(page, expect, "OP", "OPS")
    assert selected_text(page, "#sev-Critical") == "Highest"
    choose_project(page, expect, "NOP", "NOPRI")
    expect(page.locator("#project-help")).to_contain_text("NOPRI")

    why = page.locator("#severity-disabled")
    expect(why).to_be_visible()
    expect(why).to_contain_text("Priority")
    for sev in ("Critical", "Warning", "Info"):
        expect(page.locator(f"#sev-{sev}")).to_be_disabled()
    expect(page.locator("#status-triggered")).to_have_value("To Do")
    expect(page.locator("#required-ok")).to_be_visible()
    shot(page, "02-no-priority")

    page.fill("#name", "No priority")
    page.get_by_role("button", name="Preview the Jira issue").click()
    issue = page.locator("#preview .jira-issue")
    expect(issue.locator("dt:has-text('Priority') + dd")).to_contain_text("not set")
    shot(page, "03-preview")

    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("heading", name="Integration saved")).to_be_visible()
    expect(page.locator("#form-errors")).to_have_count(0)
    url = page.locator("#hook-url").inner_text().strip()
    shot(page, "04-saved")
    saved = stack.api.get(f"/api/integrations/{int(url.rsplit('/', 1)[1])}").json()
    assert saved["config"]["project"] == "NOPRI"
    assert not saved["config"].get("severity_map")


def test_taking_a_project_loads_it_once(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    """Taking a project from the type-ahead loads the form once, and what is typed right after
    the form appeared is kept (not replaced by a late second copy of the form)."""
    page = signed_in
    page.goto("/console/integrations/new")
    shot(page, "01-step1")
    step1(page, stack, CREDENTIALS[stack.flavour]["secret"])
    expect(page.locator("#project")).to_be_visible()
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.post_data or "") if r.method == "POST"
            and r.url.endswith("/console/integrations/setup") and r.headers.get("x-console-target") == "main" else None)

    searched(page, "OP")
    # a quick person: types the name the moment the loaded form is there
    page.evaluate("""() => {
      const main = document.getElementById("main");
      const watch = new MutationObserver(() => {
        const help = document.getElementById("project-help");
        if (!help || !help.textContent.includes("OPS")) return;
        watch.disconnect();
        const name = document.getElementById("name");
        name.value = "Typed as soon as the form was there";
        name.dispatchEvent(new Event("input", { bubbles: true }));
      });
      watch.observe(main, { subtree: true, childList: true, characterData: true });
    }""")
    page.fill("#project", "OPS")  # as taking OPS from the offered list does
    expect(page.locator("#project-help")).to_contain_text("OPS")
    settled(page, expect)
    shot(page, "02-after-taking-OPS")
    expect(page.locator("#name")).to_have_value("Typed as soon as the form was there", timeout=2_000)
    assert len(loads) == 1, f"the form was loaded {len(loads)} times for one project choice"


def test_a_slow_jira_shows_progress_and_keeps_the_form(signed_in: Page, stack: Stack, shot: Shot, expect: Any) -> None:
    """Loading an issue type's metadata from a slow Jira: the progress bar says what is going
    on, the rest of the form stays as it was, and the answer fills it in when it comes."""
    page = signed_in
    page.goto("/console/integrations/new")
    step1(page, stack, CREDENTIALS[stack.flavour]["secret"])
    choose_project(page, expect, "OP", "OPS")
    page.fill("#name", "Kept while Jira thinks")
    stack.jira.faults.add(kind="slow", method="GET", path=r"/issue/createmeta/OPS/issuetypes/10002", delay=1.2)  # the stack's Jira timeout is 2 s
    page.select_option("#issue_type", "10002")  # Bug: its create screen comes from Jira again
    progress = page.locator("#progress")
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("Talking to Jira")
    expect(page.locator("body")).to_have_attribute("aria-busy", "true")
    shot(page, "01-loading")
    expect(progress).to_be_hidden(timeout=10_000)
    expect(page.locator("#issue_type")).to_have_value("10002")
    expect(page.locator("#name")).to_have_value("Kept while Jira thinks")
    expect(page.locator("#sev-Critical")).to_have_value("1")
    shot(page, "02-loaded")
