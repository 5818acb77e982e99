"""Workflows: only transitions available from the current status; required transition fields."""
from __future__ import annotations

from .support import assert_shape


def _transitions(site, key, **params):
    r = site.http.get(f"/rest/api/2/issue/{key}/transitions", params=params)
    assert r.status_code == 200
    return r.json()["transitions"]


def _go(site, key, tid, **body):
    return site.http.post(f"/rest/api/2/issue/{key}/transitions", json={"transition": {"id": tid}, **body})


def test_multi_step_workflow_with_required_resolution(site):
    key = site.create_ok("FLOW")["key"]
    assert [(t["id"], t["name"], t["to"]["name"]) for t in _transitions(site, key)] == [("11", "Start Triage", "Triage")]
    r = _go(site, key, "21")  # Start Progress is not available from Open
    assert r.status_code == 400 and r.json()["errorMessages"] == ["Transition id '21' is not valid for this issue."]
    assert _go(site, key, "11").status_code == 204
    assert {t["name"] for t in _transitions(site, key)} == {"Start Progress", "Back to Open"}
    assert _go(site, key, "21").status_code == 204
    [resolve] = [t for t in _transitions(site, key, expand="transitions.fields") if t["name"] == "Resolve"]
    assert resolve["to"]["statusCategory"]["key"] == "done" and resolve["hasScreen"] is True
    field = resolve["fields"]["resolution"]
    assert field["required"] is True
    assert {v["name"] for v in field["allowedValues"]} == {"Fixed", "Won't Fix", "Done"}
    r = _go(site, key, "31")
    assert r.status_code == 400 and r.json()["errors"] == {"resolution": "Resolution is required."}
    assert site.fake.issue(key).status_name == "In Progress"
    assert _go(site, key, "31", fields={"resolution": {"name": "Fixed"}}).status_code == 204
    issue = site.fake.issue(key)
    assert (issue.status_name, issue.status_category, issue.resolution["name"]) == ("Resolved", "done", "Fixed")
    assert _go(site, key, "41").status_code == 204 and site.fake.issue(key).status_name == "Closed"
    assert [t["name"] for t in _transitions(site, key)] == ["Reopen"]
    assert _go(site, key, "51").status_code == 204
    assert site.fake.issue(key).status_name == "Open" and site.fake.issue(key).resolution is None


def test_simple_workflow_any_direction_names_differ_from_statuses(cloud):
    key = cloud.create_ok()["key"]
    ts = cloud.http.get(f"/rest/api/3/issue/{key}/transitions", params={"expand": "transitions.fields"}).json()
    assert_shape("Transitions", ts)
    names = {t["name"]: t["to"]["name"] for t in ts["transitions"]}
    assert names == {"Start Progress": "In Progress", "Mark as Done": "Done"}
    done = next(t for t in ts["transitions"] if t["name"] == "Mark as Done")
    assert done["fields"] == {}
    r = cloud.http.post(f"/rest/api/3/issue/{key}/transitions",
                        json={"transition": {"id": done["id"]}, "fields": {"resolution": {"name": "Done"}}})
    assert r.status_code == 400 and "resolution" in r.json()["errors"]  # no screen on this transition
    assert cloud.http.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": done["id"]}}).status_code == 204
    issue = cloud.fake.issue(key)
    assert issue.status_category == "done" and issue.resolution["name"] == "Done"
    to_do = [t for t in _transitions(cloud, key) if t["to"]["name"] == "To Do"]
    assert to_do and to_do[0]["name"] != "To Do"


def test_transition_with_comment_in_update(server):
    key = server.create_ok()["key"]
    r = _go(server, key, "21", update={"comment": [{"add": {"body": "started"}}]})
    assert r.status_code == 204
    assert [c.text for c in server.fake.issue(key).comments] == ["started"]


def test_chinese_workflow(cloud):
    key = cloud.create_ok("CN")["key"]
    issue = cloud.fake.issue(key)
    assert (issue.status_name, issue.priority_id) == ("待办", "10002")
    by_target = {t["to"]["name"]: t for t in _transitions(cloud, key)}
    assert set(by_target) == {"处理中", "完成"}
    assert by_target["完成"]["to"]["statusCategory"]["key"] == "done"
    assert _go(cloud, key, by_target["完成"]["id"]).status_code == 204
    assert cloud.http.get(f"/rest/api/2/issue/{key}").json()["fields"]["status"]["name"] == "完成"


def test_set_status_helper(site):
    key = site.create_ok("FLOW")["key"]
    site.fake.set_status(key, "Closed")
    assert [t["name"] for t in _transitions(site, key)] == ["Reopen"]
