"""What a newcomer tripped over in the console (issue 11), as a browser without JavaScript
sees it: the secret after saving, errors at their fields, required fields fed from a label,
the project type-ahead, "Check connection" and the channel picker."""
from __future__ import annotations

import html
import json
import re
import time

import pytest
from cryptography.fernet import Fernet
from e2e.conftest import wait_until

from jira_sync.console.secret_flash import SHOWN_FOR_SECONDS

from .conftest import Console, form_fields, start_setup, step2

PARTIAL = {"X-Console-Partial": "1"}


def _secret_on(page: str) -> str | None:
    m = re.search(r'<code id="hook-secret">([^<]+)</code>', page)
    return m.group(1) if m else None


def _inside(page: str, element_id: str) -> str:
    """The markup of the element with this id, up to its closing tag (no nesting of the same tag inside)."""
    m = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    assert m, f"no element #{element_id} on the page"
    return m.group(2)


def _saved_through_the_form(c: Console, stack, name: str = "ops"):  # type: ignore[no-untyped-def]
    start_setup(c, stack)
    step2(c, "pick_project:OPS", name=name)
    return step2(c, "save")


# ------------------------------------------------------------------ 3. the secret survives a refresh
def test_saving_redirects_to_a_page_that_shows_the_secret_again_on_refresh(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    r = _saved_through_the_form(c, console_stack)
    assert [h.status_code for h in r.history] == [303]  # POST -> redirect -> GET
    integration_id = int(r.url.path.split("/")[-2])
    assert r.url.path == f"/console/integrations/{integration_id}/connect"
    secret = _secret_on(r.text)
    assert secret and "Integration saved" in r.text
    assert secret not in r.history[0].headers["location"]
    assert all(secret not in v for v in r.history[0].headers.get_list("set-cookie"))  # sealed, never plain

    again = c.get(r.url.path)  # the refresh: a GET, nothing posted again
    assert _secret_on(again.text) == secret and "Integration saved" in again.text
    assert len(console_stack.api.get("/api/integrations").json()) == 1
    headers = {"X-Jira-Sync-Secret": secret, "Content-Type": "application/json"}
    from jira_sync.devtools.fake_flashduty import DOCUMENTED_EXAMPLE
    hook = f"{console_stack.service.url}/webhooks/flashduty/{integration_id}"
    assert console_stack.http.post(hook, content=DOCUMENTED_EXAMPLE, headers=headers).status_code == 200

    # another session of the same user does not get it
    other = Console(console_stack.service)
    other.sign_in()
    elsewhere = other.get(r.url.path)
    other.close()
    assert secret not in elsewhere.text and "Make a new secret" in elsewhere.text


def test_after_its_time_the_page_says_the_secret_was_shown_and_offers_a_new_one(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    r = _saved_through_the_form(c, console_stack)
    path = r.url.path
    name = next(n for n in c.http.cookies if n.startswith("jira_sync_new_secret_"))
    cookie = next(ck for ck in c.http.cookies.jar if ck.name == name)
    key = Fernet(console_stack.service.runtime.settings.secret_key.get_secret_value().encode())
    # the same sealed content, made SHOWN_FOR_SECONDS + 1 ago
    stale = key.encrypt_at_time(key.decrypt(cookie.value.encode()), int(time.time()) - SHOWN_FOR_SECONDS - 1).decode()
    c.http.cookies.set(name, stale, domain=cookie.domain, path=cookie.path)
    late = c.get(path)
    assert late.status_code == 200 and _secret_on(late.text) is None
    assert "The secret was shown once" in late.text and "Make a new secret" in late.text
    # a new one, through the same redirect: shown, and again on refresh
    rotated = c.post(f"/console/integrations/{path.split('/')[-2]}/webhook-secret", {})
    assert [h.status_code for h in rotated.history] == [303] and rotated.url.path == path
    new = _secret_on(rotated.text)
    assert new and "New webhook secret" in rotated.text
    assert _secret_on(c.get(path).text) == new


def test_a_forged_or_foreign_secret_cookie_shows_nothing(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    r = _saved_through_the_form(c, console_stack)
    integration_id = int(r.url.path.split("/")[-2])
    name = f"jira_sync_new_secret_{integration_id}"
    cookie = next(ck for ck in c.http.cookies.jar if ck.name == name)
    key = Fernet(console_stack.service.runtime.settings.secret_key.get_secret_value().encode())
    data = json.loads(key.decrypt(cookie.value.encode()))
    for forged in ({**data, "u": "someone else"}, {**data, "i": integration_id + 1}):
        c.http.cookies.set(name, key.encrypt(json.dumps(forged).encode()).decode(), domain=cookie.domain, path=cookie.path)
        assert _secret_on(c.get(r.url.path).text) is None
    c.http.cookies.set(name, "not-a-token", domain=cookie.domain, path=cookie.path)
    page = c.get(r.url.path)
    assert page.status_code == 200 and _secret_on(page.text) is None


# ------------------------------------------------------------------ 6. errors at their fields
@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"channels": "12, checkout"}, "channels", "channel ids are numbers"),
    ({"fd_webhook_id": "webhook-7"}, "fd_webhook_id", "is a number"),
    ({"name": ""}, "name", "Name: String should have at least 1 character"),
    ({"fm-0-source": "label", "fm-0-name": "team", "fm-0-target": "customfield_10052"}, "fm-0-target",
     "is not a text field"),
    ({"fm-0-source": "label", "fm-0-name": "", "fm-0-target": "customfield_10050"}, "fm-0-target", "needs a name"),
    ({"cond-0-0-key": "severity", "cond-0-0-vals": "/(unclosed/"}, "conditions", "conditions"),
])
def test_each_error_is_shown_at_its_field(c, console_stack, changes, field, words) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    step2(c, "pick_project:OPS", name="errors")
    step2(c, "add_field")
    step2(c, "add_group")
    r = step2(c, "save", **changes)
    assert r.status_code == 422
    at_field = html.unescape(_inside(r.text, f"{field}-error"))
    assert words in at_field, at_field
    summary = html.unescape(_inside(r.text, "form-errors"))
    assert f'href="#{field}"' in summary and words in summary
    assert console_stack.api.get("/api/integrations").json() == []


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"url": "ftp://example.com"}, "url", "Service URL: must start with https:// or http://"),
    ({"username": ""}, "username", "username is required"),
    ({"auth": "pat", "platform": "server", "secret": "tökén"}, "secret", "personal access token is printable ASCII"),
    ({"ca_bundle": "-----BEGIN CERTIFICATE----- é"}, "ca_bundle", "ca_bundle is PEM text"),
])
def test_each_sign_in_error_is_shown_at_its_field(c, console_stack, changes, field, words) -> None:  # type: ignore[no-untyped-def]
    r = start_setup(c, console_stack, **changes)
    assert r.status_code == 422
    assert words in html.unescape(_inside(r.text, f"{field}-error"))
    assert f'href="#{field}"' in _inside(r.text, "form-errors")
    assert f'id="{field}"' in r.text and 'aria-invalid="true"' in r.text


