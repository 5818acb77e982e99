"""The Flashduty emulator: its state, its webhook payloads, its Open API, its server."""
from __future__ import annotations

import re
import threading
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer

HEX24, HEX32 = re.compile(r"^[0-9a-f]{24}$"), re.compile(r"^[0-9a-f]{32}$")
DOCUMENTED_KEYS = {
    "incident_id", "title", "description", "impact", "root_cause", "resolution",
    "incident_severity", "incident_status", "progress", "created_at", "updated_at",
    "start_time", "last_time", "end_time", "ack_time", "close_time", "snoozed_before",
    "labels", "fields", "responders", "alert_cnt", "channel_id", "channel_name",
    "detail_url", "group_method", "num",
}


def test_open_incident_has_the_documented_shape():
    fake = FakeFlashduty()
    payload = fake.open_incident(by="TouTie")
    inc = payload["incident"]
    assert DOCUMENTED_KEYS <= inc.keys()
    assert HEX24.match(inc["incident_id"]) and inc["num"] == inc["incident_id"][-6:].upper()
    assert inc["detail_url"].endswith(f"/incident/detail/{inc['incident_id']}")
    assert (inc["progress"], inc["incident_severity"], inc["incident_status"]) == (
        "Triggered", "Critical", "Critical")
    assert inc["labels"] and isinstance(inc["channel_id"], int) and inc["channel_id"] > 0
    assert inc["responders"][0]["person_name"] == "Alice"
    assert inc["creator"]["person_name"] == "TouTie" == payload["person"]["person_name"]
    assert payload["event_type"] == "i_new" and HEX32.match(payload["event_id"])
    assert 1_600_000_000_000 < payload["event_time"] < 10_000_000_000_000  # milliseconds


def test_overrides_replace_fields_and_alert_created_incidents_have_no_person():
    fake = FakeFlashduty()
    payload = fake.open_incident(incident_id="64b1352e376e32c85c56e25b", title="Disk full",
                                 incident_severity="Info", labels={})
    inc = payload["incident"]
    assert (inc["incident_id"], inc["num"], inc["title"]) == (
        "64b1352e376e32c85c56e25b", "56E25B", "Disk full")
    assert (inc["incident_severity"], inc["incident_status"], inc["labels"]) == ("Info", "Info", {})
    assert "person" not in payload and "creator" not in inc


def test_each_change_pushes_the_latest_complete_snapshot():
    fake = FakeFlashduty()
    iid = fake.open_incident()["incident"]["incident_id"]
    fake.ack(iid, by="Bob")
    fake.set_severity(iid, "Warning")
    comm = fake.add_comment(iid, "on it", author="Bob")
    assert comm["event_type"] == "i_comm" and "comment" not in str(comm["incident"])
    assert (comm["incident"]["progress"], comm["incident"]["incident_severity"]) == (
        "Processing", "Warning")
    closed = fake.resolve(iid, by=None)  # auto recovery: no operator
    assert "person" not in closed and closed["incident"]["closer"] == {}
    assert (closed["incident"]["progress"], closed["incident"]["incident_status"]) == (
        "Closed", "Ok")
    again = fake.reopen(iid)
    assert (again["incident"]["progress"], again["incident"]["close_time"]) == ("Triggered", 0)
    assert again["incident"]["incident_status"] == "Warning"
    assert [e["event_type"] for e in fake.events] == [
        "i_new", "i_ack", "i_r_severity", "i_comm", "i_rslv", "i_reopen"]
    ids, times = [e["event_id"] for e in fake.events], [e["event_time"] for e in fake.events]
    assert len(set(ids)) == len(ids) and times == sorted(set(times))


def test_other_events_and_future_types():
    fake = FakeFlashduty()
    iid = fake.open_incident()["incident"]["incident_id"]
    assert fake.change_title(iid, "New")["incident"]["title"] == "New"
    assert fake.change_description(iid, "D")["event_type"] == "i_r_desc"
    assert fake.reset(iid, "root_cause", "bad deploy")["event_type"] == "i_r_rc"
    assert fake.set_field(iid, "team", "db")["incident"]["fields"] == {"team": "db"}
    assert fake.set_labels(iid, {"a": "1"})["incident"]["labels"] == {"a": "1"}
    assert fake.unack(iid)["event_type"] == "i_unack"
    future = fake.emit(iid, "i_quantum", snoozed_before=123)
    assert (future["event_type"], future["incident"]["snoozed_before"]) == ("i_quantum", 123)
    custom = fake.custom_action(iid)
    assert custom["event_type"] == "i_custom" and custom["incident"]["alerts"][0]["alert_id"]
    assert "alerts" not in fake.incident(iid)  # only the Custom Action push carries alerts
    assert fake.events[-1] == custom


