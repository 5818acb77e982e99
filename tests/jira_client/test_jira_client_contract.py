"""The exact requests JiraClient sends to Cloud (v3, ADF) and Server/DC (v2, wiki), and what it
makes of the answers. HTTP is scripted with httpx.MockTransport; the fake Jira tests the rest."""
from __future__ import annotations

import base64
import json
import re

import pytest

from jira_sync.jira.client_body import TEXT_LIMIT, TRUNCATION_NOTE
from jira_sync.jira.port import Comment, IssueDraft, IssueRef, JiraConnectError, JiraPermanentError
from jira_sync.jira.render import adf_to_text, markdown_to_adf, markdown_to_wiki

from .support import CLOUD_SECRET, PAT_SECRET, SERVER_SECRET, cloud_conn, pat_conn, server_conn

CREATED = {"id": "10042", "key": "OPS-7", "self": "https://x/rest/api/3/issue/10042"}


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@pytest.mark.parametrize(
    "conn, expected",
    [
        (cloud_conn(), basic("me@example.com", CLOUD_SECRET)),
        (server_conn(), basic("admin", SERVER_SECRET)),
        (pat_conn(), f"Bearer {PAT_SECRET}"),
    ],
    ids=["cloud-basic", "server-basic", "server-pat"],
)
async def test_auth_header_and_myself_path(script, make_client, conn, expected):
    api = "3" if conn.platform == "cloud" else "2"
    script.on("GET", f"/(jira/)?rest/api/{api}/myself",
              json_body={"accountId": "abc", "name": "admin", "displayName": "Admin", "emailAddress": "a@x"})
    me = await make_client(conn).myself()
    assert me.display_name == "Admin"
    request = script.last()
    assert request.headers["authorization"] == expected
    assert request.headers["accept"] == "application/json"


async def test_server_base_url_keeps_context_path(script, make_client):
    script.on("GET", "/jira/rest/api/2/serverInfo",
              json_body={"version": "8.20.1", "versionNumbers": [8, 20, 1], "deploymentType": "Server",
                         "baseUrl": "https://jira.example.com/jira"})
    info = await make_client(server_conn()).server_info()
    assert (info.deployment_type, info.version_numbers) == ("Server", (8, 20, 1))


async def test_server_info_cloud(script, make_client):
    script.on("GET", "/rest/api/2/serverInfo",
              json_body={"version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud",
                         "baseUrl": "https://acme.atlassian.net"})
    info = await make_client(cloud_conn()).server_info()
    assert info.deployment_type == "Cloud" and info.base_url == "https://acme.atlassian.net"


@pytest.mark.parametrize(
    "kind, answer",
    [
        ("html page", dict(text="<html><body>Welcome to our intranet</body></html>", headers={"content-type": "text/html"})),
        ("json, wrong shape", dict(json_body={"status": "ok"})),
        ("404", dict(status=404, text="Not Found")),
    ],
)
async def test_server_info_not_jira(script, make_client, kind, answer):
    script.on("GET", "/rest/api/2/serverInfo", **answer)
    with pytest.raises(JiraConnectError) as err:
        await make_client(cloud_conn()).server_info()
    assert err.value.reason == "not_jira"


async def test_cloud_projects_are_paged(script, make_client):
    page = lambda start, n, last: {"startAt": start, "isLast": last,  # noqa: E731
                                   "values": [{"id": str(i), "key": f"P{i}", "name": f"Proj {i}"} for i in range(start, start + n)]}
    script.on("GET", "/rest/api/3/project/search", query={"startAt": "0"}, json_body=page(0, 2, False))
    script.on("GET", "/rest/api/3/project/search", query={"startAt": "2"}, json_body=page(2, 1, True))
    projects = await make_client(cloud_conn()).projects("ops", limit=10)
    assert [p.key for p in projects] == ["P0", "P1", "P2"]
    assert script.requests[0].url.params["query"] == "ops"
    assert script.requests[0].url.params["maxResults"] == "10"