def test_a_bad_channel_id_is_at_the_channels_field_not_among_the_conditions(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    step2(c, "pick_project:OPS", name="channels")
    r = step2(c, "match", trigger="manual", channels="ops-channel")
    assert "channel ids are numbers" in html.unescape(_inside(r.text, "channels-error-slot"))
    assert 'aria-invalid="true" aria-errormessage="channels-error"' in r.text
    match = html.unescape(_inside(r.text, "match-result"))
    assert "channel ids are numbers" not in match and "Fix the channel ids (at Channels)" in match
    # the live check's fragment carries the error for the Channels field
    fields = {**form_fields(r.text, "setup"), "action": "match"}
    live = c.http.post("/console/integrations/setup", data=fields, headers={**PARTIAL, "X-Console-Target": "#match-result"})
    assert live.status_code == 200 and "<html" not in live.text
    assert re.search(r'<template data-swap="#channels-error-slot"><p class="field-error" id="channels-error">channel ids',
                     live.text)


# ------------------------------------------------------------------ 4. required fields
def test_a_required_field_fed_from_a_label_needs_a_default(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    step2(c, "pick_project:REQ", name="customers")
    step2(c, "add_field")
    mapping = {"fm-0-source": "label", "fm-0-name": "customer", "fm-0-target": "customfield_10060"}
    r = step2(c, "load", **mapping)
    box = html.unescape(_inside(r.text, "required-fields"))
    assert "Customer" in box and "label 'customer'" in box and "mapping 1" in box and "default value" in box
    # the preview shows the field, and that it would be empty and fail, instead of leaving it out
    r = step2(c, "preview")
    issue = html.unescape(_inside(r.text, "preview"))
    assert re.search(r"<dt>Customer</dt><dd class=\"empty-field bad\">Empty: the incident has no label 'customer'. "
                     r"Jira requires this field, so creating this issue would fail", issue), issue
    # saving is refused, at the mapping, naming the label
    r = step2(c, "save")
    assert r.status_code == 422
    at_row = html.unescape(_inside(r.text, "fm-0-target-error"))
    assert "filled only from label 'customer'" in at_row and "default value" in at_row
    assert console_stack.api.get("/api/integrations").json() == []
    # with a default: the box is satisfied, the preview shows the default, and it saves
    r = step2(c, "preview", **{"fm-0-default": "unknown customer"})
    assert 'id="required-ok"' in r.text
    assert "<dt>Customer</dt><dd class=\"pre\">unknown customer</dd>" in r.text
    r = step2(c, "save")
    assert "Integration saved" in r.text
    integration_id = int(r.url.path.split("/")[-2])
    cfg = console_stack.api.get(f"/api/integrations/{integration_id}").json()["config"]
    assert cfg["field_map"] == [{**{k.split("-")[-1]: v for k, v in mapping.items()}, "default": "unknown customer"}]
    # and an incident without the label gets the default
    secret = _secret_on(r.text)
    sender = console_stack.service.sender(f"{console_stack.service.url}/webhooks/flashduty/{integration_id}",
                                          {"X-Jira-Sync-Secret": secret})
    payload = console_stack.flashduty.open_incident()
    assert sender.send(payload) == 200
    console_stack.synced()
    assert console_stack.issue_for(payload["incident"]["incident_id"]).fields["customfield_10060"] == "unknown customer"


def test_the_required_box_follows_the_mapping_without_a_reload(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    r = step2(c, "pick_project:REQ", name="box")
    assert 'id="required-warning"' in r.text
    step2(c, "add_field")
    fields = {**form_fields(c.last.text, "setup"), "fm-0-source": "incident_id", "fm-0-target": "customfield_10060",
              "action": "required"}
    live = c.http.post("/console/integrations/setup", data=fields, headers={**PARTIAL, "X-Console-Target": "#required-fields"})
    assert live.status_code == 200 and "<html" not in live.text
    assert 'id="required-ok"' in live.text and "required-warning" not in live.text
    # a preview's fragment brings the box along
    fields["action"] = "preview"
    shown = c.http.post("/console/integrations/setup", data=fields, headers={**PARTIAL, "X-Console-Target": "#preview"})
    assert '<template data-swap="#required-fields">' in shown.text and 'id="required-ok"' in shown.text


def test_a_failure_for_an_empty_required_field_names_the_mapping(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    # saved unchecked (as the API allows), so nothing stopped the label mapping
    integration_id, hook = console_stack.integration(
        check=False, project="REQ", severity_map=None,
        field_map=[{"source": "label", "name": "customer", "target": "customfield_10060"}])
    payload = console_stack.flashduty.open_incident()
    incident_id = payload["incident"]["incident_id"]
    console_stack.send(hook, payload)
    detail = wait_until(lambda: (d := console_stack.api.incident(integration_id, incident_id))["state"] == "failed" and d,
                        what="the failed create")
    error = detail["last_error"]
    assert "Customer is required" in error
    assert "customfield_10060 is left empty by the field mapping from label 'customer': the incident has no label " \
           "'customer'. Give that mapping a default value" in error, error
    page = c.get(f"/console/integrations/{integration_id}/incidents/{incident_id}")
    assert "field mapping from label &#39;customer&#39;" in page.text
    assert not console_stack.jira.issues


# ------------------------------------------------------------------ 9. the project type-ahead
def test_project_search_lists_only_matching_projects(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    r = start_setup(c, console_stack)
    assert "FLOW · Multi-step Workflow" in _inside(r.text, "project-matches")  # all, before anything is typed
    r = step2(c, "search_projects", project="op")
    offered = re.findall(r'value="pick_project:([^"]+)"', _inside(r.text, "project-matches"))
    assert sorted(offered) == ["NOPRI", "OPS"]  # "op" is in OPS and in NOPri
    assert "does not exist" not in r.text  # a search, not a project that failed to load
    # as the person types (JavaScript): only the list, as a fragment
    fields = {**form_fields(r.text, "setup"), "project": "flo", "action": "search_projects"}
    live = c.http.post("/console/integrations/setup", data=fields, headers={**PARTIAL, "X-Console-Target": "#project-matches"})
    assert live.status_code == 200 and "<html" not in live.text
    assert re.findall(r'value="pick_project:([^"]+)"', live.text) == ["FLOW"]
    fields["project"] = "zzz"
    none = c.http.post("/console/integrations/setup", data=fields, headers={**PARTIAL, "X-Console-Target": "#project-matches"})
    assert "No project's key or name contains “zzz”" in none.text
    if console_stack.flavour != "cloud":
        return  # Server/DC's project list is read once and kept a while: typing asks Jira no more
    # Jira failing mid-typing: said in the list's place, never a whole error page in a fragment
    console_stack.jira.faults.add(kind="503", method="GET", path=r"/rest/api/\d/project(/search)?$", times=10)
    fields["project"] = "fl"
    failed = c.http.post("/console/integrations/setup", data=fields, headers={**PARTIAL, "X-Console-Target": "#project-matches"})
    assert failed.status_code == 502 and "<html" not in failed.text
    assert 'id="project-search-error"' in failed.text and "Jira could not search projects" in failed.text


# ------------------------------------------------------------------ Check connection
def test_check_connection_shows_the_checks_result_on_the_integration_page(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, _ = console_stack.integration()
    page = c.get(f"/console/integrations/{integration_id}")
    assert "Check connection" in page.text
    r = c.post(f"/console/integrations/{integration_id}/check", {})
    assert r.status_code == 200 and r.url.path == f"/console/integrations/{integration_id}/check"
    outcome = html.unescape(_inside(r.text, "check-outcome"))
    assert "Jira accepts this integration's configuration." in outcome
    # the stored token stops working: the same words as the CLI and the API
    login = "admin@example.com" if console_stack.flavour == "cloud" else "admin"
    console_stack.jira.revoke_credentials(login)
    api = console_stack.api.post(f"/api/integrations/{integration_id}/check").json()
    assert not api["ok"]
    r = c.post(f"/console/integrations/{integration_id}/check", {})
    outcome = html.unescape(_inside(r.text, "check-outcome"))
    assert "The check against Jira failed" in outcome and api["errors"][0] in outcome
    assert "cloud-token" not in r.text  # the Cloud token (Server's password, "secret", is also an English word)
    fragment = c.http.post(f"/console/integrations/{integration_id}/check", data={"csrf_token": c.csrf()},
                           headers={**PARTIAL, "X-Console-Target": "#check-result"})
    assert "<html" not in fragment.text and "The check against Jira failed" in fragment.text


def test_check_connection_needs_the_forms_token(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, _ = console_stack.integration()
    before = len(console_stack.jira.request_log)
    r = c.http.post(f"/console/integrations/{integration_id}/check", data={"csrf_token": "forged"})
    assert r.status_code == 403 and len(console_stack.jira.request_log) == before


# ------------------------------------------------------------------ the channel picker
def test_channels_seen_on_recent_incidents_can_be_ticked_by_name(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, hook = console_stack.integration()
    for channel_id, name in ((111, "Payments"), (222, "Checkout")):
        console_stack.send(hook, console_stack.flashduty.open_incident(channel_id=channel_id, channel_name=name))
    console_stack.synced()
    r = c.get(f"/console/integrations/{integration_id}/edit")
    picker = html.unescape(_inside(r.text, "channel-picker"))
    assert "Payments" in picker and "(111)" in picker and "Checkout" in picker
    # a new integration is offered the channels seen by any integration
    start_setup(c, console_stack)
    assert "Payments" in html.unescape(_inside(c.last.text, "channel-picker"))
    # tick one, type another that was never seen
    c.get(f"/console/integrations/{integration_id}/edit")
    r = step2(c, "save", **{"channel-222": "on", "channels": "333"})
    assert r.status_code == 200, r.text[:2000]
    assert console_stack.api.get(f"/api/integrations/{integration_id}").json()["config"]["channels"] == [222, 333]
    page = c.get(f"/console/integrations/{integration_id}")
    assert "Checkout (222), 333" in page.text
    # the edit form shows 222 ticked and keeps only 333 in the box
    fields = form_fields(c.get(f"/console/integrations/{integration_id}/edit").text, "setup")
    assert fields.get("channel-222") == "on" and "channel-111" not in fields and fields["channels"] == "333"
