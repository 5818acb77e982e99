"""What a newcomer trips over (issue 11), through the CLI and the HTTP API: the README's first
try ends at a Jira issue, webhook URLs name the server that runs, comments skipped for want of
an app key are said where people look, a rotated secret has a grace period, /docs is offline."""
from __future__ import annotations

import re
import socket
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import pytest
import uvicorn
from click.testing import CliRunner

from e2e.conftest import Stack, wait_until
from jira_sync.cli import main
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer
from jira_sync.settings import Settings
from jira_sync.web.app import create_app
from jira_sync.web.server import uvicorn_config

EXAMPLE = Path(__file__).parents[2] / "examples" / "first-try.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(settings: Settings, monkeypatch, tmp_path) -> Iterator[tuple[str, FakeJiraServer]]:  # type: ignore[no-untyped-def]
    """`jira-sync serve --port N` (not the default 8080, no PUBLIC_URL) and the Jira emulator;
    the CLI's environment points at the same database."""
    settings.port = _free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 20, "the service to start")
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "SECRET_KEY", "ADMIN_TOKEN"):
        value = getattr(settings, name.lower())
        monkeypatch.setenv(f"JIRA_SYNC_{name}", value if isinstance(value, str) else value.get_secret_value())
    monkeypatch.delenv("JIRA_SYNC_PUBLIC_URL", raising=False)
    with FakeJiraServer(FakeJira("cloud")) as jira:
        try:
            yield f"http://127.0.0.1:{settings.port}", jira
        finally:
            server.should_exit = True
            thread.join(20)


def _apply(text: str, tmp: Path) -> Any:
    path = tmp / "integration.yaml"
    path.write_text(text)
    return CliRunner().invoke(main, ["integrations", "apply", str(path)])


