"""Search: Cloud's /search/jql (cursor, no total, 410 on the old path), Server's /search, JQL strictness."""
from __future__ import annotations

import time

import pytest

from .support import assert_shape


def test_cloud_old_search_is_gone(cloud):
    for api in ("2", "3"):
        r = cloud.http.get(f"/rest/api/{api}/search", params={"jql": "project = OPS"})
        assert r.status_code == 410 and "search/jql" in r.json()["errorMessages"][0]
        assert cloud.http.post(f"/rest/api/{api}/search", json={"jql": "project = OPS"}).status_code == 410


def test_cloud_search_jql_pages_with_token(cloud):
    keys = [cloud.create_ok(labels=["batch"])["key"] for _ in range(5)]
    cloud.create_ok("NOPRI", labels=["batch"])
    seen, token, pages = [], None, 0
    while True:
        body = {"jql": 'project = OPS AND labels = "batch" ORDER BY key ASC', "maxResults": 2, "fields": ["key", "status"]}
        if token:
            body["nextPageToken"] = token
        page = cloud.http.post("/rest/api/3/search/jql", json=body).json()
        assert_shape("SearchAndReconcileResults", page)
        assert "total" not in page
        seen += [i["key"] for i in page["issues"]]
        pages += 1
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            break
    assert seen == keys and pages == 3
    ids_only = cloud.http.get("/rest/api/2/search/jql", params={"jql": "labels in (batch)"}).json()
    assert all(set(i) == {"id"} for i in ids_only["issues"]) and len(ids_only["issues"]) == 6


def test_cloud_search_lag(make_site):
    lagging = make_site("cloud", search_lag_s=0.3)
    key = lagging.create_ok(labels=["fresh"])["key"]
    params = {"jql": 'labels = "fresh"', "fields": "key"}
    assert lagging.http.get("/rest/api/3/search/jql", params=params).json()["issues"] == []
    assert lagging.fake.issues_with_label("fresh")[0].key == key  # it exists; the index just lags
    time.sleep(0.35)
    assert [i["key"] for i in lagging.http.get("/rest/api/3/search/jql", params=params).json()["issues"]] == [key]


def test_server_search_start_at_and_total(server):
    for _ in range(3):
        server.create_ok(labels=["x"])
    assert server.http.get("/rest/api/2/search/jql", params={"jql": "labels = x"}).status_code == 404
    page = server.http.get("/rest/api/2/search", params={"jql": "labels = x order by key asc", "startAt": 1, "maxResults": 1}).json()
    assert (page["total"], page["startAt"], page["maxResults"]) == (3, 1, 1)
    assert [i["key"] for i in page["issues"]] == ["OPS-2"] and "summary" in page["issues"][0]["fields"]
    posted = server.http.post("/rest/api/2/search", json={"jql": "project = OPS", "fields": ["status"]}).json()
    assert posted["total"] == 3 and set(posted["issues"][0]["fields"]) == {"status"}


@pytest.mark.parametrize("jql", [
    'project = OPS AND labels = "flashduty-7"',
    "PROJECT = ops and LABELS in (flashduty-7, unused)",
    "project in (OPS, NOPRI) AND issuetype = 10001 AND labels IN ('flashduty-7')",
    "key = OPS-1",
    "issuekey in (OPS-1) and status = 'To Do' order by created desc",
    "labels = flashduty-7 AND labels != other",
])
def test_jql_subset(cloud, jql):
    cloud.create_ok(labels=["flashduty-7"])
    cloud.create_ok(labels=["other"])
    r = cloud.http.get("/rest/api/3/search/jql", params={"jql": jql, "fields": "key"})
    assert r.status_code == 200, r.text
    assert [i["key"] for i in r.json()["issues"]] == ["OPS-1"]


@pytest.mark.parametrize("jql", [
    "",
    "order by created",
    "project = OPS OR labels = x",
    "summary ~ disk",
    "assignee = currentUser()",
    "project = NOPE",
    "project = OPS AND",
    "labels in (a",
    "project = OPS AND (labels = a)",
    "key = OPS-999",
])
def test_jql_rejected(cloud, jql):
    r = cloud.http.get("/rest/api/3/search/jql", params={"jql": jql})
    assert r.status_code == 400 and r.json()["errorMessages"], jql


def test_search_jql_body_is_strict(cloud):
    r = cloud.http.post("/rest/api/3/search/jql", json={"jql": "project = OPS", "startAt": 0})
    assert r.status_code == 400  # startAt is not part of the enhanced search (OpenAPI)
    r = cloud.http.post("/rest/api/3/search/jql", json={"jql": "project = OPS", "nextPageToken": "garbage"})
    assert r.status_code == 400