def test_returned_payloads_are_copies():
    fake = FakeFlashduty()
    payload = fake.open_incident()
    payload["incident"]["title"] = "tampered"
    assert fake.incident(payload["incident"]["incident_id"])["title"] != "tampered"
    assert fake.events[0]["incident"]["title"] != "tampered"


def test_timeline_records_every_change_including_non_webhook_entries():
    fake = FakeFlashduty()
    iid = fake.open_incident()["incident"]["incident_id"]
    fake.add_comment(iid, "hello", author="Carol")
    entries = fake.timeline(iid)
    assert [e["type"] for e in entries] == ["i_new", "i_notify", "i_comm"]
    comm = entries[-1]
    assert comm["detail"] == {"comment": "hello", "mute_reply": False}
    assert comm["creator_id"] == fake.person("Carol")["person_id"] and comm["ref_id"] == iid


# ---------------------------------------------------------------- the Open API
@pytest.fixture
def feed(fake, fd_url):
    iid = fake.open_incident()["incident"]["incident_id"]
    for i in range(5):
        fake.add_comment(iid, f"c{i}")

    def call(key: str | None = "fd-app-key", path: str = "/incident/feed", **body):
        params = {} if key is None else {"app_key": key}
        body.setdefault("incident_id", iid)
        return httpx.post(f"{fd_url}{path}", params=params, json=body)

    return call


def test_feed_pages_honour_p_limit_and_order(feed):
    first = feed(p=1, limit=3, asc=True).json()["data"]
    assert [e["type"] for e in first["items"]] == ["i_new", "i_notify", "i_comm"]
    assert first["has_next_page"] is True
    last = feed(p=3, limit=3, asc=True).json()["data"]
    assert (len(last["items"]), last["has_next_page"]) == (1, False)
    newest = feed(p=1, limit=1).json()["data"]["items"][0]  # default: newest first
    assert newest["detail"]["comment"] == "c4"
    only = feed(p=1, limit=100, types=["i_notify"]).json()["data"]["items"]
    assert [e["type"] for e in only] == ["i_notify"]


@pytest.mark.parametrize(
    ("key", "body", "status", "code"),
    [
        ("wrong", {}, 401, "Unauthorized"),
        (None, {}, 401, "Unauthorized"),
        ("fd-app-key", {"limit": 101}, 400, "InvalidParameter"),
        ("fd-app-key", {"p": 0}, 400, "InvalidParameter"),
        ("fd-app-key", {"incident_id": "nope"}, 400, "InvalidParameter"),
        ("fd-app-key", {"incident_id": "0" * 24}, 404, "ResourceNotFound"),
    ],
)
def test_feed_errors_use_flashdutys_envelope(feed, key, body, status, code):
    resp = feed(key, **body)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code and resp.json()["request_id"]


def test_person_infos_resolves_names(fake, feed):
    alice = fake.person("Alice")
    items = feed(path="/person/infos", person_ids=[alice["person_id"], 1]).json()["data"]["items"]
    assert [p["person_name"] for p in items] == ["Alice"]


def test_injected_faults_are_played_once(fake, feed):
    fake.fail_next(503, code="ServiceUnavailable")
    assert feed().status_code == 503
    assert feed().status_code == 200


# ---------------------------------------------------------------- the server
def test_server_starts_and_stops_quickly_without_leaking_threads():
    before = set(threading.enumerate())
    started = time.monotonic()
    for _ in range(3):
        with FakeFlashdutyServer(FakeFlashduty()) as server:
            assert re.match(r"^http://127\.0\.0\.1:\d+$", server.url) and server.port > 0
            assert server.start() == server.url  # starting twice is harmless
            assert httpx.post(server.url + "/incident/feed").status_code == 401
        server.stop()  # stopping twice too
    assert time.monotonic() - started < 3
    assert set(threading.enumerate()) <= before


def test_server_serves_any_asgi_app_and_frees_its_port():
    app = Starlette(routes=[Route("/", lambda r: PlainTextResponse("hi"))])
    server = FakeFlashdutyServer(app)
    url = server.start()
    assert httpx.get(url).text == "hi"
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
