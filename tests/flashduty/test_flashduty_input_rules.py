"""The parser's input rules (README, "Input rules"): exact ids, int64 numbers, bounded
nesting, and free text that every store can hold. One test per rule, named after the
row of the fuzzing report it answers."""
from __future__ import annotations

import json

import pytest

from jira_sync.sources.flashduty import MAX_DEPTH, PayloadError, parse_webhook

IID = "64b1352e376e32c85c56e25b"


def raw(**top) -> bytes:
    top.setdefault("incident", {"incident_id": IID})
    return json.dumps(top).encode()


def rejected(body: bytes) -> str:
    with pytest.raises(PayloadError) as info:
        parse_webhook(body)
    return str(info.value)


@pytest.mark.parametrize("where", ["event_time", "fields", "unknown"])
def test_integer_over_4300_digits_anywhere_is_a_named_400(where):
    big = "9" * 5000
    body = {
        "event_time": b'{"event_time": %s, "incident": {"incident_id": "a"}}',
        "fields": b'{"incident": {"incident_id": "a", "fields": {"n": %s}}}',
        "unknown": b'{"x": [%s], "incident": {"incident_id": "a"}}',
    }[where] % big.encode()
    assert "integer outside the int64 range: 99999999999999999999... (5000 characters)" in rejected(body)


@pytest.mark.parametrize("literal", [b"9223372036854775808", b"-9223372036854775809", b"1e400", b"NaN", b"-Infinity"])
def test_numbers_past_int64_or_a_double_are_refused_wherever_they_are(literal):
    message = rejected(b'{"incident": {"incident_id": "a", "fields": {"n": %s}}}' % literal)
    assert "int64" in message or "double" in message or "not a JSON value" in message


@pytest.mark.parametrize("value", [9223372036854775808, 1e308, "1e308", -5])
def test_event_time_outside_int64_or_negative_is_a_named_400(value):
    # 9223372036854775808 fails already as a literal; the others fail on the field's range
    message = rejected(raw(event_time=value))
    assert "event_time" in message or "int64" in message


def test_int64_limits_themselves_are_accepted():
    ev = parse_webhook(raw(event_time=2**63 - 1, incident={"incident_id": "a", "channel_id": -(2**63)}))
    assert (ev.event_time, ev.incident.channel_id) == (2**63 - 1, -(2**63))


@pytest.mark.parametrize("field", ["incident_id", "event_id"])
@pytest.mark.parametrize("encoding", ["escaped", "raw bytes"])
def test_lone_surrogate_in_an_id_is_a_named_400(field, encoding):
    body = raw(event_id="e1", incident={"incident_id": "a"})
    body = body.replace(b'"a"' if field == "incident_id" else b'"e1"', b'"x\\ud800y"')
    if encoding == "raw bytes":
        body = body.replace(b"\\ud800", b"\xed\xa0\x80")
    assert "lone surrogate" in rejected(body)


@pytest.mark.parametrize("ident", ["a\nb", "a\x00b", "\x7f", ".", "..", "x" * 129])
def test_ids_that_no_url_or_column_can_hold_are_refused(ident):
    assert "incident.incident_id" in rejected(raw(incident={"incident_id": ident}))
    assert "`event_id`" in rejected(raw(event_id=ident))


def test_ids_of_10000_characters_are_refused_before_any_store():
    assert "10000 characters long; at most 128" in rejected(raw(incident={"incident_id": "i" * 10_000}))


def test_ids_up_to_128_characters_with_reserved_characters_are_kept():
    ident = "a/b?c#d%2F é " + "x" * 100
    assert parse_webhook(raw(incident={"incident_id": ident})).incident.incident_id == ident.strip()


FREE_TEXT = ["title", "description", "channel_name", "detail_url", "num"]


@pytest.mark.parametrize("field", FREE_TEXT)
def test_lone_surrogate_in_free_text_is_replaced_and_said(field):
    body = raw(incident={"incident_id": "a", field: "before\ud800after\x00end"})
    ev = parse_webhook(body)
    assert getattr(ev.incident, field) == "before\ufffdafter\ufffdend"
    assert ev.repaired == (f"lone surrogates or NUL characters replaced with U+FFFD in: incident.{field}",)


def test_lone_surrogate_in_labels_and_fields_keys_and_values_is_replaced():
    body = raw(incident={"incident_id": "a", "labels": {"k\udc00": "v\ud800", "n": {"d\ud800": 1}},
                         "fields": {"f\ud800": ["x\udfff", {"y": "\ud800"}]}})
    ev = parse_webhook(body)
    assert ev.incident.labels == {"k\ufffd": "v\ufffd", "n": "{'d\ufffd': 1}"}
    assert ev.incident.fields == {"f\ufffd": ["x\ufffd", {"y": "\ufffd"}]}
    assert ev.repaired == ("lone surrogates or NUL characters replaced with U+FFFD in: incident.labels, incident.fields",)
    json.dumps(ev.incident.to_json(), ensure_ascii=False).encode()  # every store and reader can hold it


@pytest.mark.parametrize("field", ["event_type", "incident_severity", "progress"])
def test_lone_surrogate_in_the_words_is_replaced(field):
    body = raw(event_type="i_new", incident={"incident_id": "a", field: "X\ud800"}) if field != "event_type" else \
        raw(event_type="i_\ud800")
    ev = parse_webhook(body)
    value = ev.event_type if field == "event_type" else getattr(ev.incident, "severity" if field == "incident_severity" else field)
    assert "\ufffd" in value and ev.repaired


def test_over_long_words_are_cut_to_their_columns_and_said():
    ev = parse_webhook(raw(event_type="t" * 40, incident={"incident_id": "a", "incident_severity": "s" * 20}))
    assert (ev.event_type, ev.incident.severity) == ("t" * 32, "s" * 16)
    assert ev.repaired == ("event_type cut to 32 characters", "incident.incident_severity cut to 16 characters")


def test_clean_events_report_no_repair():
    assert parse_webhook(raw(incident={"incident_id": "a", "title": "日本 🚀"})).repaired == ()


def test_fields_nested_500_deep_are_refused():
    deep: object = "leaf"
    for _ in range(500):
        deep = {"d": deep}
    assert f"`incident.fields` nests deeper than {MAX_DEPTH} levels" == rejected(raw(incident={"incident_id": "a", "fields": deep}))


def test_fields_nested_to_the_limit_are_kept():
    deep: object = "leaf"
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert parse_webhook(raw(incident={"incident_id": "a", "fields": {"d": deep}})).incident.fields == {"d": deep}
