"""Comments: bodies per API version, properties, paging."""
from __future__ import annotations

from .support import adf, assert_shape


def test_comment_with_properties(site):
    key = site.create_ok()["key"]
    body = adf("Resolved by on-call") if site.fake.cloud else "Resolved by on-call"
    props = [{"key": "jira-sync", "value": {"ref": "evt-1"}}]
    r = site.http.post(f"/rest/api/{site.api}/issue/{key}/comment", json={"body": body, "properties": props})
    assert r.status_code == 201, r.text
    created = r.json()
    if site.fake.cloud:
        assert_shape("Comment", created)
    assert created["body"] == body and created["properties"] == props
    [comment] = site.fake.issue(key).comments
    assert comment.body == body and comment.properties == props and comment.text == "Resolved by on-call"
    page = site.http.get(f"/rest/api/{site.api}/issue/{key}/comment", params={"expand": "properties"}).json()
    assert page["total"] == 1 and page["comments"][0]["properties"] == props
    plain = site.http.get(f"/rest/api/{site.api}/issue/{key}/comment").json()
    assert "properties" not in plain["comments"][0]
    assert site.http.get(f"/rest/api/2/comment/{created['id']}/properties/jira-sync").json() == props[0]
    assert site.http.get(f"/rest/api/2/comment/{created['id']}/properties").json()["keys"][0]["key"] == "jira-sync"


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
