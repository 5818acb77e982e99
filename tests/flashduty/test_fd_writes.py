"""Writes through the emulator's Open API: state, feed, webhook with the key's member as actor."""
from __future__ import annotations

import json

import httpx
import pytest

from flashduty.test_fd_delivery import Receiver


@pytest.fixture
def hooked(fake):
    """The fake with one webhook integration; yields its receiver."""
    rcv = Receiver()
    fake.add_webhook(rcv.url)
    yield rcv
    fake.wait_deliveries()
    rcv.stop()


def new(fake) -> str:
    return fake.open_incident()["incident"]["incident_id"]


def pushed(fake, rcv, n: int) -> list[dict]:
    fake.wait_deliveries()
    return [p["payload"] for p in rcv.pushes[-n:]]


def test_ack_unack_resolve_reopen_change_state_feed_and_push(fake, call, hooked):
    iid, me = new(fake), fake.person("Jira Sync")
    steps = [
        ("/incident/ack", {}, "i_ack", "Processing"),
        ("/incident/unack", {}, "i_unack", "Triggered"),
        ("/incident/resolve", {"root_cause": "bad deploy", "resolution": "rolled back"},
         "i_rslv", "Closed"),
        ("/incident/reopen", {"reason": "again"}, "i_reopen", "Triggered"),
    ]
    for path, extra, event, progress in steps:
        resp = call(path, incident_ids=[iid], **extra)
        assert resp.status_code == 200 and resp.json()["data"] is None, resp.text
        [payload] = pushed(fake, hooked, 1)
        assert (payload["event_type"], payload["incident"]["progress"]) == (event, progress)
        assert payload["person"] == me
        entry = fake.timeline(iid)[-1]
        assert (entry["type"], entry["creator_id"]) == (event, me["person_id"])
    feed = {e["type"]: e["detail"] for e in fake.timeline(iid)}
    assert feed["i_reopen"] == {"reason": "again"} and feed["i_rslv"] == {"from": "console"}
    closed = [p for p in hooked.pushes if p["payload"]["event_type"] == "i_rslv"][0]["payload"]
    assert closed["incident"]["root_cause"] == "bad deploy"
    assert closed["incident"]["closer"] == me
    assert hooked.types() == ["i_new", "i_ack", "i_unack", "i_rslv", "i_reopen"]


def test_extra_app_keys_act_as_their_member(fake, call):
    fake.add_app_key("carol-key", "Carol", manage=False)
    assert call("/member/info", key="carol-key").json()["data"]["member_name"] == "Carol"
    iid = fake.open_incident()["incident"]["incident_id"]
    assert call("/incident/ack", key="carol-key", incident_ids=[iid]).status_code == 403


@pytest.mark.parametrize("path", ["/incident/ack", "/incident/unack", "/incident/resolve",
                                  "/incident/reopen", "/incident/comment", "/incident/reset"])
def test_the_read_only_key_may_not_write(fake, call, path):
    iid = fake.open_incident()["incident"]["incident_id"]
    resp = call(path, key="fd-read-key", incident_ids=[iid], incident_id=iid, comment="x")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "AccessDenied"
    assert fake.incident(iid)["progress"] == "Triggered" and len(fake.events) == 1


def test_batch_writes_change_every_incident(fake, call, hooked):
    ids = [new(fake) for _ in range(3)]
    assert call("/incident/ack", incident_ids=ids).status_code == 200
    assert {fake.incident(i)["progress"] for i in ids} == {"Processing"}
    assert [p["incident"]["incident_id"] for p in pushed(fake, hooked, 3)] == ids


@pytest.mark.parametrize(("path", "setup"), [
    ("/incident/ack", "ack"), ("/incident/unack", None), ("/incident/resolve", "resolve"),
    ("/incident/reopen", None)])
def test_no_op_writes_answer_200_and_change_nothing(fake, call, hooked, path, setup):
    iid = new(fake)
    if setup:
        getattr(fake, setup)(iid)
    before, events, feed = fake.incident(iid), len(fake.events), len(fake.timeline(iid))
    resp = call(path, incident_ids=[iid])
    assert resp.status_code == 200
    assert fake.incident(iid) == before and len(fake.events) == events
    assert len(fake.timeline(iid)) == feed


def test_no_op_writes_can_answer_an_error_instead(fake, call, hooked):
    fake.settings.noop_answer["ack"] = "error"
    a, b = new(fake), new(fake)
    fake.ack(a)
    resp = call("/incident/ack", incident_ids=[b, a])
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "InvalidParameter"
    assert fake.incident(b)["progress"] == "Triggered"  # the whole call did nothing


