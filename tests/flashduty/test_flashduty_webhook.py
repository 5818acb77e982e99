"""parse_webhook: strict about the few things the sync needs, tolerant about the rest."""
from __future__ import annotations

import hashlib
import json

import pytest

from jira_sync.devtools.fake_flashduty import DOCUMENTED_EXAMPLE, FakeFlashduty
from jira_sync.sources.flashduty import PayloadError, parse_webhook


def body(**top) -> bytes:
    top.setdefault("incident", {"incident_id": "64b1352e376e32c85c56e25b"})
    return json.dumps(top).encode()


def test_the_documented_example_parses_verbatim():
    ev = parse_webhook(DOCUMENTED_EXAMPLE)
    assert (ev.event_id, ev.event_type, ev.event_time) == (
        "fac0599a2a25529ba2362c0c184b6cfb", "i_new", 1689335086948)
    assert ev.person_name == "TouTie"
    inc = ev.incident
    assert inc.incident_id == "64b1352e376e32c85c56e25b"
    assert (inc.title, inc.description, inc.severity, inc.progress) == (
        "ysy028", "", "Critical", "Triggered")
    assert (inc.channel_id, inc.channel_name) == (1840312623504, "Reduce Noise")
    assert inc.labels == {"check": "cpu idle low"} and inc.fields == {}
    assert inc.detail_url.endswith("/incident/detail/64b1352e376e32c85c56e25b")
    assert (inc.num, inc.created_at) == ("56E25B", 1689335086)


def test_event_id_inside_incident_is_accepted():
    # One Flashduty doc example nests event_id in the incident (flashduty.md §2).
    raw = body(event_type="i_custom", incident={"incident_id": "a" * 24, "event_id": "e" * 32})
    assert parse_webhook(raw).event_id == "e" * 32


def test_top_level_event_id_wins_over_the_nested_one():
    raw = body(event_id="top", incident={"incident_id": "x", "event_id": "nested"})
    assert parse_webhook(raw).event_id == "top"


def test_missing_event_id_is_derived_from_the_body_hash():
    raw = body(event_type="i_ack", event_time=5)
    ev = parse_webhook(raw)
    assert ev.event_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert parse_webhook(raw).event_id == ev.event_id  # a redelivery deduplicates
    assert parse_webhook(body(event_type="i_ack", event_time=6)).event_id != ev.event_id


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_event_id_is_treated_as_missing(empty):
    assert parse_webhook(body(event_id=empty)).event_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "body is not JSON: Expecting value at line 1 column 1 (char 0)"),
        (b'{"incident": {', "body is not JSON: Expecting property name enclosed in double "
                           "quotes at line 1 column 15 (char 14)"),
        (b"{'a': 1}", "body is not JSON"),
        (b"\xff\xfe\xfd{", "body is not JSON"),
        (b"[1, 2]", "body is an array, not a JSON object"),
        (b'"text"', "body is a string, not a JSON object"),
        (b"null", "body is null, not a JSON object"),
        (b"42", "body is a number, not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not usable JSON: nested too deeply"),
        (b"{}", "`incident` is missing"),
        (b'{"incident": null}', "`incident` is missing"),
        (b'{"incident": [1]}', "`incident` is an array, not an object"),
        (b'{"incident": "64b1352e376e32c85c56e25b"}', "`incident` is a string, not an object"),
        (b'{"incident": true}', "`incident` is a boolean, not an object"),
        (b'{"incident": {}}', "`incident.incident_id` is missing or empty"),
        (b'{"incident": {"incident_id": ""}}', "`incident.incident_id` is missing or empty"),
        (b'{"incident": {"incident_id": "  "}}', "`incident.incident_id` is missing or empty"),
        (b'{"incident": {"incident_id": null}}', "`incident.incident_id` is missing or empty"),
        (b'{"incident": {"incident_id": {"a": 1}}}', "`incident.incident_id` is missing or empty"),
    ],
)
def test_each_error_says_what_is_wrong(raw, expected):
    with pytest.raises(PayloadError) as info:
        parse_webhook(raw)
    assert str(info.value).startswith(expected)
    assert isinstance(info.value, ValueError)