async def test_server_projects_filtered_client_side(script, make_client):
    script.on("GET", "/jira/rest/api/2/project", json_body=[
        {"id": "1", "key": "OPS", "name": "Operations"}, {"id": "2", "key": "DEV", "name": "Development"},
        {"id": "3", "key": "SEC", "name": "Ops Security"}])
    projects = await make_client(server_conn()).projects("ops", limit=5)
    assert [p.key for p in projects] == ["OPS", "SEC"]


async def test_project_by_key(script, make_client):
    script.on("GET", "/rest/api/3/project/OPS", json_body={"id": "10000", "key": "OPS", "name": "Operations"})
    assert (await make_client(cloud_conn()).project("OPS")).id == "10000"


async def test_cloud_issue_types_and_fields_use_new_createmeta(script, make_client):
    script.on("GET", "/rest/api/3/issue/createmeta/OPS/issuetypes",
              json_body={"issueTypes": [{"id": "10001", "name": "Task", "subtask": False}], "startAt": 0, "total": 1})
    fields_page = lambda start, ids: {"startAt": start, "total": 3, "fields": [  # noqa: E731
        {"fieldId": i, "name": i, "required": i == "summary", "hasDefaultValue": False,
         "schema": {"type": "string", "custom": "x:textfield" if i.startswith("customfield") else None}} for i in ids]}
    script.on("GET", "/rest/api/3/issue/createmeta/OPS/issuetypes/10001", query={"startAt": "0"},
              json_body=fields_page(0, ["summary", "priority"]))
    script.on("GET", "/rest/api/3/issue/createmeta/OPS/issuetypes/10001", query={"startAt": "2"},
              json_body=fields_page(2, ["customfield_10050"]))
    client = make_client(cloud_conn())
    assert [t.id for t in await client.issue_types("OPS")] == ["10001"]
    fields = await client.create_fields("OPS", "10001")
    assert [f.id for f in fields] == ["summary", "priority", "customfield_10050"]
    assert fields[0].required and fields[2].text_kind == "textfield"
    assert script.requests[1].url.params["maxResults"] == "200"


async def test_server_new_createmeta_uses_values(script, make_client):
    script.on("GET", "/jira/rest/api/2/issue/createmeta/OPS/issuetypes",
              json_body={"values": [{"id": "10001", "name": "Task"}], "isLast": True, "startAt": 0})
    assert [t.name for t in await make_client(server_conn()).issue_types("OPS")] == ["Task"]


async def test_server_old_createmeta_fallback_on_404(script, make_client):
    old = {"projects": [{"key": "OPS", "issuetypes": [{"id": "10001", "name": "Task", "fields": {
        "summary": {"name": "Summary", "required": True, "hasDefaultValue": False, "schema": {"type": "string", "system": "summary"}},
        "customfield_10051": {"name": "Notes", "required": False, "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea"}},
    }}]}]}
    script.on("GET", "/jira/rest/api/2/issue/createmeta/OPS/issuetypes.*", status=404, text="Not Found")
    script.on("GET", "/jira/rest/api/2/issue/createmeta", json_body=old)
    client = make_client(server_conn())
    assert [t.id for t in await client.issue_types("OPS")] == ["10001"]
    fields = await client.create_fields("OPS", "10001")
    assert {f.id: f.text_kind for f in fields} == {"summary": None, "customfield_10051": "textarea"}
    last = script.last().url.params
    assert (last["projectKeys"], last["issuetypeIds"], last["expand"]) == ("OPS", "10001", "projects.issuetypes.fields")
    # The first 404 taught the client this is a pre-8.4 server: the new endpoint is asked only once.
    assert sum("/issuetypes" in r.url.path for r in script.requests) == 1


