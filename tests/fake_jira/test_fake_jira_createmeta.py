"""Both createmeta generations, their shapes per flavour, and the version gates."""
from __future__ import annotations

import pytest

from .support import assert_shape

OLD = "/rest/api/2/issue/createmeta"


def _new(project: str, issuetype: str | None = None, api: str = "2") -> str:
    path = f"/rest/api/{api}/issue/createmeta/{project}/issuetypes"
    return f"{path}/{issuetype}" if issuetype else path


def test_cloud_new_createmeta(cloud):
    types = cloud.http.get(_new("OPS", api="3")).json()
    assert_shape("PageOfCreateMetaIssueTypes", types)
    assert [(t["id"], t["name"]) for t in types["issueTypes"]] == [("10001", "Task"), ("10002", "Bug")]
    page = cloud.http.get(_new("OPS", "10001", api="3")).json()
    assert_shape("PageOfCreateMetaIssueTypeWithField", page)
    fields = {f["fieldId"]: f for f in page["fields"]}
    assert page["total"] == len(fields) and fields["summary"]["key"] == "summary"
    prio = fields["priority"]
    assert [(v["id"], v["name"]) for v in prio["allowedValues"]] == [
        ("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
    assert prio["hasDefaultValue"] is True
    assert fields["customfield_10050"]["schema"]["custom"].endswith(":textfield")
    assert fields["customfield_10051"]["schema"]["custom"].endswith(":textarea")
    assert fields["customfield_10052"]["schema"]["type"] == "option"
    assert {v["value"] for v in fields["customfield_10052"]["allowedValues"]} == {"SRE", "Platform", "Database"}
    assert fields["labels"]["schema"] == {"type": "array", "items": "string", "system": "labels"}
    assert cloud.http.get(_new("OPS", api="3"), params={"maxResults": 201}).status_code == 400


def test_server_new_createmeta_shape_and_screens(server):
    types = server.http.get(_new("NOPRI")).json()
    assert set(types) == {"values", "isLast", "maxResults", "startAt", "total"} and types["isLast"] is True
    nopri = {f["fieldId"] for f in server.http.get(_new("NOPRI", "10001")).json()["values"]}
    assert "priority" not in nopri and "summary" in nopri
    req = {f["fieldId"]: f for f in server.http.get(_new("REQ", "10001")).json()["values"]}
    assert req["customfield_10060"]["required"] is True and req["customfield_10060"]["hasDefaultValue"] is False
    assert req["customfield_10060"]["name"] == "Customer"
    paged = server.http.get(_new("OPS", "10001"), params={"maxResults": 3, "startAt": 3}).json()
    assert len(paged["values"]) == 3 and paged["startAt"] == 3 and paged["isLast"] is False
    assert server.http.get(_new("OPS", "99999")).status_code == 404
    assert server.http.get(_new("NOPE")).status_code == 404


def test_old_createmeta_fields_keyed_by_id(site):
    r = site.http.get(OLD, params={"projectKeys": "OPS", "issuetypeIds": "10001",
                                   "expand": "projects.issuetypes.fields"})
    assert r.status_code == 200
    meta = r.json()
    if site.fake.cloud:
        assert_shape("IssueCreateMetadata", meta)
    [project] = meta["projects"]
    [issuetype] = project["issuetypes"]
    assert project["key"] == "OPS" and issuetype["id"] == "10001"
    assert issuetype["fields"]["priority"]["allowedValues"][0]["name"] == "Highest"
    assert issuetype["fields"]["customfield_10052"]["schema"]["custom"].endswith(":select")
    bare = site.http.get(OLD, params={"projectKeys": "OPS"}).json()["projects"][0]["issuetypes"]
    assert len(bare) == 2 and "fields" not in bare[0]


@pytest.mark.parametrize(("version", "new", "old"), [("8.3.0", 404, 200), ("8.4.0", 200, 200), ("9.0.0", 200, 404)])
def test_createmeta_version_gates(make_site, version, new, old):
    s = make_site("server", version)
    assert s.http.get(_new("OPS")).status_code == new
    assert s.http.get(_new("OPS", "10001")).status_code == new
    assert s.http.get(OLD, params={"projectKeys": "OPS"}).status_code == old


def test_viewer_sees_no_create_metadata(site):
    with site.as_viewer() as viewer:
        assert viewer.get(OLD, params={"projectKeys": "OPS"}).json()["projects"] == []
        page = viewer.get(_new("OPS")).json()
        assert page.get("issueTypes", page.get("values")) == [] and page["total"] == 0


def test_project_statuses(cloud):
    statuses = cloud.http.get("/rest/api/3/project/FLOW/statuses").json()
    for entry in statuses:
        assert_shape("IssueTypeWithStatus", entry)
    by_name = {s["name"]: s["statusCategory"]["key"] for s in statuses[0]["statuses"]}
    assert by_name == {"Open": "new", "Triage": "indeterminate", "In Progress": "indeterminate",
                       "Resolved": "done", "Closed": "done"}
    cn = cloud.http.get("/rest/api/3/project/CN/statuses").json()[0]["statuses"]
    assert {s["name"]: s["statusCategory"]["key"] for s in cn} == {"待办": "new", "处理中": "indeterminate", "完成": "done"}
