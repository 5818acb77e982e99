"""Incident reads of the emulator's Open API: /incident/info, /incident/list-by-ids, /incident/list."""
from __future__ import annotations

import pytest

WEBHOOK_KEYS = {
    "incident_id", "title", "description", "impact", "root_cause", "resolution",
    "incident_severity", "incident_status", "progress", "created_at", "updated_at",
    "start_time", "last_time", "end_time", "ack_time", "close_time", "snoozed_before",
    "labels", "fields", "responders", "alert_cnt", "channel_id", "channel_name",
    "detail_url", "group_method", "num",
}
SPEC_REQUIRED = {  # the spec's "Detailed incident record", required fields
    "account_id", "integration_id", "integration_ids", "integration_types", "dedup_key",
    "equals_md5", "creator_id", "closer_id", "owner_id", "ai_summary", "ever_muted",
    "assigned_to", "active_alert_cnt", "alert_event_cnt", "account_name", "account_locale",
    "account_time_zone", "channel_status", "silence_url", "post_mortem_id", "images",
    "manual_overrides",
}


def test_info_is_the_webhook_snapshot_plus_the_specs_fields(fake, call):
    payload = fake.open_incident()
    iid = payload["incident"]["incident_id"]
    data = call("/incident/info", incident_id=iid).json()["data"]
    assert WEBHOOK_KEYS | SPEC_REQUIRED <= data.keys()
    assert {k: data[k] for k in WEBHOOK_KEYS} == {k: payload["incident"][k] for k in WEBHOOK_KEYS}
    closed = fake.resolve(iid, by="Bob")
    data = call("/incident/info", incident_id=iid).json()["data"]
    assert data["closer_id"] == fake.person("Bob")["person_id"]
    assert data["progress"] == "Closed" and data["updated_at"] == closed["incident"]["updated_at"]


def test_every_change_moves_updated_at(fake, call):
    iid = fake.open_incident()["incident"]["incident_id"]
    seen = [call("/incident/info", incident_id=iid).json()["data"]["updated_at"]]
    for change in (fake.ack, fake.unack, lambda i: fake.add_comment(i, "x"), fake.resolve):
        change(iid)
        seen.append(call("/incident/info", incident_id=iid).json()["data"]["updated_at"])
    assert seen == sorted(set(seen))  # strictly increasing, even within one second


@pytest.mark.parametrize(("body", "code"), [
    ({}, "InvalidParameter"), ({"incident_id": "x"}, "InvalidParameter"),
    ({"incident_id": "0" * 24}, "ResourceNotFound")])
def test_info_errors_are_400(call, body, code):
    resp = call("/incident/info", **body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == code


def test_list_by_ids_keeps_order_skips_unknown_and_limits_the_batch(fake, call):
    a, b = (fake.open_incident()["incident"]["incident_id"] for _ in range(2))
    data = call("/incident/list-by-ids", incident_ids=[b, "0" * 24, a, b]).json()["data"]
    assert [i["incident_id"] for i in data["items"]] == [b, a]
    assert (data["total"], data["has_next_page"]) == (2, False)
    assert call("/incident/list-by-ids", incident_ids=["0" * 24] * 100).status_code == 200
    too_many = call("/incident/list-by-ids", incident_ids=["0" * 24] * 101)
    assert too_many.status_code == 400
    assert call("/incident/list-by-ids", incident_ids=["nope"]).status_code == 400


@pytest.fixture
def many(fake):
    """12 incidents a minute apart in time (start_time), three channels, mixed states."""
    base = 1_760_000_000
    ids = []
    for i in range(12):
        inc = fake.open_incident(start_time=base + 60 * i, channel_id=[1, 2, 0][i % 3],
                                 incident_severity=["Critical", "Warning", "Info"][i % 3])
        ids.append(inc["incident"]["incident_id"])
    fake.ack(ids[0])
    fake.resolve(ids[1])
    return base, ids


def test_list_filters(call, many):
    base, ids = many
    window = {"start_time": base - 1, "end_time": base + 3600}

    def found(**body):
        resp = call("/incident/list", **{**window, **body})
        assert resp.status_code == 200, resp.text
        return [i["incident_id"] for i in resp.json()["data"]["items"]]

    assert found(limit=100) == ids[::-1]  # newest first
    assert found(asc=True) == ids
    assert found(channel_ids=[2]) == ids[1::3][::-1]
    assert found(channel_ids=[0], asc=True) == ids[2::3]
    assert found(progress="Processing,Closed", asc=True) == ids[:2]
    assert found(incident_severity="Warning", asc=True) == ids[1::3]
    assert found(incident_ids=[ids[5], ids[7]], asc=True) == [ids[5], ids[7]]
    assert found(start_time=base + 60, end_time=base + 120, asc=True) == ids[1:3]  # inclusive


def test_list_pages_by_p_and_by_cursor(call, many):
    base, ids = many
    window = {"start_time": base - 1, "end_time": base + 3600, "asc": True, "limit": 5}
    pages = [call("/incident/list", **window, p=p).json()["data"] for p in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [5, 5, 2]
    assert [p["has_next_page"] for p in pages] == [True, True, False]
    assert all(p["total"] == 12 for p in pages) and "search_after_ctx" not in pages[2]
    got, ctx = [], ""
    while True:
        data = call("/incident/list", **window, search_after_ctx=ctx).json()["data"]
        got += [i["incident_id"] for i in data["items"]]
        if not data["has_next_page"]:
            break
        ctx = data["search_after_ctx"]
    assert got == ids


@pytest.mark.parametrize("body", [
    {},  # start_time and end_time are required
    {"start_time": 100, "end_time": 100},
    {"start_time": 0, "end_time": 31 * 86400 + 1},  # over 31 days
    {"start_time": 0, "end_time": 10, "limit": 101},
    {"start_time": 0, "end_time": 10, "p": 101, "limit": 100},  # p * limit > 10,000
    {"start_time": 0, "end_time": 10, "progress": "Open"},
    {"start_time": 0, "end_time": 10, "incident_severity": "Critical,Ok"},
    {"start_time": 0, "end_time": 10, "channel_ids": 5},
    {"start_time": 0, "end_time": 10, "search_after_ctx": "f" * 24},
])
def test_list_rejects_bad_queries(call, body):
    resp = call("/incident/list", **body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "InvalidParameter"


def test_list_accepts_exactly_31_days(call):
    assert call("/incident/list", start_time=0, end_time=31 * 86400).status_code == 200
