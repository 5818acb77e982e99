"""Hypothesis strategies for hostile webhook deliveries, shared by tests/input and bench/fuzz.py.

Each example is the raw bytes of one delivery. They are built to reach every input rule:
lone surrogates (escaped, and as raw UTF-8-style bytes ED A0 80), NUL and control
characters, reserved URL characters and dot segments in ids, ids past 128 characters,
integers past int64 and past Python's 4,300-digit limit, non-finite numbers, deep
nesting, wrong types, and a few byte-level mutations of a valid body.
"""
from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

BIG = "<an integer of 4,400 digits>"  # json.dumps cannot write one: `encode` puts it in
ODD_PIECES = ["\ud800", "\udfff", "\ud83d", "\x00", "\n", "\x7f", "\u0085", "/", "..", ".", "%2F", "%", "?", "#",
              " ", "\ufffd", "é", "日本", "🚀", "\\", '"', "<script>", "\u202e"]

# Text of every kind, lone surrogates included (hypothesis leaves category Cs out by default).
any_char = st.characters(codec=None, exclude_categories=())
odd_text = st.one_of(
    st.text(any_char, max_size=40),
    st.lists(st.sampled_from(ODD_PIECES) | st.text(max_size=4), max_size=8).map("".join),
    st.integers(min_value=100, max_value=12_000).map(lambda n: "x" * n),
)
flashduty_id = st.text("0123456789abcdef", min_size=24, max_size=24)  # what Flashduty sends
odd_id = st.one_of(
    flashduty_id, flashduty_id, flashduty_id, st.text(any_char, min_size=1, max_size=130),
    odd_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([".", "..", "a/b", "/lead", "trail/", "a//b", "x?y#z", "%2F", "i" * 128, "i" * 129, "a\x00b"]),
    st.none(),
)
int64 = st.integers(min_value=0, max_value=2**63 - 1)
odd_number = st.one_of(
    int64, int64, int64, st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, -2, -1, 0, BIG]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324]),
    st.text("0123456789.-e+ ", max_size=25),
)
mild_number = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
scalar = st.one_of(st.none(), st.booleans(), mild_number, mild_number, odd_text)
odd_json = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = {"d": value} if i % 2 else [value]
    return value


deep_json = st.integers(min_value=25, max_value=600).map(nested)
WORDS = st.sampled_from(["i_new", "i_ack", "i_rslv", "i_comm", "i_custom", "i_r_title", "Critical", "Warning",
                         "Info", "Triggered", "Processing", "Closed"])


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    word = st.one_of(WORDS, odd_text, odd_number)
    incident: dict[str, Any] = {"incident_id": draw(odd_id)}
    optional = {
        "title": odd_text, "description": odd_text, "incident_severity": word, "progress": word,
        "channel_id": odd_number, "channel_name": odd_text, "detail_url": odd_text, "num": odd_text,
        "created_at": odd_number, "event_id": odd_id,
        "labels": st.dictionaries(odd_text, odd_json, max_size=4) | deep_json | odd_json,
        "fields": st.dictionaries(odd_text, odd_json, max_size=4) | deep_json.map(lambda d: {"deep": d}) | odd_json,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            incident[name] = draw(strategy)
    body: dict[str, Any] = {"incident": incident}
    for name, strategy in {"event_id": odd_id, "event_type": word, "event_time": odd_number,
                           "person": st.fixed_dictionaries({"person_name": odd_text}) | odd_json,
                           "extra": odd_json | odd_number}.items():
        if draw(st.booleans()):
            body[name] = draw(strategy)
    return body


def encode(payload: Any, raw_surrogates: bool) -> bytes:
    """JSON as a sender would put it on the wire. With `raw_surrogates`, non-ASCII is written as
    bytes and lone surrogates as their 3-byte form (ED A0 80): what a broken encoder emits."""
    if raw_surrogates:
        raw = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
    else:
        raw = json.dumps(payload).encode()
    return raw.replace(json.dumps(BIG).encode(), b"9" * 4400)


@st.composite
def deliveries(draw: st.DrawFn) -> bytes:
    body = encode(draw(payloads()), draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:  # now and then, damage the bytes themselves
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + draw(st.binary(max_size=8)) + body[cut + draw(st.integers(0, 3)):]
    return body


class IntakeModel:
    """What the service must answer to each delivery, and what it must then read back.

    `check(http, ...)` posts one delivery and returns the problems seen (empty when the answer
    and the read-back are right): a 400 whose message is the parser's own, or a 200 whose
    incident is readable through the API and the console with exactly the parser's snapshot
    (the newest event_time wins, ties to the later; a redelivered event id is a duplicate)."""

    def __init__(self, integration_id: int, secret: str) -> None:
        self.integration_id = integration_id
        self.secret = secret
        self.seen_events: set[str] = set()
        self.newest: dict[str, int] = {}  # incident id -> event_time of the stored snapshot

    def check(self, http: Any, raw: bytes, console: Any = None) -> list[str]:
        from urllib.parse import quote

        from jira_sync.sources.flashduty import PayloadError, parse_webhook

        r = http.post(f"/webhooks/flashduty/{self.integration_id}", content=raw,
                      headers={"Content-Type": "application/json", "X-Jira-Sync-Secret": self.secret})
        try:
            event = parse_webhook(raw)
        except PayloadError as exc:
            if r.status_code != 400 or r.json() != {"error": "bad_payload", "message": str(exc)}:
                return [f"expected 400 {exc}, got {r.status_code} {r.text[:200]}"]
            return []
        if r.status_code != 200:
            return [f"expected 200, got {r.status_code} {r.text[:200]}"]
        iid, answer = event.incident.incident_id, r.json()
        duplicate = event.event_id in self.seen_events  # event ids are unique per integration
        problems = []
        if answer["status"] != ("duplicate" if duplicate else "accepted"):
            problems.append(f"status {answer['status']} for a {'re' if duplicate else 'new '}delivery")
        if duplicate and iid not in self.newest:
            return problems  # nothing was stored, and no earlier event made this incident
        if not duplicate and answer.get("repaired", []) != list(event.repaired):
            problems.append(f"repaired {answer.get('repaired')} != {list(event.repaired)}")
        self.seen_events.add(event.event_id)
        path = f"/integrations/{self.integration_id}/incidents/{quote(iid, safe='')}"
        detail = http.get("/api" + path)
        if detail.status_code != 200:
            return problems + [f"read back: {detail.status_code} {detail.text[:200]}"]
        body = detail.json()
        if not duplicate:
            if event.event_id not in {e["event_id"] for e in body["events"]}:
                problems.append("the event is missing from the incident's events")
            if event.event_time >= self.newest.get(iid, -1):
                self.newest[iid] = event.event_time
                if body["snapshot"] != json.loads(json.dumps(event.incident.to_json())):
                    problems.append("the stored snapshot differs from the parsed one")
        if console is not None and (page := console.get("/console" + path)).status_code != 200:
            problems.append(f"console page: {page.status_code}")
        return problems
