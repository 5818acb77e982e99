"""A stateful Flashduty: incidents, their timelines, and the webhook payload each change sends.

Every mutator updates the incident, appends the matching timeline (feed) entry and
returns the webhook payload Flashduty would push: a fresh 32-hex `event_id`, an
`event_time` in milliseconds that only grows, the operator as `person`, and the
LATEST complete incident (flashduty.md §1). Payloads are also kept in `events`.
"""
from __future__ import annotations

import copy
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

_RESETS = {  # field → event type of its "reset" (flashduty.md §1 event list)
    "title": "i_r_title", "description": "i_r_desc", "impact": "i_r_impact",
    "root_cause": "i_r_rc", "resolution": "i_r_rsltn",
}


@dataclass
class Fault:
    """What the API answers next instead of the real thing (see `FakeFlashduty.fail_next`)."""

    status: int = 500
    code: str = "InternalError"
    message: str = "injected fault"
    body: bytes | None = None  # sent verbatim when set, instead of an error envelope
    delay: float = 0.0  # seconds to wait before answering (for client timeouts)
    headers: dict[str, str] | None = None  # e.g. {"Retry-After": "7"} on a 429
    path: str | None = None  # only requests to this path; None = any


class FakeFlashduty:
    def __init__(
        self,
        app_key: str = "fd-app-key",
        *,
        console_url: str = "https://console.flashcat.cloud",
        account_id: int = 2451002751131,
    ) -> None:
        self.app_key = app_key
        self.console_url = console_url.rstrip("/")
        self.account_id = account_id
        self.incidents: dict[str, dict[str, Any]] = {}
        self.timelines: dict[str, list[dict[str, Any]]] = {}
        self.persons: dict[str, dict[str, Any]] = {}  # name → {person_id, person_name, email}
        self.events: list[dict[str, Any]] = []  # every payload returned, oldest first
        self.requests: list[dict[str, Any]] = []  # every Open API request: path, query, body
        self.faults: deque[Fault] = deque()
        self.lock = threading.RLock()  # the HTTP server reads state from its own thread
        self._alerts: dict[str, list[dict[str, Any]]] = {}
        self._last_ms = 0
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The Starlette app serving this state's Open API (`/incident/feed`, `/person/infos`)."""
        if self._app is None:
            from jira_sync.devtools.fake_flashduty.api import build_app

            self._app = build_app(self)
        return self._app

    # ------------------------------------------------------------------ lookups
    def incident(self, incident_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.incidents[incident_id])

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.timelines[incident_id])

    def person(self, name: str) -> dict[str, Any]:
        """The member called `name`, made up on first use with a stable int64 id."""
        with self.lock:
            if name not in self.persons:
                self.persons[name] = {
                    "person_id": 1552048792504 + 1000 * len(self.persons),
                    "person_name": name,
                    "email": f"{name.lower().replace(' ', '.')}@example.com",
                }
            return dict(self.persons[name])

    def fail_next(self, status: int = 500, *, times: int = 1, **kw: Any) -> None:
        """Make the next `times` API requests fail (or stall, with `delay=`)."""
        with self.lock:
            self.faults.extend(Fault(status=status, **kw) for _ in range(times))

    # ------------------------------------------------------------------ incidents
    def open_incident(
        self, *, by: str | None = None, responders: tuple[str, ...] = ("Alice",), **overrides: Any
    ) -> dict[str, Any]:
        """Create an incident; returns the i_new payload (the incident is its `incident`).

        Created by an alert unless `by` names a person. `overrides` replace any incident
        field (incident_id, title, incident_severity, labels, alert_cnt, ...).
        """
        with self.lock:
            now = self._tick() // 1000
            iid = overrides.get("incident_id") or f"{now:08x}{secrets.token_hex(8)}"
            people = [self.person(n) for n in responders]
            inc: dict[str, Any] = {
                "account_id": self.account_id, "incident_id": iid, "num": iid[-6:].upper(),
                "title": "CPU idle low on web-01", "description": "", "impact": "",
                "root_cause": "", "resolution": "", "incident_severity": "Critical",
                "progress": "Triggered", "created_at": now, "updated_at": now,
                "start_time": now, "last_time": now, "end_time": 0, "ack_time": 0,
                "close_time": 0, "snoozed_before": 0,
                "labels": {"check": "cpu idle low", "host": "web-01", "service": "checkout"},
                "fields": {}, "creator_id": self.person(by)["person_id"] if by else 0,
                "responders": [_responder(p, now) for p in people],
                "responder_ids": [p["person_id"] for p in people],
                "assigned_to": {"type": "assign", "person_ids": [p["person_id"] for p in people],
                                "assigned_at": now},
                "alert_cnt": 1, "channel_id": 1840312623504, "channel_name": "Checkout",
                "detail_url": f"{self.console_url}/incident/detail/{iid}", "group_method": "n",
                "data_source_id": 0 if by else 1840312623888,
            }
            if by:
                inc["creator"] = self.person(by)
            inc.update(copy.deepcopy(overrides))
            inc.setdefault("incident_status", inc["incident_severity"])
            self.incidents[iid], self.timelines[iid] = inc, []
            self._alerts[iid] = [_alert(inc, i) for i in range(max(1, int(inc["alert_cnt"])))]
            payload = self._emit(iid, "i_new", by, {"severity": inc["incident_severity"],
                                                    "title": inc["title"]})
            # Flashduty then notifies the responders: a feed entry with no webhook event.
            self.add_feed_entry(iid, {"type": "i_notify", "creator_id": 0, "detail": {
                "by": "email", "persons": [{"person_id": p["person_id"]} for p in people]}})
            return payload

    def set_severity(self, incident_id: str, severity: str, *, by: str | None = "Alice") -> dict:
        with self.lock:
            inc = self.incidents[incident_id]
            old, inc["incident_severity"] = inc["incident_severity"], severity
            if inc["progress"] != "Closed":
                inc["incident_status"] = severity
            return self._emit(incident_id, "i_r_severity", by, {"from": old, "to": severity})

    def ack(self, incident_id: str, *, by: str = "Alice") -> dict:
        with self.lock:
            inc, now = self.incidents[incident_id], int(time.time())
            inc["progress"], inc["ack_time"] = "Processing", now
            who = self.person(by)
            entry = next((r for r in inc["responders"] if r["person_id"] == who["person_id"]), None)
            if entry is None:
                entry = _responder(who, now)
                inc["responders"].append(entry)
                inc["responder_ids"].append(who["person_id"])
            entry["acknowledged_at"] = now
            return self._emit(incident_id, "i_ack", by)

    def unack(self, incident_id: str, *, by: str = "Alice") -> dict:
        return self.emit(incident_id, "i_unack", by=by, progress="Triggered", ack_time=0)

    def resolve(self, incident_id: str, *, by: str | None = "Alice") -> dict:
        """Close it, by a person or (`by=None`) by the alerts recovering."""
        with self.lock:
            inc, now = self.incidents[incident_id], int(time.time())
            inc.update(progress="Closed", incident_status="Ok", close_time=now, end_time=now)
            inc["closer"] = self.person(by) if by else {}
            return self._emit(incident_id, "i_rslv", by)

    def reopen(self, incident_id: str, *, by: str | None = "Alice") -> dict:
        with self.lock:
            inc = self.incidents[incident_id]
            inc.update(progress="Triggered", incident_status=inc["incident_severity"],
                       close_time=0, end_time=0, ack_time=0)
            inc.pop("closer", None)
            return self._emit(incident_id, "i_reopen", by)

    def add_comment(
        self, incident_id: str, text: str, author: str = "Alice", *, mute_reply: bool = False
    ) -> dict:
        """Comment on it; the i_comm payload says only that a comment was added (flashduty.md §3)."""
        with self.lock:
            return self._emit(incident_id, "i_comm", author,
                              {"comment": text, "mute_reply": mute_reply})

    def change_title(self, incident_id: str, title: str, *, by: str = "Alice") -> dict:
        return self.reset(incident_id, "title", title, by=by)

    def change_description(self, incident_id: str, description: str, *, by: str = "Alice") -> dict:
        return self.reset(incident_id, "description", description, by=by)

    def reset(self, incident_id: str, field: str, value: str, *, by: str = "Alice") -> dict:
        """Change title/description/impact/root_cause/resolution, with its own event type."""
        with self.lock:
            old = self.incidents[incident_id][field]
            self.incidents[incident_id][field] = value
            return self._emit(incident_id, _RESETS[field], by, {"from": old, "to": value})

    def set_field(self, incident_id: str, name: str, value: Any, *, by: str = "Alice") -> dict:
        with self.lock:
            fields = self.incidents[incident_id].setdefault("fields", {})
            old, fields[name] = fields.get(name), value
            return self._emit(incident_id, "i_r_field", by,
                              {"field_name": name, "from": old, "to": value})

    def set_labels(
        self, incident_id: str, labels: dict[str, str], *, event_type: str = "i_r_field",
        by: str | None = None,
    ) -> dict:
        """Replace the labels. Flashduty documents no event for a label change (labels come
        from alerts); the new labels ride on the next event, so this one's type is yours."""
        return self.emit(incident_id, event_type, by=by, labels=dict(labels))

    def custom_action(self, incident_id: str, *, by: str = "Alice") -> dict:
        """The Custom Action button: `i_custom`, whose incident also carries `alerts[]` (§2)."""
        with self.lock:
            payload = self._emit(incident_id, "i_custom", by, feed=False)
            payload["incident"]["alerts"] = copy.deepcopy(self._alerts[incident_id])
            self.events[-1] = copy.deepcopy(payload)
            return payload

    def emit(self, incident_id: str, event_type: str, *, by: str | None = None,
             detail: dict | None = None, **changes: Any) -> dict:
        """Any event, known or future: apply `changes` to the incident, then push it."""
        with self.lock:
            self.incidents[incident_id].update(copy.deepcopy(changes))
            return self._emit(incident_id, event_type, by, detail)

    def add_feed_entry(self, incident_id: str, entry: Any) -> Any:
        """Append a raw timeline entry: a dict gets realistic values for the keys it lacks;
        anything else is stored as is, to test a client against a malformed feed."""
        with self.lock:
            if not isinstance(entry, dict):
                self.timelines[incident_id].append(copy.deepcopy(entry))
                return copy.deepcopy(entry)
            ms = self._tick()
            full = {"ref_id": incident_id, "type": "i_comm", "detail": {},
                    "account_id": self.account_id, "creator_id": 0, "created_at": ms,
                    "updated_at": ms, **copy.deepcopy(entry)}
            self.timelines[incident_id].append(full)
            return copy.deepcopy(full)

    # ------------------------------------------------------------------ internals
    def _tick(self) -> int:
        """Now in ms, strictly after the previous tick: event order is never ambiguous."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def _emit(self, iid: str, event_type: str, by: str | None, detail: dict | None = None,
              *, feed: bool = True) -> dict[str, Any]:
        ms = self._tick()
        inc = self.incidents[iid]
        inc["updated_at"] = ms // 1000
        person = self.person(by) if by else None
        pid = person["person_id"] if person else 0
        if feed:
            self.timelines[iid].append({
                "ref_id": iid, "type": event_type, "detail": copy.deepcopy(detail or {}),
                "account_id": self.account_id, "creator_id": pid, "person_id": pid,
                "created_at": ms, "updated_at": ms,
            })
        payload: dict[str, Any] = {"event_id": secrets.token_hex(16), "event_time": ms,
                                   "event_type": event_type, "incident": copy.deepcopy(inc)}
        if person:
            payload["person"] = person
        self.events.append(copy.deepcopy(payload))
        return payload


def _responder(person: dict[str, Any], now: int) -> dict[str, Any]:
    return {**person, "assigned_at": now, "acknowledged_at": 0}


def _alert(inc: dict[str, Any], i: int) -> dict[str, Any]:
    return {
        "alert_id": f"{inc['incident_id'][:16]}{i:08x}", "data_source_id": 1840312623888,
        "title": inc["title"], "description": inc["description"],
        "alert_key": f"{inc['incident_id']}-{i}", "alert_severity": inc["incident_severity"],
        "alert_status": inc["incident_severity"], "progress": inc["progress"],
        "start_time": inc["start_time"], "last_time": inc["last_time"], "end_time": 0,
        "labels": dict(inc.get("labels") or {}),
    }
