"""Cloud's lagging search index: any lag, set at any time; updates lag too; reconcileIssues."""
from __future__ import annotations

import time

from .support import adf


def _keys(site, jql, **extra):
    r = site.http.post("/rest/api/3/search/jql", json={"jql": jql, "fields": ["key"], **extra})
    assert r.status_code == 200, r.text
    return [i["key"] for i in r.json()["issues"]]


def test_lag_set_after_construction_hides_new_issues(cloud):
    cloud.fake.search_lag_s = 600  # ten minutes, set on a running site
    try:
        made = cloud.create_ok(labels=["fresh"])
        assert _keys(cloud, "labels = fresh") == []
        assert _keys(cloud, "project = OPS") == []
        # reconcileIssues makes the listed issues read-after-write consistent (POST array, GET list).
        assert _keys(cloud, "labels = fresh", reconcileIssues=[int(made["id"])]) == [made["key"]]
        r = cloud.http.get("/rest/api/3/search/jql",
                           params={"jql": "labels = fresh", "fields": "key", "reconcileIssues": made["id"]})
        assert [i["key"] for i in r.json()["issues"]] == [made["key"]]
        cloud.fake.search_lag_s = 0
        assert _keys(cloud, "labels = fresh") == [made["key"]]
    finally:
        cloud.fake.search_lag_s = 0


def test_lagging_index_sees_old_labels_and_status(cloud):
    made = cloud.create_ok(labels=["before"])
    time.sleep(0.3)
    cloud.fake.search_lag_s = 0.2
    try:
        r = cloud.http.put(f"/rest/api/3/issue/{made['key']}", json={"fields": {"labels": ["after"]}})
        assert r.status_code == 204
        cloud.http.post(f"/rest/api/3/issue/{made['key']}/transitions", json={"transition": {"id": "21"}})
        assert _keys(cloud, "labels = before") == [made["key"]]  # the index still has the old labels
        assert _keys(cloud, "labels = after") == []
        assert _keys(cloud, "status = 'To Do' AND project = OPS") == [made["key"]]
        assert _keys(cloud, "labels = after", reconcileIssues=[int(made["id"])]) == [made["key"]]
        assert _keys(cloud, "labels = before", reconcileIssues=[int(made["id"])]) == []
        # Results are read from the database: the fields are current even when the match was stale.
        r = cloud.http.post("/rest/api/3/search/jql", json={"jql": "labels = before", "fields": ["labels"]})
        assert r.json()["issues"][0]["fields"]["labels"] == ["after"]
        time.sleep(0.25)
        assert _keys(cloud, "labels = before") == []
        assert _keys(cloud, "labels = after") == [made["key"]]
        assert _keys(cloud, "status = 'In Progress' AND project = OPS") == [made["key"]]
    finally:
        cloud.fake.search_lag_s = 0


def test_reconcile_issues_is_checked(cloud):
    r = cloud.http.post("/rest/api/3/search/jql", json={"jql": "project = OPS", "reconcileIssues": list(range(51))})
    assert r.status_code == 400 and r.json()["errorMessages"]
    r = cloud.http.post("/rest/api/3/search/jql", json={"jql": "project = OPS", "reconcileIssues": ["x"]})
    assert r.status_code == 400  # int64 items (OpenAPI)
    r = cloud.http.get("/rest/api/3/search/jql", params={"jql": "project = OPS", "reconcileIssues": "x"})
    assert r.status_code == 400


def test_server_search_ignores_the_lag(server):
    server.fake.search_lag_s = 600
    try:
        made = server.create_ok(labels=["now"])
        page = server.http.get("/rest/api/2/search", params={"jql": "labels = now"}).json()
        assert [i["key"] for i in page["issues"]] == [made["key"]]
    finally:
        server.fake.search_lag_s = 0


def test_deleted_issue_leaves_search_at_once_even_when_lagging(cloud):
    made = cloud.create_ok(labels=["gone"])
    time.sleep(0.05)
    cloud.fake.search_lag_s = 0.01
    try:
        cloud.fake.delete_issue(made["key"])
        assert _keys(cloud, "labels = gone") == []
    finally:
        cloud.fake.search_lag_s = 0
    body = {"body": adf("x")}
    assert cloud.http.post(f"/rest/api/3/issue/{made['key']}/comment", json=body).status_code == 404
