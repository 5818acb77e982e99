"""/webhook/history/list and /detail: what a service recovering missed deliveries reads."""
from __future__ import annotations

import json

import pytest

from flashduty.test_fd_delivery import Receiver


@pytest.fixture
def two_hooks(fake):
    up, down = Receiver(), Receiver(status=503)
    a = fake.add_webhook(up.url)
    b = fake.add_webhook(down.url, event_types=["i_new", "i_comm"])
    yield a.integration_id, b.integration_id
    up.stop()
    down.stop()


def window(fake, **body):
    now = int(fake.clock() * 1000)
    return {"limit": 100, "start_time": now - 60_000, "end_time": now + 60_000, **body}


def test_list_filters_and_orders(fake, call, two_hooks):
    a, b = two_hooks
    iid = fake.open_incident()["incident"]["incident_id"]
    other = fake.open_incident()["incident"]["incident_id"]
    fake.add_comment(iid, "x")
    fake.ack(iid)

    def items(**body):
        resp = call("/webhook/history/list", **window(fake, **body))
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]["items"]

    everything = items()
    assert len(everything) == 7  # 4 events to a, 3 to b
    times = [i["event_time"] for i in everything]
    assert times == sorted(times, reverse=True)  # newest first by default
    assert [i["event_type"] for i in items(asc=True, integration_id=a)] == [
        "i_new", "i_new", "i_comm", "i_ack"]
    failed = items(status="failed")
    assert {i["integration_id"] for i in failed} == {b} and len(failed) == 3
    assert all(i["status_code"] == 503 for i in failed)
    assert {i["ref_id"] for i in items(ref_id=other)} == {other}
    assert [i["event_type"] for i in items(event_types=["i_ack"])] == ["i_ack"]
    assert items(integration_id=0) == everything


def test_failed_request_bodies_replay_the_exact_payload(fake, call, two_hooks):
    _, b = two_hooks
    sent = fake.open_incident()
    [rec] = call("/webhook/history/list", **window(fake, status="failed")).json()["data"]["items"]
    assert rec["integration_id"] == b and json.loads(rec["request_body"]) == sent


def test_cursor_pages_through_everything_once(fake, call, two_hooks):
    iid = fake.open_incident()["incident"]["incident_id"]
    for i in range(6):
        fake.add_comment(iid, f"c{i}")
    seen, ctx, pages = [], "", 0
    while True:
        data = call("/webhook/history/list", **window(fake, limit=4, search_after_ctx=ctx,
                                                      asc=True)).json()["data"]
        pages += 1
        assert data["total"] == 14
        seen += [(i["event_id"], i["integration_id"]) for i in data["items"]]
        ctx = data["search_after_ctx"]
        if not ctx:
            break
    assert pages == 4 and len(seen) == len(set(seen)) == 14


def test_window_is_in_milliseconds_and_retention_is_settable(fake, call, two_hooks):
    fake.open_incident()
    now = int(fake.clock() * 1000)
    later = {"limit": 10, "start_time": now + 120_000, "end_time": now + 180_000}
    assert call("/webhook/history/list", **later).json()["data"]["items"] == []
    fake.settings.history_retention = 0.0
    fake.clock = lambda: now / 1000 + 1
    assert call("/webhook/history/list", **window(fake)).json()["data"] == {
        "items": [], "total": 0, "search_after_ctx": ""}


@pytest.mark.parametrize("body", [
    {"start_time": 1_700_000_000_000, "end_time": 1_700_000_100_000},  # limit missing
    {"limit": 0, "start_time": 1_700_000_000_000, "end_time": 1_700_000_100_000},
    {"limit": 101, "start_time": 1_700_000_000_000, "end_time": 1_700_000_100_000},
    {"limit": 10, "start_time": 1_700_000_000, "end_time": 1_700_000_100},  # seconds
    {"limit": 10, "start_time": 1_700_000_100_000, "end_time": 1_700_000_000_000},
    {"limit": 10, "start_time": 1_700_000_000_000, "end_time": 1_700_000_100_000,
     "status": "ok"},
    {"limit": 10, "start_time": 1_700_000_000_000, "end_time": 1_700_000_100_000,
     "search_after_ctx": "not a cursor"},
    {"limit": 10, "start_time": 1_700_000_000_000, "end_time": 1_700_000_100_000,
     "ref_id": "x" * 129},
])
def test_list_validation(call, body):
    resp = call("/webhook/history/list", **body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "InvalidParameter"


def test_detail_adds_the_incident_title_and_channel_name(fake, call, two_hooks):
    a, _ = two_hooks
    inc = fake.open_incident(title="Disk full")["incident"]
    rec = next(r for r in fake.deliveries() if r["integration_id"] == a)
    data = call("/webhook/history/detail", event_id=rec["event_id"], integration_id=a).json()["data"]
    assert data == {**rec, "ref_title": "Disk full", "channel_name": inc["channel_name"]}
    missing = call("/webhook/history/detail", event_id="nope", integration_id=a)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "ResourceNotFound"
    assert call("/webhook/history/detail", event_id="x").status_code == 400