async def test_statuses_filtered_to_issue_type(script, make_client):
    script.on("GET", "/rest/api/3/project/FLOW/statuses", json_body=[
        {"id": "10002", "name": "Bug", "statuses": [{"id": "1", "name": "Other", "statusCategory": {"key": "new"}}]},
        {"id": "10001", "name": "Task", "statuses": [
            {"id": "1", "name": "Open", "statusCategory": {"key": "new"}},
            {"id": "5", "name": "Resolved", "statusCategory": {"key": "done"}}]}])
    statuses = await make_client(cloud_conn()).statuses("FLOW", "10001")
    assert [(s.name, s.category) for s in statuses] == [("Open", "new"), ("Resolved", "done")]


async def test_my_permissions(script, make_client):
    script.on("GET", "/jira/rest/api/2/mypermissions", json_body={"permissions": {
        "CREATE_ISSUES": {"havePermission": True}, "ADD_COMMENTS": {"havePermission": False}}})
    got = await make_client(server_conn()).my_permissions("OPS", ["CREATE_ISSUES", "ADD_COMMENTS", "TRANSITION_ISSUES"])
    assert got == {"CREATE_ISSUES": True, "ADD_COMMENTS": False, "TRANSITION_ISSUES": False}
    assert script.last().url.params["permissions"] == "CREATE_ISSUES,ADD_COMMENTS,TRANSITION_ISSUES"
    assert script.last().url.params["projectKey"] == "OPS"


DRAFT = IssueDraft(
    project_key="OPS", issue_type_id="10001", summary="Disk full on db-1",
    description_markdown="**Disk** is full.\n\n[Open in Flashduty](https://flashcat.cloud/incident/1)",
    priority_id="2", labels=("flashduty", "fd-inc-1"),
    text_fields={"customfield_10050": ("inc-1", "textfield"), "customfield_10051": ("line 1\nsee https://x.io/a", "textarea")},
)


async def test_cloud_create_issue_body(script, make_client):
    script.on("POST", "/rest/api/3/issue", status=201, json_body=CREATED)
    ref = await make_client(cloud_conn()).create_issue(DRAFT)
    assert ref == IssueRef("10042", "OPS-7")
    fields = script.body()["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"id": "10001"}
    assert fields["summary"] == "Disk full on db-1"
    assert fields["description"] == markdown_to_adf(DRAFT.description_markdown)
    assert fields["priority"] == {"id": "2"} and fields["labels"] == ["flashduty", "fd-inc-1"]
    assert fields["customfield_10050"] == "inc-1"
    assert fields["customfield_10051"] == {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "line 1"}]},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "see "},
            {"type": "text", "text": "https://x.io/a", "marks": [{"type": "link", "attrs": {"href": "https://x.io/a"}}]}]}]}


async def test_server_create_issue_body_without_priority(script, make_client):
    script.on("POST", "/jira/rest/api/2/issue", status=201, json_body=CREATED)
    draft = IssueDraft(project_key="NOPRI", issue_type_id="10001", summary="s", description_markdown="**d**",
                       text_fields={"customfield_10051": ("a\nb", "textarea")})
    await make_client(server_conn()).create_issue(draft)
    fields = script.body()["fields"]
    assert "priority" not in fields and "labels" not in fields
    assert fields["description"] == markdown_to_wiki("**d**")
    assert fields["customfield_10051"] == "a\nb"


@pytest.mark.parametrize("conn", [cloud_conn(), server_conn()], ids=["cloud", "server"])
async def test_long_description_is_truncated_keeping_the_link(script, make_client, conn):
    script.on("POST", ".*/issue", status=201, json_body=CREATED)
    body = "\n".join(f"line {i} " + "x" * 60 for i in range(2000))
    link = "[Open in Flashduty](https://flashcat.cloud/incident/1)"
    draft = IssueDraft(project_key="OPS", issue_type_id="1", summary="s", description_markdown=body + "\n\n" + link)
    await make_client(conn).create_issue(draft)
    description = script.body()["fields"]["description"]
    stored = description if isinstance(description, str) else json.dumps(description, ensure_ascii=False, separators=(",", ":"))
    assert len(stored) <= TEXT_LIMIT
    assert "Truncated" in stored and "https://flashcat.cloud/incident/1" in stored
    assert len(stored) > TEXT_LIMIT * 0.6  # truncated, not gutted


