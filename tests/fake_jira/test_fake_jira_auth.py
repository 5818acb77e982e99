"""Authentication and permissions behave as Jira's do."""
from __future__ import annotations

from .support import assert_shape


def test_cloud_serverinfo_is_anonymous_and_says_cloud(cloud):
    with cloud.client() as anon:
        r = anon.get("/rest/api/3/serverInfo")
    assert r.status_code == 200
    info = r.json()
    assert info["deploymentType"] == "Cloud" and info["baseUrl"] == cloud.url
    assert_shape("ServerInformation", info)


def test_cloud_accepts_email_and_api_token_only(cloud):
    me = cloud.http.get("/rest/api/3/myself")
    assert me.status_code == 200 and me.json()["accountId"] == "5b10ac8d82e05b22cc7d4ef5"
    assert_shape("User", me.json())
    for auth in [("admin@example.com", "secret"), ("admin", "cloud-token"), ("admin@example.com", "wrong"), None]:
        with cloud.client(auth) as c:
            r = c.get("/rest/api/2/myself")
        assert r.status_code == 401, auth
    with cloud.client(headers={"Authorization": "Bearer cloud-token"}) as c:
        assert c.get("/rest/api/3/myself").status_code == 401


def test_server_basic_auth_and_no_v3(server):
    me = server.http.get("/rest/api/2/myself")
    assert me.status_code == 200 and me.json()["name"] == "admin" and "accountId" not in me.json()
    assert server.http.get("/rest/api/3/myself").status_code == 404
    info = server.http.get("/rest/api/2/serverInfo").json()
    assert info["deploymentType"] == "Server" and info["versionNumbers"] == [8, 20, 0]


def test_server_pat_needs_8_14(make_site):
    new, old = make_site("server", "8.14.0"), make_site("server", "8.13.0")
    with new.client(headers={"Authorization": "Bearer pat-token"}) as c:
        r = c.get("/rest/api/2/myself")
        assert r.status_code == 200 and r.json()["name"] == "admin"
    with new.client(("admin", "pat-token")) as c:  # a PAT is not a Basic password
        assert c.get("/rest/api/2/myself").status_code == 401
    with old.client(headers={"Authorization": "Bearer pat-token"}) as c:
        assert c.get("/rest/api/2/myself").status_code == 401
    assert old.http.get("/rest/api/2/myself").status_code == 200


def test_server_captcha_after_three_failed_logins(server):
    with server.client(("admin", "nope")) as bad, server.client(("admin", "secret")) as good:
        assert bad.get("/rest/api/2/myself").status_code == 401
        assert good.get("/rest/api/2/myself").status_code == 200  # success resets the count
        for _ in range(3):
            r = bad.get("/rest/api/2/myself")
            assert r.status_code == 401 and r.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
        r = good.get("/rest/api/2/myself")  # even the right password, until someone solves it
        assert r.status_code == 403
        assert r.headers["X-Authentication-Denied-Reason"].startswith("CAPTCHA_CHALLENGE; login-url=")
        server.fake.clear_captcha("admin")
        assert good.get("/rest/api/2/myself").status_code == 200


def test_revoked_credentials_answer_401(cloud):
    assert cloud.http.get("/rest/api/3/myself").status_code == 200
    cloud.fake.revoke_credentials("admin@example.com")
    assert cloud.http.get("/rest/api/3/myself").status_code == 401


def test_viewer_can_browse_but_not_write(site):
    issue = site.create_ok()
    with site.as_viewer() as viewer:
        perms = viewer.get("/rest/api/2/mypermissions", params={
            "projectKey": "OPS", "permissions": "BROWSE_PROJECTS,CREATE_ISSUES,EDIT_ISSUES,TRANSITION_ISSUES,ADD_COMMENTS"}
        ).json()["permissions"]
        assert perms["BROWSE_PROJECTS"]["havePermission"] is True
        assert not any(perms[k]["havePermission"] for k in ("CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "ADD_COMMENTS"))
        assert viewer.get(f"/rest/api/2/issue/{issue['key']}").status_code == 200
        r = viewer.post("/rest/api/2/issue", json={"fields": {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "x"}})
        assert r.status_code == 400 and "permission" in r.json()["errors"]["project"]
        r = viewer.put(f"/rest/api/2/issue/{issue['id']}", json={"fields": {"priority": {"id": "1"}}})
        assert r.status_code == 403
        r = viewer.post(f"/rest/api/2/issue/{issue['id']}/comment", json={"body": "hi"})
        assert r.status_code == 403
        assert viewer.get(f"/rest/api/2/issue/{issue['id']}/transitions").json()["transitions"] == []
        r = viewer.post(f"/rest/api/2/issue/{issue['id']}/transitions", json={"transition": {"id": "21"}})
        assert r.status_code == 400 and r.json()["errorMessages"]
    assert site.fake.issue(issue["id"]).status_name == "To Do" and not site.fake.issue(issue["id"]).comments


def test_projects_listing_per_flavour(cloud, server):
    page = cloud.http.get("/rest/api/3/project/search", params={"maxResults": 2}).json()
    assert page["total"] == 5 and page["isLast"] is False and len(page["values"]) == 2 and "nextPage" in page
    assert_shape("PageBeanProject", page)
    found = cloud.http.get("/rest/api/3/project/search", params={"query": "flow"}).json()
    assert [p["key"] for p in found["values"]] == ["FLOW"]
    assert server.http.get("/rest/api/2/project/search").status_code == 404
    keys = [p["key"] for p in server.http.get("/rest/api/2/project").json()]
    assert keys == ["CN", "FLOW", "NOPRI", "OPS", "REQ"]
    assert server.http.get("/rest/api/2/project/OPS").json()["id"] == "10000"
    assert server.http.get("/rest/api/2/project/NOPE").status_code == 404
    assert_shape("Project", cloud.http.get("/rest/api/3/project/OPS").json())
