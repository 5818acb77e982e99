"""Changelog and `updated`: per-issue history, bulkfetch, expand=changelog, JQL on dates."""
from __future__ import annotations

import time

import pytest

from .support import assert_shape


def _no_nulls(value):
    """Jira answers null for absent from/to values; the spec types them as plain strings."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _edit_and_move(site):
    made = site.create_ok(labels=["a"])
    key = made["key"]
    api = site.api
    assert site.http.put(f"/rest/api/{api}/issue/{key}", json={"fields": {"priority": {"id": "2"}}}).status_code == 204
    assert site.http.put(f"/rest/api/{api}/issue/{key}", json={"update": {"labels": [{"add": "b"}]}}).status_code == 204
    assert site.http.post(f"/rest/api/{api}/issue/{key}/transitions", json={"transition": {"id": "31"}}).status_code == 204
    return made


def test_history_of_edits_and_transitions(cloud):
    made = _edit_and_move(cloud)
    page = cloud.http.get(f"/rest/api/3/issue/{made['key']}/changelog").json()
    assert_shape("PageBeanChangelog", _no_nulls(page))
    assert (page["total"], page["isLast"], page["startAt"]) == (3, True, 0)
    prio, labels, done = page["values"]  # oldest first
    assert prio["items"] == [{"field": "priority", "fieldtype": "jira", "fieldId": "priority", "from": "3",
                              "fromString": "Medium", "to": "2", "toString": "High"}]
    assert labels["items"][0] == {"field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None,
                                "fromString": "a", "to": None, "toString": "a b"}
    assert [(i["field"], i["fromString"], i["toString"]) for i in done["items"]] == [
        ("status", "To Do", "Done"), ("resolution", None, "Done")]
    assert done["author"]["accountId"] == "5b10ac8d82e05b22cc7d4ef5" and done["created"].endswith("+0000")
    second = cloud.http.get(f"/rest/api/3/issue/{made['id']}/changelog", params={"startAt": 1, "maxResults": 1}).json()
    assert [v["id"] for v in second["values"]] == [labels["id"]] and not second["isLast"] and "nextPage" in second
    # An edit that changes nothing records nothing.
    same = cloud.http.put(f"/rest/api/3/issue/{made['key']}", json={"fields": {"priority": {"id": "2"}}})
    assert same.status_code == 204
    assert cloud.http.get(f"/rest/api/3/issue/{made['key']}/changelog").json()["total"] == 3


def test_expand_changelog_and_updated(site):
    made = _edit_and_move(site)
    issue = site.http.get(f"/rest/api/{site.api}/issue/{made['key']}", params={"expand": "changelog"}).json()
    log = issue["changelog"]
    assert log["total"] == 3 and len(log["histories"]) == 3
    fields = [h["items"][0]["field"] for h in log["histories"]]
    # Cloud: newest first (spec); Server: oldest first. Server items have no fieldId.
    assert fields == (["status", "labels", "priority"] if site.fake.cloud else ["priority", "labels", "status"])
    assert ("fieldId" in log["histories"][0]["items"][0]) == site.fake.cloud
    assert issue["fields"]["updated"] >= issue["fields"]["created"]
    assert "changelog" not in site.http.get(f"/rest/api/{site.api}/issue/{made['key']}").json()
    stored = site.fake.issue(made["key"])
    assert stored.updated >= stored.created and len(stored.changelog) == 3


def test_server_has_no_changelog_endpoint_but_search_expands(server):
    made = _edit_and_move(server)
    r = server.http.get(f"/rest/api/2/issue/{made['key']}/changelog")
    assert r.status_code == 404 and "null for uri" in r.json()["message"]
    assert server.http.post("/rest/api/2/changelog/bulkfetch", json={"issueIdsOrKeys": ["1"]}).status_code == 404
    page = server.http.get("/rest/api/2/search", params={"jql": "project = OPS", "expand": "changelog"}).json()
    assert page["issues"][0]["changelog"]["total"] == 3


def test_bulkfetch(cloud):
    one, two = _edit_and_move(cloud), _edit_and_move(cloud)
    body = {"issueIdsOrKeys": [one["key"], two["id"], "OPS-999"], "fieldIds": ["status", "priority"]}
    r = cloud.http.post("/rest/api/3/changelog/bulkfetch", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert_shape("BulkChangelogResponseBean", _no_nulls(out))
    assert "nextPageToken" not in out
    by_issue = {x["issueId"]: x["changeHistories"] for x in out["issueChangeLogs"]}
    assert set(by_issue) == {one["id"], two["id"]}  # a missing issue is left out
    assert [[i["fieldId"] for h in by_issue[one["id"]] for i in h["items"]]] == [["priority", "status"]]
    seen, token = [], None
    while True:
        r = cloud.http.post("/rest/api/3/changelog/bulkfetch", json={
            "issueIdsOrKeys": [one["key"], two["key"]], "maxResults": 2, **({"nextPageToken": token} if token else {})})
        page = r.json()
        seen += [h["id"] for x in page["issueChangeLogs"] for h in x["changeHistories"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == 6 == len(set(seen))
    for bad in ({}, {"issueIdsOrKeys": []}, {"issueIdsOrKeys": ["1"], "fieldIds": [str(i) for i in range(11)]},
                {"issueIdsOrKeys": ["1"], "maxResults": 0}, {"issueIdsOrKeys": ["1"], "nextPageToken": "zz"}):
        assert cloud.http.post("/rest/api/3/changelog/bulkfetch", json=bad).status_code == 400, bad


def _minute(ts: float) -> str:
    return time.strftime("%Y/%m/%d %H:%M", time.gmtime(ts))


def test_jql_updated_minute_precision_and_order(cloud):
    a = cloud.create_ok(labels=["w"])
    b = cloud.create_ok(labels=["w"])
    cloud.http.put(f"/rest/api/3/issue/{a['key']}", json={"fields": {"summary": "touched"}})  # a is now newest
    now = cloud.fake.now()

    def keys(jql):
        r = cloud.http.post("/rest/api/3/search/jql", json={"jql": jql, "fields": ["key"]})
        assert r.status_code == 200, r.text
        return [i["key"] for i in r.json()["issues"]]

    assert keys(f'labels = w AND updated >= "{_minute(now - 60)}" ORDER BY updated DESC') == [a["key"], b["key"]]
    assert keys(f'labels = w AND updated >= "{_minute(now - 60)}" ORDER BY updated ASC') == [b["key"], a["key"]]
    assert keys(f'labels = w AND updated > "{_minute(now + 120)}"') == []
    assert keys(f'labels = w AND updated <= "{_minute(now - 120)}"') == []
    assert keys(f"labels = w AND updated >= -5m AND created < '{_minute(now + 120)}'") != []
    assert keys(f"issue in ({a['id']}, {b['key']}) ORDER BY key") == [a["key"], b["key"]]
    assert keys(f"id in ({a['id']}) AND project in (OPS, NOPRI)") == [a["key"]]
    for bad in ('updated >= "2024/13/01"', "updated >= yesterday", "updated in (-1d)", "labels > a"):
        r = cloud.http.post("/rest/api/3/search/jql", json={"jql": f"project = OPS AND {bad}"})
        assert r.status_code == 400 and r.json()["errorMessages"] and r.json()["errors"] == {}, bad


def test_clock_offset_moves_timestamps(cloud):
    cloud.fake.clock_offset_s = -7200
    try:
        made = cloud.create_ok()
        issue = cloud.fake.issue(made["key"])
        assert time.time() - issue.created == pytest.approx(7200, abs=5)
        r = cloud.http.post("/rest/api/3/search/jql", json={"jql": f"project = OPS AND updated < '{_minute(time.time() - 3600)}'"})
        assert [i["id"] for i in r.json()["issues"]] == [made["id"]]
    finally:
        cloud.fake.clock_offset_s = 0
