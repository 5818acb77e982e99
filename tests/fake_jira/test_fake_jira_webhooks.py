"""Admin webhooks: registration (admins only), payloads, signatures, background delivery,
Cloud's retries, lost deliveries."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from .support import adf

HOOKS = "/rest/webhooks/1.0/webhook"
ALL = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
       "comment_created", "comment_updated", "comment_deleted"]


def _register(site, receiver, **extra):
    body = {"name": "jira-sync", "url": receiver.url, "events": ALL,
            "filters": {"issue-related-events-section": "project = OPS"}, "excludeBody": False, **extra}
    r = site.http.post(HOOKS, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_registration_rest(site, receiver):
    hook = _register(site, receiver, secret="s3cret")
    assert hook["self"].endswith(f"{HOOKS}/1") and hook["events"] == ALL and hook["enabled"] is True
    assert hook["filters"] == {"issue-related-events-section": "project = OPS"} and "secret" not in hook
    assert site.http.get(HOOKS).json() == [hook]
    assert site.http.get(f"{HOOKS}/1").json() == hook
    assert site.http.get(f"{HOOKS}/2").status_code == 404
    login = ("alice@example.com", "alice-token") if site.fake.cloud else ("alice", "alice")
    with site.client(login) as alice:  # every permission in projects, but not a Jira administrator
        assert alice.get(HOOKS).status_code == 403
        assert alice.post(HOOKS, json={"name": "x", "url": receiver.url, "events": ALL}).status_code == 403
        assert alice.delete(f"{HOOKS}/1").status_code == 403
    for bad in ({"name": "x", "url": receiver.url, "events": ["jira:issue_exploded"]},
                {"name": "x", "url": "ftp://example.com", "events": ALL},
                {"url": receiver.url, "events": ALL},
                {"name": "x", "url": receiver.url, "events": ALL, "filters": {"issue-related-events-section": "summary ~ x"}}):
        assert site.http.post(HOOKS, json=bad).status_code == 400, bad
    assert site.http.delete(f"{HOOKS}/1").status_code == 204
    assert site.http.get(HOOKS).json() == [] and site.http.delete(f"{HOOKS}/1").status_code == 404


def test_own_changes_come_back_signed(cloud, receiver):
    _register(cloud, receiver, secret="s3cret")
    made = cloud.create_ok()
    cloud.http.put(f"/rest/api/3/issue/{made['key']}", json={"fields": {"priority": {"id": "1"}}})
    cloud.http.post(f"/rest/api/3/issue/{made['key']}/comment", json={"body": adf("from the API")})
    cloud.create_ok("NOPRI")  # outside the filter
    got = receiver.wait_for(4)
    assert cloud.fake.wait_for_webhooks(5)
    assert len(receiver.requests) == 4
    payloads = [json.loads(r["body"]) for r in got]
    assert sorted(p["webhookEvent"] for p in payloads) == sorted(
        ["jira:issue_created", "jira:issue_updated", "jira:issue_updated", "comment_created"])
    for r in got:
        digest = hmac.new(b"s3cret", r["body"], hashlib.sha256).hexdigest()
        assert r["headers"]["x-hub-signature"] == f"sha256={digest}"
        assert r["headers"]["x-atlassian-webhook-identifier"]
        assert r["path"] == "/jira-hook"
    assert len({r["headers"]["x-atlassian-webhook-identifier"] for r in got}) == 4
    created = next(p for p in payloads if p["webhookEvent"] == "jira:issue_created")
    assert created["issue_event_type_name"] == "issue_created" and created["issue"]["key"] == made["key"]
    assert created["user"]["accountId"] == "5b10ac8d82e05b22cc7d4ef5" and "emailAddress" not in created["user"]
    assert isinstance(created["timestamp"], int) and created["timestamp"] > 1.6e12
    edited = next(p for p in payloads if p.get("issue_event_type_name") == "issue_updated")
    assert edited["changelog"]["items"] == [{"field": "priority", "fieldtype": "jira", "fieldId": "priority",
                                             "from": "3", "fromString": "Medium", "to": "1", "toString": "Highest"}]
    assert edited["issue"]["fields"]["priority"]["id"] == "1"  # the issue after the change
    comment = next(p for p in payloads if p["webhookEvent"] == "comment_created")
    assert comment["comment"]["body"] == "from the API"  # v2 (wiki) representation
    assert comment["issue"]["key"] == made["key"] and set(comment["issue"]["fields"]) >= {"summary", "status"}
    commented = next(p for p in payloads if p.get("issue_event_type_name") == "issue_commented")
    assert commented["comment"]["id"] == comment["comment"]["id"] and "changelog" not in commented
    log = cloud.fake.webhook_deliveries
    assert [d.status for d in log] == [200] * 4 and all(d.attempt == 1 for d in log)


def test_people_act_and_webhooks_say_who(site, receiver):
    _register(site, receiver)
    made = site.create_ok()
    receiver.wait_for(1)
    alice = site.fake.act_as("alice")
    alice.transition(made["key"], "In Progress")
    alice.set_priority(made["key"], "High")
    c = alice.comment(made["key"], "Looking at it")
    alice.edit_comment(c.id, "Looking at it now")
    alice.delete_comment(c.id)
    alice.add_label(made["key"], "human")
    got = receiver.wait_for(10)
    assert site.fake.wait_for_webhooks(5)
    payloads = [json.loads(r["body"]) for r in got]
    ident = "accountId" if site.fake.cloud else "name"
    expect = "5b10ac8d82e05b22cc7d4ef7" if site.fake.cloud else "alice"
    updates = [p for p in payloads if p["webhookEvent"] == "jira:issue_updated"]
    # Deliveries run in parallel: any order is possible, as on Cloud.
    assert sorted(p["issue_event_type_name"] for p in updates) == sorted([
        "issue_generic", "issue_updated", "issue_commented", "issue_comment_edited", "issue_comment_deleted",
        "issue_updated"])
    assert all(p["user"][ident] == expect for p in updates)
    moved = next(p for p in updates if p["issue_event_type_name"] == "issue_generic")
    status = moved["changelog"]["items"][0]
    assert (status["field"], status["fromString"], status["toString"]) == ("status", "To Do", "In Progress")
    assert sorted(p["webhookEvent"] for p in payloads if p["webhookEvent"].startswith("comment_")) == [
        "comment_created", "comment_deleted", "comment_updated"]
    issue = site.fake.issue(made["key"])
    assert [g.author.name for g in issue.changelog] == ["alice", "alice", "alice"]
    assert issue.status_name == "In Progress" and issue.labels == ["human"] and not issue.comments


def test_cloud_retries_with_the_same_identifier(cloud, receiver):
    cloud.fake.webhook_retry_delays = (0.05, 0.05, 0.05)
    receiver.answers = [503, 429, 200]
    _register(cloud, receiver, events=["jira:issue_created"])
    cloud.create_ok()
    got = receiver.wait_for(3)
    assert cloud.fake.wait_for_webhooks(5)
    assert [r["status"] for r in got] == [503, 429, 200]
    assert len({r["headers"]["x-atlassian-webhook-identifier"] for r in got}) == 1
    assert [r["headers"].get("x-atlassian-webhook-retry") for r in got] == [None, "1", "2"]
    assert [(d.attempt, d.status) for d in cloud.fake.webhook_deliveries] == [(1, 503), (2, 429), (3, 200)]
    receiver.answers = [500] * 10  # more failures than retries: Jira gives up
    cloud.create_ok()
    assert cloud.fake.wait_for_webhooks(5)
    assert [d.status for d in cloud.fake.webhook_deliveries[3:]] == [500] * 4
    receiver.answers = [404]  # not a retryable answer
    cloud.create_ok()
    assert cloud.fake.wait_for_webhooks(5)
    assert [d.status for d in cloud.fake.webhook_deliveries[7:]] == [404]


def test_cloud_retries_a_timeout(cloud, receiver):
    cloud.fake.webhook_retry_delays = (0.05,)
    cloud.fake.webhook_timeout_s = 0.2
    receiver.delay = 0.5
    _register(cloud, receiver, events=["jira:issue_created"])
    started = time.monotonic()
    cloud.create_ok()
    assert time.monotonic() - started < 0.3  # delivery never blocks the API call
    assert cloud.fake.wait_for_webhooks(5)
    log = cloud.fake.webhook_deliveries
    assert [(d.attempt, d.status) for d in log] == [(1, None), (2, None)] and "Timeout" in log[0].error


def test_server_does_not_retry_or_sign(make_site, receiver):
    server = make_site("server", "8.20.0")
    server.fake.webhook_retry_delays = (0.05,)
    receiver.answers = [503]
    _register(server, receiver, events=["jira:issue_created"], secret="ignored")
    server.create_ok()
    got = receiver.wait_for(1)
    assert server.fake.wait_for_webhooks(5)
    time.sleep(0.2)
    assert len(receiver.requests) == 1 and "x-hub-signature" not in got[0]["headers"]
    assert "x-atlassian-webhook-identifier" not in got[0]["headers"]
    payload = json.loads(got[0]["body"])
    assert payload["user"]["name"] == "admin" and payload["user"]["key"] == "JIRAUSER10000"


def test_data_center_10_signs(make_site, receiver):
    dc = make_site("datacenter", "10.3.0")
    _register(dc, receiver, events=["jira:issue_created"], secret="s3cret")
    dc.create_ok()
    [got] = receiver.wait_for(1)
    assert got["headers"]["x-hub-signature"] == "sha256=" + hmac.new(b"s3cret", got["body"], hashlib.sha256).hexdigest()


def test_dropped_deliveries_and_exclude_body(cloud, receiver):
    cloud.fake.drop_webhooks = True
    _register(cloud, receiver, events=["jira:issue_created", "jira:issue_deleted"])
    made = cloud.create_ok()
    assert cloud.fake.wait_for_webhooks(5)
    assert receiver.requests == [] and [(d.dropped, d.status) for d in cloud.fake.webhook_deliveries] == [(True, None)]
    cloud.fake.drop_webhooks = False
    cloud.fake.add_webhook(receiver.url, ["jira:issue_deleted"], exclude_body=True, secret="k")
    cloud.fake.delete_issue(made["key"])
    got = receiver.wait_for(2)
    bodies = sorted(r["body"] for r in got)
    assert bodies[0] == b"" and json.loads(bodies[1])["webhookEvent"] == "jira:issue_deleted"
    empty = next(r for r in got if r["body"] == b"")
    assert empty["headers"]["x-hub-signature"] == "sha256=" + hmac.new(b"k", b"", hashlib.sha256).hexdigest()
