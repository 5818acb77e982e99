"""/api/jira: the metadata look-ups the console uses, for a new connection or a saved integration."""
from __future__ import annotations

from e2e.conftest import CREDENTIALS, Stack


def _conn(stack: Stack, **overrides: str) -> dict:  # type: ignore[type-arg]
    return {"url": stack.jira_url, **CREDENTIALS[stack.flavour], **overrides}


def test_lookups_for_a_new_connection(stack: Stack) -> None:
    api, conn = stack.api, _conn(stack)
    ok = api.post("/api/jira/check", json={"connection": conn}).json()
    assert ok["ok"] is True and ok["deployment"] == ("Cloud" if stack.flavour == "cloud" else "Server")
    projects = api.post("/api/jira/projects", json={"connection": conn, "query": "operat"}).json()
    assert [p["key"] for p in projects] == ["OPS"]
    types = api.post("/api/jira/issue-types", json={"connection": conn, "project": "OPS"}).json()
    assert {t["name"] for t in types} == {"Task", "Bug"}
    body = {"connection": conn, "project": "OPS", "issue_type": "10001"}
    prio = api.post("/api/jira/priorities", json=body).json()
    assert prio["available"] and [p["name"] for p in prio["priorities"]] == ["Highest", "High", "Medium", "Low", "Lowest"]
    statuses = api.post("/api/jira/statuses", json=body).json()
    assert statuses["defaults"] == {"triggered": "To Do", "processing": "In Progress", "closed": "Done"}
    text = api.post("/api/jira/text-fields", json=body).json()
    assert {(f["id"], f["kind"]) for f in text} == {("customfield_10050", "textfield"), ("customfield_10051", "textarea")}
    assert api.post("/api/jira/required-fields", json=body).json() == []
    req = api.post("/api/jira/required-fields", json={**body, "project": "REQ"}).json()
    assert req == [{"id": "customfield_10060", "name": "Customer", "has_default": False, "text": True}]
    nopri = api.post("/api/jira/priorities", json={**body, "project": "NOPRI"}).json()
    assert nopri["available"] is False and "no Priority field" in nopri["reason"]
    cn = api.post("/api/jira/statuses", json={**body, "project": "CN"}).json()
    assert cn["language"] == "zh" and cn["defaults"]["closed"] == "完成"


def test_lookups_for_a_saved_integration_and_errors(stack: Stack) -> None:
    integration_id, _ = stack.integration()
    projects = stack.api.post("/api/jira/projects", json={"integration_id": integration_id}).json()
    assert {p["key"] for p in projects} >= {"OPS", "NOPRI", "REQ", "FLOW", "CN"}
    bad = stack.api.post("/api/jira/check", json={"connection": _conn(stack, secret="wrong-secret")})
    assert bad.status_code == 200 and bad.json()["problem"] == "bad_credentials" and "wrong-secret" not in bad.text
    failed = stack.api.post("/api/jira/projects", json={"connection": _conn(stack, secret="wrong-secret")})
    # Jira refused the caller's credentials: a 4xx (a 5xx is for Jira failing)
    assert failed.status_code == 422 and failed.json()["detail"]["problem"] == "bad_credentials"
    assert stack.api.post("/api/jira/projects", json={}).status_code == 422
    assert stack.api.post("/api/jira/projects", json={"integration_id": 999}).status_code == 404
    missing = stack.api.post("/api/jira/issue-types", json={"integration_id": integration_id, "project": "NOPE"})
    # Jira refused what was asked: the caller's input, so a 4xx (a 5xx is for Jira failing)
    assert missing.status_code == 422 and missing.json()["detail"]["problem"] in ("not_found", "refused")
    assert "NOPE" in missing.json()["detail"]["message"]
    # the stored credentials stopped working (saved unchecked, or revoked since): Jira refuses
    # them, which is for the caller to fix, a 4xx; never a 5xx while Jira itself is up
    changed = stack.api.put(f"/api/integrations/{integration_id}", params={"check": "false"},
                            json={"jira": {"secret": "revoked-token-Xy"}})
    assert changed.status_code == 200, changed.text
    stored = stack.api.post("/api/jira/projects", json={"integration_id": integration_id})
    assert stored.status_code == 422 and stored.json()["detail"]["problem"] == "bad_credentials"
    assert "revoked-token-Xy" not in stored.text


def test_metadata_routes_are_in_the_openapi_document(stack: Stack) -> None:
    paths = stack.api.get("/openapi.json").json()["paths"]
    for route in ("check", "projects", "issue-types", "priorities", "statuses", "text-fields", "required-fields"):
        assert f"/api/jira/{route}" in paths
        assert paths[f"/api/jira/{route}"]["post"]["summary"]
    assert not any(p.startswith("/console") for p in paths)  # pages are not API


def test_project_search_on_a_site_with_thousands_of_projects(stack: Stack) -> None:
    stack.jira.add_projects(3000)
    conn = _conn(stack)
    found = stack.api.post("/api/jira/projects", json={"connection": conn, "query": "gen2999"}).json()
    assert [p["key"] for p in found] == ["GEN2999"]
    many = stack.api.post("/api/jira/projects", json={"connection": conn, "query": "GEN1"}).json()
    assert len(many) == 50 and many[0]["key"] == "GEN1"  # capped, the exact key prefix first
    stack.api.post("/api/jira/projects", json={"connection": conn, "query": "GEN12"})
    if stack.flavour == "server":  # one list per minute, not one per keystroke
        assert stack.jira.count_requests("GET", r"/rest/api/2/project$") == 1
    else:  # Cloud searches on its side, a page at a time
        assert stack.jira.count_requests("GET", r"/rest/api/3/project$") == 0