def test_unknown_incidents_fail_the_whole_call(fake, call):
    iid = new(fake)
    resp = call("/incident/ack", incident_ids=[iid, "0" * 24])
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "ResourceNotFound"
    assert fake.incident(iid)["progress"] == "Triggered"


@pytest.mark.parametrize("ids", [[], ["x"], "abc", ["0" * 24] * 101, None])
def test_incident_ids_must_be_1_to_100_object_ids(call, ids):
    resp = call("/incident/ack", incident_ids=ids)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "InvalidParameter"


def test_comment_adds_feed_text_and_pushes_i_comm(fake, call, hooked):
    iid, me = new(fake), fake.person("Jira Sync")
    assert call("/incident/comment", incident_ids=[iid], comment="from Jira").status_code == 200
    [payload] = pushed(fake, hooked, 1)
    assert payload["event_type"] == "i_comm" and payload["person"] == me
    entry = fake.timeline(iid)[-1]
    assert entry["detail"] == {"comment": "from Jira", "mute_reply": False}
    assert entry["creator_id"] == me["person_id"]
    call("/incident/comment", incident_ids=[iid], comment="quiet", mute_reply=True)
    assert fake.timeline(iid)[-1]["detail"]["mute_reply"] is True


def test_comment_length_limit_is_1024_and_settable(fake, call):
    iid = new(fake)
    assert call("/incident/comment", incident_ids=[iid], comment="é" * 1024).status_code == 200
    assert call("/incident/comment", incident_ids=[iid], comment="é" * 1025).status_code == 400
    assert call("/incident/comment", incident_ids=[iid], comment="").status_code == 400
    assert call("/incident/comment", incident_ids=[iid]).status_code == 400
    fake.settings.comment_max_length = 500  # the legacy spec's limit
    assert call("/incident/comment", incident_ids=[iid], comment="x" * 501).status_code == 400


def test_reset_changes_severity_and_text_fields_one_event_each(fake, call, hooked):
    iid = new(fake)
    resp = call("/incident/reset", incident_id=iid, incident_severity="Info", title="New title",
                description="Some words")
    assert resp.status_code == 200, resp.text
    types = [p["event_type"] for p in pushed(fake, hooked, 3)]
    assert types == ["i_r_title", "i_r_desc", "i_r_severity"]
    inc = fake.incident(iid)
    assert (inc["incident_severity"], inc["incident_status"], inc["title"]) == (
        "Info", "Info", "New title")
    feed = {e["type"]: e["detail"] for e in fake.timeline(iid)}
    assert feed["i_r_severity"] == {"from": "Critical", "to": "Info"}
    assert feed["i_r_title"]["to"] == "New title" and feed["i_r_desc"] == {}
    # the same values again: nothing to change, nothing pushed
    call("/incident/reset", incident_id=iid, incident_severity="Info", title="New title")
    fake.wait_deliveries()
    assert len(hooked.pushes) == 4


@pytest.mark.parametrize("body", [
    {}, {"incident_severity": "Ok"}, {"title": "ab"}, {"title": "x" * 201},
    {"description": "d" * 6145}])
def test_reset_validation(fake, call, body):
    iid = new(fake)
    resp = call("/incident/reset", incident_id=iid, **body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "InvalidParameter"


def test_resolve_and_reopen_text_limits(fake, call):
    iid = new(fake)
    assert call("/incident/resolve", incident_ids=[iid], root_cause="r" * 1025).status_code == 400
    assert call("/incident/reopen", incident_ids=[iid], reason=5).status_code == 400


def test_a_receiver_calling_back_during_an_api_write_does_not_deadlock(fake, fd_url, call):
    """The service writes; Flashduty pushes the event; the service's receiver reads the
    feed back from Flashduty before it answers 200. All of it within the 2 s timeout."""
    rcv = Receiver()

    def read_back(payload):
        iid = payload["incident"]["incident_id"]
        resp = httpx.post(f"{fd_url}/incident/feed", params={"app_key": fake.app_key},
                          json={"incident_id": iid, "limit": 1}, timeout=5)
        return {"comment": resp.json()["data"]["items"][0]["detail"].get("comment")}

    rcv.on_push = read_back
    fake.add_webhook(rcv.url, event_types=["i_comm"])
    try:
        iid = new(fake)
        assert call("/incident/comment", incident_ids=[iid], comment="echo?").status_code == 200
        fake.wait_deliveries()
        [rec] = fake.deliveries()
        assert rec["status"] == "success"
        assert json.loads(rec["response_body"])["comment"] == "echo?"
    finally:
        rcv.stop()


async def test_async_tests_can_await_background_deliveries(fake, hooked):
    iid = new(fake)  # from a running loop: delivered on the worker thread
    fake.ack(iid)
    await fake.settle_deliveries()
    assert hooked.types()[-1] == "i_ack"
