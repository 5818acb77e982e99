"""Creating, reading and editing issues: Jira's validation, ADF on Cloud v3, wiki strings on v2."""
from __future__ import annotations

import pytest
from jsonschema import Draft4Validator

from jira_sync.devtools.fake_jira import validation

from .support import adf, assert_shape

NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


def test_create_returns_id_key_self_and_stores_the_issue(site):
    first, second = site.create_ok(labels=["flashduty-1"]), site.create_ok()
    if site.fake.cloud:
        assert_shape("CreatedIssue", first)
    assert (first["id"], first["key"], second["id"], second["key"]) == ("10000", "OPS-1", "10001", "OPS-2")
    assert first["self"] == f"{site.url}/rest/api/{site.api}/issue/10000"
    issue = site.fake.issue_by_key("OPS-1")
    assert issue.id == "10000" and issue.status_name == "To Do" and issue.status_category == "new"
    assert issue.priority_id == "3"  # the scheme's default when none is sent
    assert issue.reporter.name == "admin" and [i.key for i in site.fake.issues_with_label("flashduty-1")] == ["OPS-1"]


def test_get_issue_with_fields_filter(cloud):
    created = cloud.create_ok(description=adf("full disk"), priority={"id": "2"}, customfield_10050="inc-1")
    full = cloud.http.get(f"/rest/api/3/issue/{created['key']}").json()
    assert_shape("IssueBean", full)
    f = full["fields"]
    assert f["priority"]["id"] == "2" and f["status"]["statusCategory"]["key"] == "new"
    assert f["description"] == adf("full disk") and f["customfield_10050"] == "inc-1"
    assert f["project"]["key"] == "OPS" and f["issuetype"]["id"] == "10001"
    some = cloud.http.get(f"/rest/api/3/issue/{created['id']}", params={"fields": "status,priority"}).json()
    assert set(some["fields"]) == {"status", "priority"}
    v2 = cloud.http.get(f"/rest/api/2/issue/{created['id']}", params={"fields": "description"}).json()
    assert v2["fields"]["description"] == "full disk"  # v2 renders the same value as wiki text
    assert cloud.http.get("/rest/api/3/issue/OPS-999").status_code == 404


@pytest.mark.parametrize(("project", "fields", "errors"), [
    ("NOPRI", {"priority": {"id": "1"}}, {"priority": NOT_ON_SCREEN.format("priority")}),
    ("OPS", {"foo": "x", "customfield_10060": "x"},
     {"foo": NOT_ON_SCREEN.format("foo"), "customfield_10060": NOT_ON_SCREEN.format("customfield_10060")}),
    ("REQ", {}, {"customfield_10060": "Customer is required."}),
    ("OPS", {"summary": "x" * 256}, {"summary": "Summary must be less than 255 characters."}),
    ("OPS", {"summary": "two\nlines"}, {"summary": "The summary is invalid because it contains newline characters."}),
    ("OPS", {"summary": ""}, {"summary": "You must specify a summary of the issue."}),
    ("OPS", {"priority": {"id": "99"}}, {"priority": "The priority selected is invalid."}),
    ("OPS", {"labels": ["has space"]}, {"labels": "The label 'has space' contains spaces which is invalid."}),
    ("OPS", {"customfield_10052": "SRE"}, {"customfield_10052": "Specify a valid 'id' or 'name' for Team"}),
    ("OPS", {"customfield_10052": {"value": "Nope"}}, {"customfield_10052": "Option value 'Nope' is not valid"}),
    ("OPS", {"customfield_10050": "x" * 256},
     {"customfield_10050": "The entered text is too long. It exceeds the allowed limit of 255 characters."}),
    ("OPS", {"priority": {"id": "99"}, "labels": ["a b"]},  # every problem at once, as Jira does
     {"priority": "The priority selected is invalid.", "labels": "The label 'a b' contains spaces which is invalid."}),
])
def test_create_validation(site, project, fields, errors):
    r = site.create(project, **fields)
    assert r.status_code == 400, r.text
    assert r.json() == {"errorMessages": [], "errors": errors}
    assert not site.fake.issues


def test_unknown_project_or_issue_type(site):
    api = site.api
    r = site.http.post(f"/rest/api/{api}/issue", json={"fields": {"project": {"key": "NOPE"}, "issuetype": {"id": "10001"}, "summary": "x"}})
    assert r.status_code == 400 and r.json()["errors"] == {"project": "Specify a valid project ID or key"}
    r = site.http.post(f"/rest/api/{api}/issue", json={"fields": {"project": {"key": "NOPRI"}, "issuetype": {"id": "10002"}, "summary": "x"}})
    assert r.status_code == 400 and r.json()["errors"] == {"issuetype": "The issue type selected is invalid."}


