"""Cloud's edge and API gateway: tenant_info, /ex/jira/{cloudId}, scoped tokens and service accounts,
expired tokens."""
from __future__ import annotations

from .support import ADMIN, adf

SVC = ("svc-jira-sync@serviceaccount.atlassian.com", "svc-token")
READONLY = ("svc-readonly@serviceaccount.atlassian.com", "svc-readonly-token")
SCOPE = {"code": 401, "message": "Unauthorized; scope does not match"}


def _gw(cloud) -> str:
    return f"/ex/jira/{cloud.fake.cloud_id}"


def test_tenant_info_is_anonymous(cloud, server):
    with cloud.client() as anon:
        r = anon.get("/_edge/tenant_info")
    assert r.status_code == 200 and r.json() == {"cloudId": cloud.fake.cloud_id}
    assert server.http.get("/_edge/tenant_info").status_code == 404


def test_service_account_works_only_through_the_gateway(cloud):
    with cloud.client(SVC) as svc:
        r = svc.get("/rest/api/3/myself")
        assert r.status_code == 401 and r.text == "Client must be authenticated to access this resource."
        me = svc.get(f"{_gw(cloud)}/rest/api/3/myself")
        assert me.status_code == 200 and me.json()["accountType"] == "app"
        assert me.json()["self"].startswith(cloud.url + _gw(cloud) + "/rest/api/3/")
        info = svc.get(f"{_gw(cloud)}/rest/api/3/serverInfo").json()
        assert info["baseUrl"] == cloud.url  # browse links stay on the site
        body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "via gateway"}}
        made = svc.post(f"{_gw(cloud)}/rest/api/3/issue", json=body)
        assert made.status_code == 201 and made.json()["self"].startswith(cloud.url + _gw(cloud))
        key = made.json()["key"]
        assert svc.post(f"{_gw(cloud)}/rest/api/2/issue/{key}/comment", json={"body": "hi"}).status_code == 201
        assert svc.get(f"{_gw(cloud)}/rest/api/3/search/jql", params={"jql": "project = OPS"}).status_code == 200
    assert cloud.fake.issue(key).reporter.email == SVC[0]


def test_classic_token_works_on_both(cloud):
    with cloud.client(ADMIN["cloud"]) as admin:
        assert admin.get(f"{_gw(cloud)}/rest/api/3/myself").status_code == 200
        assert admin.get("/rest/api/3/myself").status_code == 200
        assert admin.get("/ex/jira/00000000-0000-0000-0000-000000000000/rest/api/3/myself").status_code == 404


def test_scopes_are_checked_at_the_gateway(cloud):
    key = cloud.create_ok()["key"]
    with cloud.client(READONLY) as ro:
        assert ro.get(f"{_gw(cloud)}/rest/api/3/issue/{key}").status_code == 200
        assert ro.get(f"{_gw(cloud)}/rest/api/2/issue/{key}/transitions").status_code == 200
        for method, path, body in [
            ("POST", f"/rest/api/3/issue/{key}/comment", {"body": adf("x")}),
            ("PUT", f"/rest/api/2/issue/{key}", {"fields": {"summary": "x"}}),
            ("POST", f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": "21"}}),
            ("DELETE", f"/rest/api/3/issue/{key}", None),
            ("GET", "/rest/webhooks/1.0/webhook", None),
        ]:
            r = ro.request(method, _gw(cloud) + path, json=body)
            assert (r.status_code, r.json()) == (401, SCOPE), (method, path)
    cloud.fake.set_token("alice@example.com", "alice-granular", scopes={"read:issue-meta:jira", "read:avatar:jira",
                                                                         "read:issue.changelog:jira"})
    with cloud.client(("alice@example.com", "alice-granular")) as granular:
        assert granular.get(f"{_gw(cloud)}/rest/api/3/issue/{key}/changelog").status_code == 200
        assert granular.get(f"{_gw(cloud)}/rest/api/3/myself").status_code == 401
        assert granular.get(f"/rest/api/3/issue/{key}/changelog").status_code == 401


def test_expired_token_is_a_plain_401(cloud, server):
    with cloud.client(("alice@example.com", "wrong")) as wrong:
        expected = wrong.get("/rest/api/3/myself")
    cloud.fake.expire_token("alice@example.com")
    with cloud.client(("alice@example.com", "alice-token")) as alice:
        for path in ("/rest/api/3/myself", f"{_gw(cloud)}/rest/api/3/myself"):
            r = alice.get(path)
            assert (r.status_code, r.text, r.headers.get("www-authenticate")) == (
                expected.status_code, expected.text, expected.headers.get("www-authenticate"))
    cloud.fake.set_token("alice@example.com", "alice-new")
    with cloud.client(("alice@example.com", "alice-new")) as alice:
        assert alice.get("/rest/api/3/myself").status_code == 200
    server.fake.expire_token("alice")
    with server.client(headers={"Authorization": "Bearer alice-pat"}) as pat:
        assert pat.get("/rest/api/2/myself").status_code == 401
    with server.client(("alice", "alice")) as password:
        assert password.get("/rest/api/2/myself").status_code == 200  # a password does not expire


def test_gateway_is_cloud_only(server):
    r = server.http.get("/ex/jira/whatever/rest/api/2/myself")
    assert r.status_code == 404
