"""Deleted issues answer Jira's 404 everywhere; endpoints can be made missing (older or third-party Jira)."""
from __future__ import annotations

import pytest

from .support import adf

NO_ISSUE = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}


def test_deleted_issue_is_404_everywhere(site):
    made = site.create_ok()
    api = site.api
    cid = site.http.post(f"/rest/api/{api}/issue/{made['key']}/comment",
                         json={"body": adf("x") if site.fake.cloud else "x"}).json()["id"]
    site.fake.delete_issue(made["key"])
    calls = [
        ("GET", f"/rest/api/{api}/issue/{made['key']}", None),
        ("GET", f"/rest/api/{api}/issue/{made['id']}", None),
        ("PUT", f"/rest/api/{api}/issue/{made['id']}", {"fields": {"summary": "x"}}),
        ("GET", f"/rest/api/{api}/issue/{made['key']}/transitions", None),
        ("POST", f"/rest/api/{api}/issue/{made['key']}/transitions", {"transition": {"id": "21"}}),
        ("GET", f"/rest/api/{api}/issue/{made['key']}/comment", None),
        ("GET", f"/rest/api/{api}/issue/{made['key']}/comment/{cid}", None),
        ("DELETE", f"/rest/api/{api}/issue/{made['key']}", None),
    ]
    if site.fake.cloud:
        calls.append(("GET", f"/rest/api/3/issue/{made['key']}/changelog", None))
    for method, path, body in calls:
        r = site.http.request(method, path, json=body)
        assert (r.status_code, r.json()) == (404, NO_ISSUE), (method, path)
    assert site.http.get(f"/rest/api/{api}/comment/{cid}/properties").status_code == 404
    assert site.fake.issue(made["key"]) is None and not site.fake.issues


def test_delete_over_rest(site):
    made = site.create_ok()
    viewer = site.as_viewer()
    assert viewer.delete(f"/rest/api/{site.api}/issue/{made['key']}").status_code == 403
    assert site.http.delete(f"/rest/api/{site.api}/issue/{made['key']}").status_code == 204
    assert site.http.get(f"/rest/api/{site.api}/issue/{made['id']}").json() == NO_ISSUE
    assert site.create_ok()["key"] == "OPS-2"  # numbers are not reused
    viewer.close()


def test_missing_named_kinds(site):
    made = site.create_ok()
    api = site.api
    site.fake.missing = {"mypermissions", "issue_by_id"}
    r = site.http.get(f"/rest/api/{api}/mypermissions", params={"permissions": "BROWSE_PROJECTS"})
    assert r.status_code == 404 and "null for uri" in r.json()["message"]
    assert site.http.get(f"/rest/api/{api}/issue/{made['id']}").status_code == 404
    assert site.http.put(f"/rest/api/{api}/issue/{made['id']}", json={"fields": {"summary": "y"}}).status_code == 404
    assert site.http.get(f"/rest/api/{api}/issue/{made['id']}/transitions").status_code == 404
    assert site.http.get(f"/rest/api/{api}/issue/{made['key']}").status_code == 200
    assert site.http.put(f"/rest/api/{api}/issue/{made['key']}", json={"fields": {"summary": "y"}}).status_code == 204
    assert site.create().status_code == 201  # POST /issue is not /issue/{id}
    assert site.fake.missing == {"mypermissions", "issue_by_id"}
    site.fake.missing = set()
    assert site.http.get(f"/rest/api/{api}/issue/{made['id']}").status_code == 200
    with pytest.raises(ValueError):
        site.fake.missing = {"no-such-kind"}


def test_missing_rule_and_reset(cloud):
    cloud.fake.add_missing(r"/project/search$", method="GET")
    assert cloud.http.get("/rest/api/3/project/search").status_code == 404
    assert cloud.http.get("/rest/api/3/project").status_code == 200
    cloud.fake.reset()
    assert cloud.http.get("/rest/api/3/project/search").status_code == 200