def test_select_and_text_fields_accepted(site):
    details = adf("disk at 99%") if site.fake.cloud else "disk at 99%"
    site.create_ok(customfield_10050="inc-7", customfield_10051=details, customfield_10052={"value": "SRE"},
                   priority={"name": "High"}, labels=["b", "a", "a"])
    issue = site.fake.issue_by_key("OPS-1")
    assert issue.fields["customfield_10052"]["id"] == "10100" and issue.priority_id == "2"
    assert issue.labels == ["a", "b"] and issue.fields["customfield_10050"] == "inc-7"


def test_cloud_v3_needs_adf_and_v2_needs_strings(cloud, server):
    not_adf = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    assert cloud.create(description="plain").json()["errors"] == {"description": not_adf}
    bare_text = {"type": "doc", "version": 1, "content": [{"type": "text", "text": "bare"}]}
    assert cloud.create(description=bare_text).json()["errors"] == {"description": not_adf}
    empty_text = adf("")
    assert cloud.create(customfield_10051=empty_text).json()["errors"] == {"customfield_10051": not_adf}
    assert cloud.create(customfield_10050=adf("x")).json()["errors"] == {"customfield_10050": "Operation value must be a string"}
    assert cloud.create(description=adf("ok")).status_code == 201
    for site in (cloud, server):
        r = site.create(api="2", description=adf("an object on v2"))
        assert r.json()["errors"] == {"description": "Operation value must be a string"}
        assert site.create(api="2", description="h1. wiki *markup*").status_code == 201


def test_cloud_v3_body_checked_against_openapi(cloud):
    r = cloud.http.post("/rest/api/3/issue", json={"fields": ["not", "an", "object"]})
    assert r.status_code == 400 and r.json()["errorMessages"]
    r = cloud.http.post("/rest/api/3/issue", content=b'{"fields": {}}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = cloud.http.post("/rest/api/3/issue", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_description_size_limit(server):
    r = server.create(description="x" * 32768)
    assert r.json()["errors"]["description"].startswith("The entered text is too long")


def test_edit_priority_and_labels(site):
    key = site.create_ok(labels=["one"])["key"]
    r = site.http.put(f"/rest/api/2/issue/{key}", json={"fields": {"priority": {"id": "1"}}})
    assert r.status_code == 204 and site.fake.issue(key).priority_id == "1"
    r = site.http.put(f"/rest/api/2/issue/{key}", json={"update": {"labels": [{"add": "two"}, {"remove": "one"}]}})
    assert r.status_code == 204 and site.fake.issue(key).labels == ["two"]
    assert site.fake.issues_with_label("one") == [] and site.fake.issues_with_label("two")[0].key == key
    r = site.http.put(f"/rest/api/2/issue/{key}", json={"fields": {"priority": {"id": "42"}, "project": {"key": "NOPRI"}}})
    assert r.status_code == 400 and set(r.json()["errors"]) == {"priority", "project"}
    nopri = site.create_ok("NOPRI")["key"]
    r = site.http.put(f"/rest/api/2/issue/{nopri}", json={"fields": {"priority": {"id": "1"}}})
    assert r.json()["errors"] == {"priority": NOT_ON_SCREEN.format("priority")}


def test_old_keys_resolve_after_project_key_rename(site):
    created = site.create_ok()
    site.fake.rename_project_key("OPS", "OPX")
    r = site.http.get(f"/rest/api/2/issue/{created['key']}")
    assert r.status_code == 200 and r.json()["key"] == "OPX-1" and r.json()["id"] == created["id"]
    assert site.fake.issue_by_key("OPS-1").key == "OPX-1"
    assert site.create_ok("OPX")["key"] == "OPX-2"
    assert site.create_ok("OPS")["key"] == "OPX-3"  # old project keys keep working too


ADF_DOCS = [
    adf("hello"),
    {"type": "doc", "version": 1, "content": []},
    {"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Title"}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [adf("item")["content"][0]]}]},
        {"type": "codeBlock", "attrs": {"language": "python"}, "content": [{"type": "text", "text": "x = 1"}]},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "bold", "marks": [{"type": "strong"}]}, {"type": "hardBreak"},
            {"type": "text", "text": "link", "marks": [{"type": "link", "attrs": {"href": "https://example.com"}}]}]},
    ]},
    {"type": "text", "text": "bare"},
    {"type": "doc", "version": 1, "content": [{"type": "text", "text": "bare"}]},
    adf(""),
    {"type": "doc", "version": 2, "content": []},
    {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "blink"}]}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": [adf("not a list item")["content"][0]]}]},
]


@pytest.mark.parametrize("doc", ADF_DOCS)
def test_fast_adf_validator_agrees_with_plain_jsonschema(doc):
    plain = Draft4Validator(validation.adf_validator().schema)
    assert (validation.adf_error(doc) is None) == plain.is_valid(doc)