def test_first_try_from_the_readme_ends_at_a_jira_issue(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base, jira = served
    applied = _apply(EXAMPLE.read_text().replace("http://127.0.0.1:8081", jira.url), tmp_path)
    assert applied.exit_code == 0, applied.output
    # the webhook URL names the port the server runs on, not the settings' default 8080
    url = re.search(r"webhook: (\S+)", applied.output).group(1)  # type: ignore[union-attr]
    secret = re.search(r"X-Jira-Sync-Secret: (\S+)", applied.output).group(1)  # type: ignore[union-attr]
    assert url == f"{base}/webhooks/flashduty/1"
    assert f"dev send-example {url} --secret {secret}" in applied.output
    # ...and says Flashduty's cloud cannot call a loopback address, and what to set
    assert "cannot reach" in applied.output and "JIRA_SYNC_PUBLIC_URL" in applied.output

    sent = CliRunner().invoke(main, ["dev", "send-example", url, "--secret", secret])
    assert sent.exit_code == 0, sent.output
    assert '"sync": "queued"' in sent.output
    assert "Jira issue OPS-1 is in step" in sent.output
    issue = jira.fake.issue_by_key("OPS-1")
    assert issue.fields["summary"] == "ysy028" and issue.fields["priority"]["name"] == "Highest"

    again = CliRunner().invoke(main, ["dev", "send-example", url, "--secret", secret])
    assert again.exit_code == 0 and "duplicate" in again.output
    assert len(jira.fake.issues) == 1


def test_send_example_says_why_nothing_will_be_synced(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _base, jira = served
    text = (EXAMPLE.read_text().replace("http://127.0.0.1:8081", jira.url)
            .replace("vals: [Critical, Warning]", "vals: [Info]"))
    applied = _apply(text, tmp_path)
    url = re.search(r"webhook: (\S+)", applied.output).group(1)  # type: ignore[union-attr]
    secret = re.search(r"X-Jira-Sync-Secret: (\S+)", applied.output).group(1)  # type: ignore[union-attr]
    sent = CliRunner().invoke(main, ["dev", "send-example", url, "--secret", secret])
    assert sent.exit_code == 0, sent.output
    assert '"sync": "stored"' in sent.output
    assert "NOT synced" in sent.output and "conditions do not match" in sent.output
    assert "severity Critical" in sent.output
    wrong = CliRunner().invoke(main, ["dev", "send-example", url, "--secret", "not-it"])
    assert wrong.exit_code == 1 and "HTTP 401" in wrong.output and "secret does not match" in wrong.output
    assert len(jira.fake.issues) == 0  # nothing was sent to Jira


def test_integrations_list_has_headers_and_the_last_error(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _base, jira = served
    # REQ's required "Customer" field is left empty: saved unchecked, the sync fails with Jira's words
    text = (EXAMPLE.read_text().replace("http://127.0.0.1:8081", jira.url).replace("project: OPS", "project: REQ")
            .replace("severity_map: {Critical: Highest, Warning: Medium, Info: Low}", ""))
    path = tmp_path / "req.yaml"
    path.write_text(text)
    applied = CliRunner().invoke(main, ["integrations", "apply", "--no-check", str(path)])
    assert applied.exit_code == 0, applied.output
    url = re.search(r"webhook: (\S+)", applied.output).group(1)  # type: ignore[union-attr]
    secret = re.search(r"X-Jira-Sync-Secret: (\S+)", applied.output).group(1)  # type: ignore[union-attr]
    sent = CliRunner().invoke(main, ["dev", "send-example", url, "--secret", secret, "--wait", "15"])
    assert "sync FAILED" in sent.output and "Customer" in sent.output

    listed = CliRunner().invoke(main, ["integrations", "list"])
    header, row = listed.output.splitlines()[:2]
    assert header.split() == ["ID", "STATE", "NAME", "LAST", "EVENT", "SYNCED", "FAILED", "LAST", "ERROR"]
    assert row.split()[:3] == ["1", "enabled", "first-try"] and "ago" in row
    assert "Customer" in row  # the last error, without --json


def test_without_a_running_server_the_url_says_what_it_assumes(settings: Settings, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "SECRET_KEY", "ADMIN_TOKEN"):
        value = getattr(settings, name.lower())
        monkeypatch.setenv(f"JIRA_SYNC_{name}", value if isinstance(value, str) else value.get_secret_value())
    monkeypatch.setenv("JIRA_SYNC_PORT", "8123")
    with FakeJiraServer(FakeJira("cloud")) as jira:
        applied = _apply(EXAMPLE.read_text().replace("http://127.0.0.1:8081", jira.url), tmp_path)
    assert applied.exit_code == 0, applied.output
    assert "webhook: http://127.0.0.1:8123/webhooks/flashduty/1" in applied.output
    assert "no running `jira-sync serve` found" in applied.output

    monkeypatch.setenv("JIRA_SYNC_PUBLIC_URL", "https://jira-sync.example.com/")
    listed = CliRunner().invoke(main, ["integrations", "list", "--json"])
    assert listed.exit_code == 0
    with FakeJiraServer(FakeJira("cloud")) as jira:
        again = _apply(EXAMPLE.read_text().replace("http://127.0.0.1:8081", jira.url), tmp_path)
    assert "webhook: https://jira-sync.example.com/webhooks/flashduty/1" in again.output
    assert "cannot reach" not in again.output and "no running" not in again.output


# ------------------------------------------------------------------ over the API (in-process)
def test_webhook_urls_warn_when_flashduty_cannot_reach_them(cloud: Stack) -> None:
    integration_id, _ = cloud.integration()
    settings = cloud.service.runtime.settings
    settings.public_url, settings.port = "", 8090  # `serve --port 8090`, no PUBLIC_URL
    hook = cloud.api.get(f"/api/integrations/{integration_id}").json()["webhook"]
    assert hook["url"] == f"http://127.0.0.1:8090/webhooks/flashduty/{integration_id}"
    assert "JIRA_SYNC_PUBLIC_URL" in hook["reachability_warning"] and "loopback" in hook["reachability_warning"]
    settings.public_url = "https://hooks.example.com"
    hook = cloud.api.get(f"/api/integrations/{integration_id}").json()["webhook"]
    assert hook["url"] == f"https://hooks.example.com/webhooks/flashduty/{integration_id}"
    assert hook["reachability_warning"] is None


def test_a_comment_without_an_app_key_is_said_to_be_skipped(cloud: Stack) -> None:
    cfg = cloud.config()
    cfg["flashduty"] = {"base_url": cloud.flashduty_url}  # no app key
    created = cloud.api.create_integration(cfg)
    integration_id, hook = created["id"], created["webhook"]
    assert any("no Flashduty app key" in w and "flashduty.app_key" in w for w in created["warnings"])
    sender = cloud.service.sender(hook["url"], {hook["header"]: hook["secret"]})
    try:
        opened = cloud.flashduty.open_incident()
        assert sender.send(opened) == 200
        incident_id = opened["incident"]["incident_id"]
        comment = cloud.flashduty.add_comment(incident_id, "the disk is full")
        answer = cloud.service.client().post(hook["url"], json=comment, headers={hook["header"]: hook["secret"]})
    finally:
        sender.close()
    assert answer.status_code == 200
    assert answer.json()["sync"] == "queued" and "comment skipped" in answer.json()["note"]
    assert "flashduty.app_key" in answer.json()["note"]
    cloud.synced()
    detail = cloud.api.incident(integration_id, incident_id)
    skipped = [e for e in detail["events"] if e["event_type"] == "i_comm"]
    assert skipped and skipped[0]["outcome"] == "queued_comment_skipped"
    assert "no Flashduty app key" in skipped[0]["note"] and "flashduty.app_key" in skipped[0]["note"]
    assert [e["note"] for e in detail["events"] if e["event_type"] == "i_new"] == [None]
    listed = cloud.api.get("/api/integrations").json()
    assert any("no Flashduty app key" in w for w in listed[0]["warnings"])
    # with an app key, no warning
    keyed, _ = cloud.integration(name="with-app-key")
    assert cloud.api.get(f"/api/integrations/{keyed}").json()["warnings"] == []


def test_a_rotated_secret_keeps_working_for_the_grace_period_then_not(cloud: Stack) -> None:
    settings = cloud.service.runtime.settings
    settings.secret_grace_hours = 2 / 3600  # two seconds, so the test can see it end
    integration_id, old = cloud.integration()
    rotated = cloud.api.post(f"/api/integrations/{integration_id}/webhook-secret").json()
    until = rotated["previous_secret_valid_until"]
    assert until is not None and time.time() < until <= time.time() + 2.5
    assert cloud.api.get(f"/api/integrations/{integration_id}").json()["webhook"]["previous_secret_valid_until"] == until
    new = cloud.service.sender(rotated["url"], {rotated["header"]: rotated["secret"]})
    try:
        assert old.send(cloud.flashduty.open_incident()) == 200  # Flashduty still sends the old one
        assert new.send(cloud.flashduty.open_incident()) == 200
        wait_until(lambda: time.time() > until, 5, "the grace period to end")
        assert old.send(cloud.flashduty.open_incident()) == 401
        assert new.send(cloud.flashduty.open_incident()) == 200
    finally:
        new.close()
    assert cloud.api.get(f"/api/integrations/{integration_id}").json()["webhook"]["previous_secret_valid_until"] is None
    # no grace configured: the old secret stops at once
    settings.secret_grace_hours = 0
    rotated_again = cloud.api.post(f"/api/integrations/{integration_id}/webhook-secret").json()
    assert rotated_again["previous_secret_valid_until"] is None
    again = cloud.service.sender(rotated["url"], {rotated["header"]: rotated["secret"]})
    try:
        assert again.send(cloud.flashduty.open_incident()) == 401
    finally:
        again.close()


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_page_loads_nothing_from_another_host(cloud: Stack) -> None:
    page = cloud.http.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    refs = _Refs()
    refs.feed(page.text)
    assert len(refs.refs) == 3  # the script, the stylesheet, the icon
    for ref in refs.refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        asset = cloud.http.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 1000, ref
    script = cloud.http.get(next(r for r in refs.refs if r.endswith(".js"))).text
    assert "SwaggerUIBundle" in script
    assert cloud.http.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_chinese_priorities_get_defaults(cloud: Stack) -> None:
    from e2e.conftest import CREDENTIALS

    body = {"connection": {"url": cloud.jira_url, **CREDENTIALS["cloud"]}, "project": "CN", "issue_type": "10001"}
    prio = cloud.api.post("/api/jira/priorities", json=body).json()
    assert [p["name"] for p in prio["priorities"]] == ["紧急", "高", "中", "低"]
    assert prio["defaults"] == {"Critical": "10000", "Warning": "10001", "Info": "10002"}  # 紧急, 高, 中
    ops = cloud.api.post("/api/jira/priorities", json={**body, "project": "OPS"}).json()
    assert ops["defaults"] == {"Critical": "1", "Warning": "3", "Info": "4"}  # Highest, Medium, Low


def test_log_lines_give_waits_rounded_and_no_retry_when_none_is_planned(cloud: Stack, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("INFO", logger="jira_sync.sync.worker")
    integration_id, sender = cloud.integration()
    cloud.jira.faults.add(method="POST", path=r"/issue$", kind="500", times=1)  # transient: retried
    cloud.send(sender, cloud.flashduty.open_incident())
    wait_until(lambda: any("retry in" in r.getMessage() for r in caplog.records), 15, "a retry to be logged")
    req, req_sender = cloud.integration(name="req", project="REQ", severity_map=None, check=False)
    cloud.send(req_sender, cloud.flashduty.open_incident())  # REQ's required field: fails for good
    wait_until(lambda: any("Customer" in r.getMessage() and r.name == "jira_sync.sync.worker" for r in caplog.records),
               15, "the failure to be logged")
    lines = [r.getMessage() for r in caplog.records if r.name == "jira_sync.sync.worker"]
    retried = next(line for line in lines if "retry in" in line)
    assert re.search(r"; retry in (\d+(\.\d)? s|\d+ min( \d+ s)?)$", retried), retried
    failed = next(line for line in lines if "Customer" in line)
    assert "retry" not in failed and "None" not in failed