def test_unknown_fields_and_event_types_are_accepted():
    raw = body(event_id="e1", event_type="i_future_thing", brand_new={"x": [1]},
               incident={"incident_id": "abc", "title": "T", "new_field": 1,
                         "responders": "not-a-list"})
    ev = parse_webhook(raw)
    assert (ev.event_type, ev.incident.title) == ("i_future_thing", "T")


def test_numbers_sent_as_strings_are_coerced():
    raw = body(event_time="1689335086948", incident={
        "incident_id": "abc", "channel_id": " 1840312623504 ", "created_at": "1689335086.0",
        "num": 56, "title": 123})
    ev = parse_webhook(raw)
    assert ev.event_time == 1689335086948
    assert (ev.incident.channel_id, ev.incident.created_at) == (1840312623504, 1689335086)
    assert (ev.incident.num, ev.incident.title) == ("56", "123")


def test_numeric_incident_id_becomes_text():
    assert parse_webhook(body(incident={"incident_id": 12345})).incident.incident_id == "12345"


def test_wrong_typed_optional_fields_fall_back_to_defaults():
    raw = body(event_time="soon", event_type=["i_ack"], person="TouTie", incident={
        "incident_id": "abc", "labels": ["a", "b"], "fields": "x", "channel_id": True,
        "incident_severity": {"level": 1}, "progress": None, "created_at": "yesterday",
        "detail_url": 7.5})
    ev = parse_webhook(raw)
    assert (ev.event_time, ev.event_type, ev.person_name) == (0, "", "")
    inc = ev.incident
    assert (inc.labels, inc.fields, inc.channel_id) == ({}, {}, 0)
    assert (inc.severity, inc.progress, inc.created_at, inc.detail_url) == ("", "", 0, "7.5")


def test_label_values_become_strings():
    raw = body(incident={"incident_id": "abc", "labels": {
        "cpu": 97.5, "count": 3, "ok": True, "none": None, "s": "x", "nested": {"a": 1}}})
    assert parse_webhook(raw).incident.labels == {
        "cpu": "97.5", "count": "3", "ok": "True", "none": "", "s": "x", "nested": "{'a': 1}"}


def test_absent_optional_fields_have_defaults():
    ev = parse_webhook(b'{"incident": {"incident_id": "abc"}}')
    assert (ev.event_type, ev.event_time, ev.person_name) == ("", 0, "")
    assert ev.incident.labels == {} and ev.incident.severity == ""


def test_unknown_severity_and_progress_words_are_kept():
    raw = body(incident={"incident_id": "abc", "incident_severity": "Fatal", "progress": "Muted"})
    inc = parse_webhook(raw).incident
    assert (inc.severity, inc.progress) == ("Fatal", "Muted")


def test_custom_action_payload_with_alerts_parses():
    fake = FakeFlashduty()
    iid = fake.open_incident(alert_cnt=3)["incident"]["incident_id"]
    payload = fake.custom_action(iid, by="Bob")
    assert len(payload["incident"]["alerts"]) == 3
    ev = parse_webhook(json.dumps(payload).encode())
    assert (ev.event_type, ev.incident.incident_id, ev.person_name) == ("i_custom", iid, "Bob")


def test_every_emulated_event_parses_to_the_latest_snapshot():
    fake = FakeFlashduty()
    iid = fake.open_incident(title="Disk full", labels={"host": "db-1"})["incident"]["incident_id"]
    steps = [
        (fake.set_severity(iid, "Warning"), "i_r_severity", dict(severity="Warning")),
        (fake.ack(iid), "i_ack", dict(progress="Processing")),
        (fake.change_title(iid, "Disk 95%"), "i_r_title", dict(title="Disk 95%")),
        (fake.change_description(iid, "**db-1**"), "i_r_desc", dict(description="**db-1**")),
        (fake.set_labels(iid, {"host": "db-2"}), "i_r_field", dict(labels={"host": "db-2"})),
        (fake.add_comment(iid, "looking"), "i_comm", dict(title="Disk 95%")),
        (fake.resolve(iid, by=None), "i_rslv", dict(progress="Closed")),
        (fake.reopen(iid), "i_reopen", dict(progress="Triggered", severity="Warning")),
    ]
    last_time = 0
    for payload, event_type, expected in steps:
        ev = parse_webhook(json.dumps(payload).encode())
        assert ev.event_type == event_type
        assert ev.event_time > last_time
        last_time = ev.event_time
        for name, value in expected.items():
            assert getattr(ev.incident, name) == value, (event_type, name)
