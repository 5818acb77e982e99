"""The two setup steps without JavaScript: every action is a plain form post and a full page."""
from __future__ import annotations

import html
import re

import pytest

from .conftest import Console, form_fields, start_setup, step2


def test_wrong_password_is_said_plainly_and_the_secret_is_never_echoed(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    r = start_setup(c, console_stack, secret="not-the-password")
    assert r.status_code == 422
    assert "Jira refused the credentials" in r.text
    assert "not-the-password" not in r.text
    assert 'name="conn_token"' not in r.text  # still step 1


def test_step1_names_each_connection_problem(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    other = "server" if console_stack.flavour == "cloud" else "cloud"
    r = start_setup(c, console_stack, platform=other)
    assert r.status_code == 422 and "Wrong platform type" in r.text
    r = start_setup(c, console_stack, url="http://127.0.0.1:9")  # nothing listens on the discard port
    assert r.status_code == 422 and "Jira cannot be reached" in r.text
    r = start_setup(c, console_stack, url=console_stack.flashduty_url)  # a web server, not a Jira
    assert r.status_code == 422 and "This address is not a Jira" in r.text
    r = start_setup(c, console_stack, url="ftp://example.com")
    assert r.status_code == 422 and "Service URL: must start with https:// or http://" in r.text


def test_captcha_on_server_is_explained(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    if console_stack.flavour != "server":
        pytest.skip("CAPTCHA is a Server/Data Center behaviour")
    for _ in range(3):
        start_setup(c, console_stack, secret="wrong")
    r = start_setup(c, console_stack)  # the right password, but Jira now wants a CAPTCHA
    assert r.status_code == 422 and "Jira requires a CAPTCHA" in r.text and "login.jsp" in r.text


def test_the_whole_setup_without_javascript(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    r = start_setup(c, console_stack)
    assert r.status_code == 200 and "Configure the integration" in r.text
    secret = "cloud-token" if console_stack.flavour == "cloud" else "secret"
    assert secret not in r.text  # the connection travels sealed
    assert "OPS · Operations" in r.text  # projects offered at once
    r = step2(c, "search_projects", project="flo")
    assert "FLOW · Multi-step Workflow" in r.text and "OPS · Operations" not in r.text
    r = step2(c, "pick_project:OPS")
    fields = form_fields(r.text, "setup")
    assert fields["project"] == "OPS" and fields["issue_type"] == "10001"
    # defaults: severity -> priority by name, the English statuses of this workflow
    assert (fields["sev-Critical"], fields["sev-Warning"], fields["sev-Info"]) == ("1", "3", "4")
    assert (fields["status-triggered"], fields["status-processing"], fields["status-closed"]) == ("To Do", "In Progress", "Done")
    # only text fields are offered as mapping targets
    r = step2(c, "add_field")
    options = re.findall(r'<select id="fm-0-target".*?</select>', r.text, re.S)[0]
    assert "customfield_10050" in options and "customfield_10051" in options and "customfield_10052" not in options
    # a condition, checked against the sample
    r = step2(c, "add_group", **{"fm-0-source": "incident_id", "fm-0-target": "customfield_10050"})
    r = step2(c, "match", **{"cond-0-0-key": "severity", "cond-0-0-vals": "Critical\nWarning"})
    assert "Yes: this incident would be synced" in r.text and "severity IN Critical|Warning" in r.text
    r = step2(c, "match", **{"cond-0-0-vals": "Info"})
    assert "No: this incident would not be synced" in r.text
    r = step2(c, "add_cond:0", **{"cond-0-0-vals": "Critical"})
    r = step2(c, "match", **{"cond-0-1-key": "labels.host", "cond-0-1-oper": "NOTIN", "cond-0-1-vals": "db-*"})
    assert "No: this incident would not be synced" in r.text and "✘ labels.host NOTIN db-*" in r.text
    r = step2(c, "del_cond:0:1")
    # preview: nothing is created
    before = len(console_stack.jira.issues)
    r = step2(c, "preview", name="ops incidents")
    assert "Preview for the sample incident" in r.text and "CPU idle low on db-01" in r.text
    assert "<strong>5%</strong>" in r.text  # the description as Jira renders it
    assert len(console_stack.jira.issues) == before
    # one real test issue, on request, without the marker that a real incident would adopt
    r = step2(c, "test_issue")
    assert "Test issue created" in r.text
    created = console_stack.jira.issues_with_label("jira-sync-test")
    assert len(created) == 1 and created[0].fields["summary"].startswith("[jira-sync test] ")
    assert console_stack.jira.issues_with_label("flashduty-64b1352e376e32c85c56e25b") == []
    assert created[0].fields["customfield_10050"] == "64b1352e376e32c85c56e25b"
    # save: checked against Jira, then the webhook to paste, with its secret shown once
    r = step2(c, "save")
    assert r.status_code == 200 and "Integration saved" in r.text
    url = re.search(r'<code id="hook-url">([^<]+)</code>', r.text).group(1)  # type: ignore[union-attr]
    hook_secret = re.search(r'<code id="hook-secret">([^<]+)</code>', r.text).group(1)  # type: ignore[union-attr]
    assert "X-Jira-Sync-Secret" in r.text and "Incident Webhook" in r.text
    integration_id = int(url.rsplit("/", 1)[1])
    saved = console_stack.api.get(f"/api/integrations/{integration_id}").json()
    cfg = saved["config"]
    assert cfg["name"] == "ops incidents" and cfg["project"] == "OPS" and cfg["issue_type"] == "10001"
    assert cfg["conditions"] == [[{"key": "severity", "oper": "IN", "vals": ["Critical"]}]]
    assert cfg["severity_map"] == {"Critical": "1", "Warning": "3", "Info": "4"}
    assert cfg["status_map"] == {"triggered": "To Do", "processing": "In Progress", "closed": "Done"}
    assert cfg["field_map"] == [{"source": "incident_id", "name": None, "target": "customfield_10050", "default": None}]
    # the secret works: a webhook is accepted
    from jira_sync.devtools.fake_flashduty import DOCUMENTED_EXAMPLE

    headers = {"X-Jira-Sync-Secret": hook_secret, "Content-Type": "application/json"}
    assert console_stack.http.post(url, content=DOCUMENTED_EXAMPLE, headers=headers).status_code == 200
    # and the integration page no longer shows it
    page = c.get(f"/console/integrations/{integration_id}")
    assert hook_secret not in page.text and "Make a new secret" in page.text


def test_chinese_priorities_are_filled_in_by_default(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    fields = form_fields(step2(c, "pick_project:CN").text, "setup")
    # 紧急 10000, 高 10001, 中 10002: a Critical incident is not left at the site's default 中
    assert (fields["sev-Critical"], fields["sev-Warning"], fields["sev-Info"]) == ("10000", "10001", "10002")


def test_issue_type_without_priority_disables_severity_with_the_reason(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    r = step2(c, "pick_project:NOPRI", name="no priority")
    assert 'id="severity-disabled"' in r.text and "no Priority field" in r.text
    fields = form_fields(r.text, "setup")
    assert not any(k.startswith("sev-") for k in fields)  # a disabled fieldset sends nothing
    r = step2(c, "save")
    assert "Integration saved" in r.text, r.text[:3000]


def test_required_fields_are_listed_before_saving(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    r = step2(c, "pick_project:REQ", name="needs a customer")
    assert 'id="required-warning"' in r.text and "Customer" in r.text
    r = step2(c, "save")
    assert r.status_code == 422 and "required field 'Customer'" in html.unescape(r.text)
    assert console_stack.api.get("/api/integrations").json() == []
    step2(c, "add_field")
    r = step2(c, "load", **{"fm-0-source": "incident_id", "fm-0-target": "customfield_10060"})
    assert 'id="required-ok"' in r.text
    r = step2(c, "save")
    assert "Integration saved" in r.text


def test_chinese_workflow_gets_chinese_defaults(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    r = step2(c, "pick_project:CN")
    fields = form_fields(r.text, "setup")
    assert (fields["status-triggered"], fields["status-processing"], fields["status-closed"]) == ("待办", "处理中", "完成")
    assert "Chinese defaults" in r.text


def test_a_tampered_or_expired_connection_goes_back_to_step1(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    token = c.conn_token()
    r = step2(c, "save", conn_token=token[:-4] + "AAAA", name="x", project="OPS")
    assert r.status_code == 400 and "sign in to Jira again" in r.text
    assert console_stack.api.get("/api/integrations").json() == []


def test_edit_keeps_secrets_and_state_and_says_when_a_token_expired(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, _ = console_stack.integration()
    console_stack.api.post(f"/api/integrations/{integration_id}/disable")
    r = c.get(f"/console/integrations/{integration_id}/edit")
    fields = form_fields(r.text, "setup")
    assert fields["project"] == "OPS" and fields["name"] == "ops-0"
    r = step2(c, "save", name="renamed")
    assert r.status_code == 200 and "Saved." in r.text and r.url.path == f"/console/integrations/{integration_id}"
    saved = console_stack.api.get(f"/api/integrations/{integration_id}").json()
    assert saved["name"] == "renamed" and saved["enabled"] is False  # editing does not re-enable
    # the stored token stops working: step 1 says it expired instead of "wrong password"
    login = "admin@example.com" if console_stack.flavour == "cloud" else "admin"
    console_stack.jira.revoke_credentials(login)
    c.get(f"/console/integrations/{integration_id}/edit/connection")
    r = c.post(f"/console/integrations/{integration_id}/edit/connection",
               {**{k: v for k, v in form_fields(c.last.text, "").items()}, "platform": console_stack.flavour,
                "url": console_stack.jira_url, "auth": "basic", "username": login, "verify_tls": "1"})
    assert r.status_code == 422 and "The token has expired or was revoked" in r.text


def test_audit_log_names_who_did_what_and_never_a_secret(c, console_stack, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO, logger="jira_sync")
    other = Console(console_stack.service)
    other.sign_in(password="hunter2 is not it")
    other.close()
    start_setup(c, console_stack)
    step2(c, "pick_project:OPS", name="audited", flashduty_key="fd-app-key-123")
    r = step2(c, "save")
    hook_secret = re.search(r'<code id="hook-secret">([^<]+)</code>', r.text).group(1)  # type: ignore[union-attr]
    text = caplog.text
    assert "console: failed sign-in for 'admin'" in text
    assert "console: admin created integration" in text and "(audited)" in text
    secret = "cloud-token" if console_stack.flavour == "cloud" else "secret"
    for value in ("hunter2 is not it", "fd-app-key-123", hook_secret, f":{secret}"):
        assert value not in text


def test_edit_opens_with_the_saved_choices_not_the_defaults(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, _ = console_stack.integration(severity_map={"Critical": "High"},
                                                  status_map={"triggered": "In Progress", "processing": "In Progress",
                                                              "closed": "Done"})
    fields = form_fields(c.get(f"/console/integrations/{integration_id}/edit").text, "setup")
    assert fields["sev-Critical"] == "2" and fields["sev-Warning"] == "" and fields["sev-Info"] == ""
    assert fields["status-triggered"] == "In Progress"
    r = step2(c, "save")
    saved = console_stack.api.get(f"/api/integrations/{integration_id}").json()["config"]
    assert r.status_code == 200 and saved["severity_map"] == {"Critical": "2"}
    assert saved["status_map"]["triggered"] == "In Progress"


def test_editing_the_form_does_not_ask_jira_again(c, console_stack) -> None:  # type: ignore[no-untyped-def]
    start_setup(c, console_stack)
    step2(c, "pick_project:OPS", name="few requests")
    jira = console_stack.jira
    before = len(jira.request_log)
    step2(c, "add_group")
    step2(c, "add_field")
    r = step2(c, "preview")
    assert "Preview for the sample incident" in r.text
    assert len(jira.request_log) == before  # the project's metadata from a moment ago
    fields = form_fields(r.text, "setup")
    assert fields["issue_type"] == "10001" and fields["sev-Critical"] == "1" and "fm-0-target" in fields
    step2(c, "load")  # "Load project": Jira is asked again
    assert len(jira.request_log) > before