def test_truncation_note_closes_an_open_code_block():
    from jira_sync.jira.client_body import cut_markdown
    text = cut_markdown("intro\n```\n" + "code\n" * 100 + "```\n", 50)
    assert text.count("```") % 2 == 0 and text.endswith(TRUNCATION_NOTE)


def test_summary_is_one_line_and_capped():
    from jira_sync.jira.client_body import issue_fields
    fields = issue_fields(IssueDraft("OPS", "1", "a\nb" + "x" * 300, ""), cloud=False)
    assert "\n" not in fields["summary"] and len(fields["summary"]) == 255


@pytest.mark.parametrize(
    "conn, path", [(cloud_conn(), "/rest/api/3/search/jql"), (server_conn(), "/jira/rest/api/2/search")],
    ids=["cloud", "server"])
async def test_find_issue_by_label(script, make_client, conn, path):
    script.on("POST", path, json_body={"issues": [{"id": "10100", "key": "OPS-9"}, {"id": "10042", "key": "OPS-7"}]})
    found = await make_client(conn).find_issue_by_label("OPS", 'fd-"inc"')
    assert found == IssueRef("10042", "OPS-7")  # the oldest of duplicates
    assert script.body() == {"jql": 'project = "OPS" AND labels = "fd-\\"inc\\""', "maxResults": 20, "fields": ["key"]}


async def test_find_issue_by_label_none(script, make_client):
    script.on("POST", "/rest/api/3/search/jql", json_body={"issues": [], "isLast": True})
    assert await make_client(cloud_conn()).find_issue_by_label("OPS", "fd-1") is None


async def test_get_issue_asks_only_status_and_priority(script, make_client):
    script.on("GET", "/rest/api/3/issue/10042", json_body={"id": "10042", "key": "OPS-7", "fields": {
        "status": {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}}, "priority": None}})
    state = await make_client(cloud_conn()).get_issue("10042")
    assert script.last().url.params["fields"] == "status,priority,resolution"  # resolution: two-way sync sends it to Flashduty
    assert (state.status_name, state.status_category, state.priority_id) == ("In Progress", "indeterminate", None)


async def test_set_priority(script, make_client):
    script.on("PUT", "/jira/rest/api/2/issue/10042", status=204)
    assert await make_client(server_conn()).set_priority("10042", "1") is None
    assert script.body() == {"fields": {"priority": {"id": "1"}}}


async def test_transitions_and_transition(script, make_client):
    script.on("GET", "/rest/api/3/issue/10042/transitions", query={"expand": "transitions.fields"}, json_body={
        "transitions": [{"id": "31", "name": "Resolve", "to": {"id": "5", "name": "Resolved", "statusCategory": {"key": "done"}},
                         "fields": {"resolution": {"required": True, "name": "Resolution", "allowedValues": [{"name": "Fixed"}]}}}]})
    script.on("POST", "/rest/api/3/issue/10042/transitions", status=204)
    client = make_client(cloud_conn())
    [t] = await client.transitions("10042")
    assert (t.id, t.to_status_name, t.to_status_category) == ("31", "Resolved", "done")
    assert t.fields["resolution"]["required"] is True
    await client.transition("10042", "31", {"resolution": {"name": "Fixed"}})
    assert script.body() == {"transition": {"id": "31"}, "fields": {"resolution": {"name": "Fixed"}}}
    await client.transition("10042", "11")
    assert script.body() == {"transition": {"id": "11"}}


@pytest.mark.parametrize("conn", [cloud_conn(), server_conn()], ids=["cloud", "server"])
async def test_add_comment_carries_the_ref_property(script, make_client, conn):
    cloud = conn.platform == "cloud"
    rendered = markdown_to_adf("Ack by **Ann**") if cloud else markdown_to_wiki("Ack by **Ann**")
    script.on("POST", ".*/issue/10042/comment", status=201, json_body={"id": "500", "body": rendered})
    comment = await make_client(conn).add_comment("10042", "Ack by **Ann**", "fd-ev-1")
    assert script.body() == {"body": rendered, "properties": [{"key": "jira-sync", "value": {"ref": "fd-ev-1"}}]}
    assert comment == Comment("500", adf_to_text(rendered) if cloud else rendered, "fd-ev-1")
    assert script.last().url.path.startswith("/rest/api/3/" if cloud else "/jira/rest/api/2/")


