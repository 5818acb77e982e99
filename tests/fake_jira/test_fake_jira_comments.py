"""Comments: bodies per API version, properties (per-comment endpoints, not in the list), paging."""
from __future__ import annotations

import pytest

from .support import VIEWER, adf, assert_shape


def _comment(site, key, text="Resolved by on-call", **extra):
    body = adf(text) if site.fake.cloud else text
    r = site.http.post(f"/rest/api/{site.api}/issue/{key}/comment", json={"body": body, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_properties_are_stored_but_not_listed(site):
    site.fake.comment_properties_in_list = False  # the default, unless the environment asks for the old way
    key = site.create_ok()["key"]
    props = [{"key": "jira-sync", "value": {"ref": "evt-1"}}]
    created = _comment(site, key, properties=props)
    if site.fake.cloud:
        assert_shape("Comment", created)
    assert "properties" not in created
    [comment] = site.fake.issue(key).comments
    assert comment.properties == props and comment.text == "Resolved by on-call"
    for expand in (None, "properties", "renderedBody,properties"):
        page = site.http.get(f"/rest/api/{site.api}/issue/{key}/comment", params={"expand": expand} if expand else {})
        assert page.json()["total"] == 1 and "properties" not in page.json()["comments"][0]
    one = site.http.get(f"/rest/api/{site.api}/issue/{key}/comment/{created['id']}", params={"expand": "properties"})
    assert one.status_code == 200 and one.json()["id"] == created["id"] and "properties" not in one.json()
    keys = site.http.get(f"/rest/api/2/comment/{created['id']}/properties").json()
    if site.fake.cloud:
        assert_shape("PropertyKeys", keys)
    assert [k["key"] for k in keys["keys"]] == ["jira-sync"]
    assert keys["keys"][0]["self"].endswith(f"/comment/{created['id']}/properties/jira-sync")
    got = site.http.get(f"/rest/api/{site.api}/comment/{created['id']}/properties/jira-sync").json()
    assert got == props[0]


def test_old_list_behaviour_behind_a_setting(site):
    site.fake.comment_properties_in_list = True
    try:
        key = site.create_ok()["key"]
        props = [{"key": "jira-sync", "value": {"ref": "evt-1"}}]
        assert _comment(site, key, properties=props)["properties"] == props
        page = site.http.get(f"/rest/api/{site.api}/issue/{key}/comment", params={"expand": "properties"}).json()
        assert page["comments"][0]["properties"] == props
        plain = site.http.get(f"/rest/api/{site.api}/issue/{key}/comment").json()
        assert "properties" not in plain["comments"][0]
    finally:
        site.fake.comment_properties_in_list = False


def test_property_put_get_delete(site):
    key = site.create_ok()["key"]
    cid = _comment(site, key)["id"]
    url = f"/rest/api/{site.api}/comment/{cid}/properties/jira-sync"
    assert site.http.get(url).status_code == 404
    assert site.http.put(url, json={"ref": "a"}).status_code == 201
    assert site.http.put(url, json={"ref": "b"}).status_code == 200
    assert site.http.get(url).json() == {"key": "jira-sync", "value": {"ref": "b"}}
    assert site.http.put(url, content=b"", headers={"content-type": "application/json"}).status_code == 400
    assert site.http.put(url, content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    long_key = f"/rest/api/{site.api}/comment/{cid}/properties/{'k' * 256}"
    assert site.http.put(long_key, json=1).status_code == 400
    assert site.http.put(url, json="x" * 40000).status_code == 400
    viewer = site.as_viewer()
    assert viewer.get(url).status_code == 200  # browsing is enough to read
    assert viewer.put(url, json=1).status_code == 403 and viewer.delete(url).status_code == 403
    assert site.http.delete(url).status_code == 204
    assert site.http.delete(url).status_code == 404
    assert site.http.get(f"/rest/api/{site.api}/comment/{cid}/properties").json() == {"keys": []}
    assert site.http.get(f"/rest/api/{site.api}/comment/99999/properties").status_code == 404
    viewer.close()


def test_get_update_delete_one_comment(site):
    key = site.create_ok()["key"]
    other = site.create_ok()["key"]
    cid = _comment(site, key)["id"]
    api = site.api
    assert site.http.get(f"/rest/api/{api}/issue/{other}/comment/{cid}").status_code == 404  # not on that issue
    assert site.http.get(f"/rest/api/{api}/issue/{key}/comment/424242").status_code == 404
    new = adf("edited") if site.fake.cloud else "edited"
    r = site.http.put(f"/rest/api/{api}/issue/{key}/comment/{cid}", json={"body": new})
    assert r.status_code == 200 and r.json()["body"] == new
    assert site.fake.issue(key).comments[0].text == "edited"
    viewer = site.as_viewer()
    assert viewer.delete(f"/rest/api/{api}/issue/{key}/comment/{cid}").status_code == 403
    assert site.http.delete(f"/rest/api/{api}/issue/{key}/comment/{cid}").status_code == 204
    assert not site.fake.issue(key).comments
    assert site.http.get(f"/rest/api/{api}/comment/{cid}/properties").status_code == 404
    viewer.close()


def test_comment_paging(cloud):
    key = cloud.create_ok()["key"]
    for i in range(5):
        assert cloud.http.post(f"/rest/api/3/issue/{key}/comment", json={"body": adf(f"c{i}")}).status_code == 201
    page = cloud.http.get(f"/rest/api/3/issue/{key}/comment", params={"startAt": 2, "maxResults": 2}).json()
    assert_shape("PageOfComments", page)
    assert (page["startAt"], page["maxResults"], page["total"]) == (2, 2, 5)
    assert [c["body"] for c in page["comments"]] == [adf("c2"), adf("c3")]
    v2 = cloud.http.get(f"/rest/api/2/issue/{key}/comment").json()
    assert [c["body"] for c in v2["comments"]] == ["c0", "c1", "c2", "c3", "c4"]
    newest = cloud.http.get(f"/rest/api/3/issue/{key}/comment", params={"orderBy": "-created"}).json()
    assert newest["comments"][0]["body"] == adf("c4")
    assert cloud.http.get(f"/rest/api/3/issue/{key}/comment", params={"orderBy": "updated"}).status_code == 400


def test_comment_body_validation(cloud, server):
    key = cloud.create_ok()["key"]
    url = f"/rest/api/3/issue/{key}/comment"
    assert cloud.http.post(url, json={"body": "a string on v3"}).json()["errors"] == {"comment": "Comment body is not valid!"}
    bare = {"type": "doc", "version": 1, "content": [{"type": "text", "text": "bare"}]}
    assert cloud.http.post(url, json={"body": bare}).status_code == 400
    empty = {"type": "doc", "version": 1, "content": []}
    assert cloud.http.post(url, json={"body": empty}).json()["errors"] == {"comment": "Comment body can not be empty!"}
    r = cloud.http.post(url, json={"body": adf("x"), "properties": [{"key": "k", "value": 1, "extra": 2}]})
    assert r.status_code == 400  # EntityProperty allows only key and value (OpenAPI)
    assert cloud.http.post(f"/rest/api/2/issue/{key}/comment", json={"body": "wiki on v2"}).status_code == 201
    skey = server.create_ok()["key"]
    r = server.http.post(f"/rest/api/2/issue/{skey}/comment", json={"body": adf("object on v2")})
    assert r.status_code == 400 and r.json()["errorMessages"]
    assert server.http.post(f"/rest/api/2/issue/{skey}/comment", json={"body": "  "}).status_code == 400
    assert not cloud.fake.issue(key).comments[1:] and not server.fake.issue(skey).comments


@pytest.mark.parametrize("flavour", ["cloud", "server"])
def test_viewer_cannot_comment(make_site, flavour):
    s = make_site(flavour)
    key = s.create_ok()["key"]
    with s.client(VIEWER[flavour]) as viewer:
        body = adf("x") if s.fake.cloud else "x"
        assert viewer.post(f"/rest/api/{s.api}/issue/{key}/comment", json={"body": body}).status_code == 403
