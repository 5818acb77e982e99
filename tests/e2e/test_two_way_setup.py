"""Two-way sync's edges, in-process: Jira's webhook endpoint (signature, URL secret, dedupe,
refusals that store nothing), "register it for me" without a Jira administrator, the app key
check, and secrets kept out of answers and logs."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest

from e2e.conftest import Stack
from support.configs import CREDENTIALS

TWO_WAY = {"status": {"direction": "two_way"}}


def event(issue_id: str, who: str = "5b10ac8d82e05b22cc7d4ef7") -> bytes:
    return json.dumps({"timestamp": 1, "webhookEvent": "jira:issue_updated", "user": {"accountId": who},
                       "issue": {"id": issue_id, "key": "OPS-1"}}).encode()


def signed(secret: str, body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


def test_jira_webhooks_are_signed_or_carry_the_secret_and_count_once(cloud: Stack, caplog: pytest.LogCaptureFixture
                                                                     ) -> None:
    caplog.set_level(logging.DEBUG)
    iid, _ = cloud.integration(two_way=TWO_WAY)
    url = f"/webhooks/jira/{iid}"
    body = event("10000")
    # no secret made yet: nothing proves a delivery
    assert cloud.http.post(url, content=body, headers={"Content-Type": "application/json"}).status_code == 401
    setup = cloud.api.post(f"/api/integrations/{iid}/two-way/jira-webhook").json()
    secret = setup["secret"]
    assert setup["registered"] is False and setup["jql"] == 'project = "OPS"' and "?secret=" not in setup["url"]
    assert any("WebHooks" in s for s in setup["steps"])

    assert cloud.http.post(url, content=body, headers=signed("wrong", body)).status_code == 401
    assert cloud.http.post(url, content=body, headers={**signed(secret, body), "X-Hub-Signature": "sha256=00"}
                           ).status_code == 401
    ok = cloud.http.post(url, content=body, headers={**signed(secret, body), "X-Atlassian-Webhook-Identifier": "d-1"})
    assert ok.status_code == 200 and ok.json()["status"] == "not_linked"
    again = cloud.http.post(url, content=body, headers={**signed(secret, body), "X-Atlassian-Webhook-Identifier": "d-1"})
    assert again.json()["status"] == "duplicate"  # Cloud's retry of the same delivery
    by_url = cloud.http.post(f"{url}?secret={secret}", content=event("10001"),
                             headers={"Content-Type": "application/json"})
    assert by_url.status_code == 200  # Server/DC 7.x-8.x: unsigned, the secret in the URL
    not_json = cloud.http.post(f"{url}?secret={secret}", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400

    # the secret is shown once, never again, and never logged
    assert secret not in cloud.api.get(f"/api/integrations/{iid}").text
    assert secret not in cloud.api.get(f"/api/integrations/{iid}/two-way").text
    assert cloud.api.get(f"/api/integrations/{iid}/two-way").json()["webhook_secret_set"] is True
    # (the test's own client logs the URLs it asks, `?secret=` included: the service's records only)
    service = [r for r in caplog.records if "http://service.test/" not in r.getMessage()]
    assert service and all(secret not in r.getMessage() for r in service)
    # a new secret replaces the old one at once
    cloud.api.post(f"/api/integrations/{iid}/two-way/jira-webhook")
    assert cloud.http.post(f"{url}?secret={secret}", content=event("10002"),
                           headers={"Content-Type": "application/json"}).status_code == 401


def test_register_for_me_needs_a_jira_administrator(cloud: Stack) -> None:
    alice = {**CREDENTIALS["cloud"], "username": "alice@example.com", "secret": "alice-token"}
    iid, _ = cloud.integration(name="as-alice", jira={"url": cloud.jira_url, **alice}, two_way=TWO_WAY)
    r = cloud.api.post(f"/api/integrations/{iid}/two-way/jira-webhook", params={"register": "true"})
    assert r.status_code == 502 and "administrator" in r.text
    assert cloud.jira.hooks.registered == {}
    admin_iid, _ = cloud.integration(name="as-admin", two_way=TWO_WAY)
    r = cloud.api.post(f"/api/integrations/{admin_iid}/two-way/jira-webhook", params={"register": "true"})
    assert r.status_code == 200 and r.json()["registered"] is True
    (hook,) = cloud.jira.hooks.registered.values()
    assert hook.jql == 'project = "OPS"' and set(hook.events) == {"jira:issue_updated", "comment_created"}
    assert hook.secret == r.json()["secret"]


def test_two_way_needs_an_app_key_that_may_write(cloud: Stack) -> None:
    bad = cloud.api.post("/api/integrations", json=cloud.config(name="no-key", flashduty={}, two_way=TWO_WAY))
    assert bad.status_code == 422 and "app_key" in bad.text
    iid, _ = cloud.integration(two_way=TWO_WAY)
    check = cloud.api.post(f"/api/integrations/{iid}/two-way/check-app-key").json()
    assert check == {"may_write": True, "message": "the app key may write incidents", "member": "Jira Sync"}
    ro, _ = cloud.integration(name="read-only", two_way=TWO_WAY, flashduty={
        "base_url": cloud.flashduty_url, "app_key": cloud.flashduty.read_only_app_key})
    check = cloud.api.post(f"/api/integrations/{ro}/two-way/check-app-key").json()
    assert check["may_write"] is False and "403" in check["message"]
    assert cloud.flashduty.read_only_app_key not in json.dumps(check)


def test_a_write_flashduty_refuses_is_noted_and_the_sync_goes_on(cloud: Stack) -> None:
    """A read-only app key: the ack is refused (403), the timeline says so once, the incident is
    not failed, and Flashduty's own changes still reach Jira. Found by polling (in-process)."""
    from e2e.conftest import wait_until

    iid, sender = cloud.integration(two_way={**TWO_WAY, "poll_seconds": 1}, flashduty={
        "base_url": cloud.flashduty_url, "app_key": cloud.flashduty.read_only_app_key})
    inc = cloud.flashduty.open_incident()
    cloud.send(sender, inc)
    incident_id = inc["incident"]["incident_id"]
    cloud.synced()
    issue = cloud.issue_for(incident_id)
    cloud.jira.act_as("alice").transition(issue.key, "In Progress")

    def refused() -> list[dict]:
        evs = cloud.api.incident(iid, incident_id)["jira_events"]
        return [e for e in evs if e["outcome"] == "refused" and "refused the write" in (e["note"] or "")
                and "AccessDenied" in e["note"]]
    wait_until(refused, what="the refusal on the timeline")
    time.sleep(2.5)  # two more polls: the change is not tried again
    assert len(refused()) == 1
    view = cloud.api.incident(iid, incident_id)
    # the issue-key comment was refused too, and said so once
    assert sum(e["outcome"] == "refused" for e in view["jira_events"]) == 2
    assert view["state"] != "failed" and cloud.flashduty.incident(incident_id)["progress"] == "Triggered"
    cloud.send(sender, cloud.flashduty.resolve(incident_id, by="Alice"))  # Flashduty -> Jira still flows
    cloud.synced()
    assert cloud.jira.issue(issue.key).status_name == "Done"