async def test_comments_reads_all_pages_with_refs(script, make_client):
    def page(start, ids, total):
        return {"startAt": start, "maxResults": 100, "total": total, "comments": [
            {"id": i, "body": markdown_to_adf(f"c{i}"),
             "properties": [{"key": "jira-sync", "value": {"ref": f"r{i}"}}] if i != "3" else []} for i in ids]}
    script.on("GET", "/rest/api/3/issue/10042/comment", query={"startAt": "0"}, json_body=page(0, ["1", "2"], 3))
    script.on("GET", "/rest/api/3/issue/10042/comment", query={"startAt": "2"}, json_body=page(2, ["3"], 3))
    comments = await make_client(cloud_conn()).comments("10042")
    assert [(c.id, c.text, c.ref) for c in comments] == [("1", "c1", "r1"), ("2", "c2", "r2"), ("3", "c3", None)]
    assert all(r.url.params["expand"] == "properties" for r in script.requests)


async def test_server_comments_are_raw_wiki(script, make_client):
    script.on("GET", "/jira/rest/api/2/issue/OPS-7/comment", json_body={
        "startAt": 0, "maxResults": 100, "total": 1, "comments": [{"id": "9", "body": "*bold* text"}]})
    assert await make_client(server_conn()).comments("OPS-7") == [Comment("9", "*bold* text", None)]


async def test_html_answer_to_an_api_call_is_not_jira(script, make_client):
    script.on("GET", "/rest/api/3/myself", text="<html>SSO login</html>", headers={"content-type": "text/html"})
    with pytest.raises(JiraConnectError) as err:
        await make_client(cloud_conn()).myself()
    assert err.value.reason == "not_jira"


async def test_missing_project_in_old_createmeta_is_permanent(script, make_client):
    script.on("GET", "/jira/rest/api/2/issue/createmeta/NOPE/issuetypes", status=404, text="")
    script.on("GET", "/jira/rest/api/2/issue/createmeta", json_body={"projects": []})
    with pytest.raises(JiraPermanentError, match="NOPE"):
        await make_client(server_conn()).issue_types("NOPE")


# ---------------------------------------------------------------- consistent reads and marks
async def test_newest_issue_key_reads_the_index_by_key_with_jiras_clock(script, make_client):
    script.on("POST", "/rest/api/3/search/jql", json_body={"issues": [{"id": "10200", "key": "OPS-41"}]})
    client = make_client(cloud_conn())
    assert await client.newest_issue_key("OPS") == "OPS-41"
    assert script.body()["jql"] == 'project = "OPS" ORDER BY key DESC' and script.body()["maxResults"] == 1
    assert await client.newest_issue_key("OPS", 3) == "OPS-41"
    assert script.body()["jql"] == 'project = "OPS" AND created <= "-3m" ORDER BY key DESC'


async def test_read_labels_by_key_tells_no_issue_from_no_endpoint(script, make_client):
    from jira_sync.jira.port import JiraNotFound, Labelled

    script.on("GET", "/jira/rest/api/2/issue/OPS-7", json_body={"id": "10042", "key": "OPS-7",
                                                                "fields": {"labels": ["flashduty-1"]}})
    script.on("GET", "/jira/rest/api/2/issue/OPS-8", status=404,
              json_body={"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})
    script.on("GET", "/jira/rest/api/2/issue/10042", status=404, json_body={"message": "null for uri: x", "status-code": 404})
    client = make_client(server_conn())
    assert await client.read_labels("OPS-7") == Labelled(IssueRef("10042", "OPS-7"), ("flashduty-1",))
    assert script.last().url.params["fields"] == "labels"
    assert await client.read_labels("OPS-8") is None  # Jira's own "does not exist": the key is free
    with pytest.raises(JiraNotFound) as err:  # Jersey's "null for uri": this Jira has no such endpoint
        await client.read_labels("10042")
    assert err.value.endpoint_missing


@pytest.mark.parametrize("conn", [cloud_conn(), server_conn()], ids=["cloud", "server"])
async def test_comment_refs_come_from_the_mark_in_the_body_link(script, make_client, conn):
    from jira_sync.domain.comment import comment_markdown, marked_url

    cloud = conn.platform == "cloud"
    link = marked_url("https://fd.example/incident/detail/abc#old", "flashduty-comment:c-1")
    markdown = comment_markdown("Bob", "disk freed", link)
    body = markdown_to_adf(markdown) if cloud else markdown_to_wiki(markdown)
    script.on("GET", ".*/issue/10042/comment", json_body={"startAt": 0, "maxResults": 100, "total": 1, "comments": [
        {"id": "7", "body": body, "author": {"accountId": "someone-else", "name": "alice"}}]})
    [comment] = await make_client(conn).comments("10042")
    assert comment.ref == "flashduty-comment:c-1" and len(script.requests) == 1  # no per-comment reads
    assert "disk freed" in comment.text and comment.author == "someone-else"


async def test_own_comments_without_a_mark_have_their_property_read_one_by_one(script, make_client):
    """Cloud lists comments without properties: our unmarked comments (posted before marks) are
    read one at a time; people's comments are never ours, so they cost nothing."""
    script.on("GET", "/rest/api/3/issue/10042/comment", json_body={"startAt": 0, "maxResults": 100, "total": 3, "comments": [
        {"id": "1", "body": markdown_to_adf("ours"), "author": {"accountId": "me-1"}},
        {"id": "2", "body": markdown_to_adf("a person's"), "author": {"accountId": "alice-2"}},
        {"id": "3", "body": markdown_to_adf("ours, no property"), "author": {"accountId": "me-1"}}]})
    script.on("GET", "/rest/api/3/myself", json_body={"accountId": "me-1", "displayName": "Bot"})
    script.on("GET", "/rest/api/3/comment/1/properties/jira-sync", json_body={"key": "jira-sync", "value": {"ref": "r1"}})
    script.on("GET", "/rest/api/3/comment/3/properties/jira-sync", status=404,
              json_body={"errorMessages": ["The property with key 'jira-sync' does not exist."], "errors": {}})
    comments = await make_client(cloud_conn()).comments("10042")
    assert [(c.id, c.ref) for c in comments] == [("1", "r1"), ("2", None), ("3", None)]
    assert not any("/comment/2/" in r.url.path for r in script.requests)


@pytest.mark.parametrize("key", ["é" * 20_000, "OPS\n../../admin?x=#"])
async def test_a_project_key_no_url_can_carry_is_refused_and_a_strange_one_stays_one_segment(script, make_client, key):
    client = make_client(cloud_conn())
    if len(key) > 1000:  # past httpx's URL limit: Jira is never asked, and it is not a crash
        with pytest.raises(JiraPermanentError):
            await client.project(key)
        return
    script.on("GET", re.escape("/rest/api/3/project/" + key), json_body={"id": "1", "key": "K", "name": "n"})
    assert (await client.project(key)).key == "K"
    assert script.requests[-1].url.raw_path == b"/rest/api/3/project/OPS%0A..%2F..%2Fadmin%3Fx%3D%23"


@pytest.mark.parametrize("key", [".", ".."])
async def test_a_project_key_of_dots_is_not_normalised_away(script, make_client, key):
    # `/project/.` would be `/project` (the project list) once the URL is normalised
    script.on("GET", "/rest/api/3/project/%2E.*", status=404,
              json_body={"errorMessages": ["No project could be found with key '.'."], "errors": {}})
    with pytest.raises(JiraPermanentError):
        await make_client(cloud_conn()).project(key)
    assert script.requests[-1].url.raw_path == b"/rest/api/3/project/" + b"%2E" * len(key)
